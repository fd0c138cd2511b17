/** Reading a request body with a byte limit, refusing early rather than buffering an oversized one. */
import type { IncomingMessage } from 'node:http';
import { FeedProtocolError } from '../protocol-errors.ts';

/**
 * The body as UTF-8 text. Fails with FEED_ENTRY_TOO_LARGE as soon as `Content-Length` or the bytes
 * received exceed `maxBytes` (the rest is not read; the answer closes the connection), and with
 * FEED_BAD_XML when the bytes are not UTF-8.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch (error) {
    throw new FeedProtocolError('FEED_BAD_XML', 'the body is not UTF-8', { cause: error });
  }
}

function tooLarge(maxBytes: number): FeedProtocolError {
  return new FeedProtocolError('FEED_ENTRY_TOO_LARGE', `the entry is larger than ${maxBytes} bytes`);
}
