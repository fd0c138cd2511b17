import type { ServerResponse } from 'node:http';
import type { PaypalMalformed } from './knobs.ts';

/**
 * The broken answers of the `malformed` and `failStatus` knobs, each exactly as documented:
 *
 * - `html`: HTTP 200, `text/html`, {@link HTML_PAGE} (no `ACK`): a proxy's error page.
 * - `truncated`: HTTP 200, `text/plain`, a `Content-Length` of the whole answer but only its
 *   first half sent, then the connection is closed.
 * - `garbage`: HTTP 200, `text/plain`, {@link GARBAGE} (bytes 0x00–0xff, no `ACK`, not UTF-8).
 */

/** The HTML page of `malformed: 'html'`. */
export const HTML_PAGE = '<html><head><title>Service Temporarily Unavailable</title></head>'
  + '<body><h1>Service Temporarily Unavailable</h1><p>Please try again later.</p></body></html>\n';

/** The bytes of `malformed: 'garbage'`: 0x00 to 0xff, twice. */
export const GARBAGE: Buffer = Buffer.from([...Array(512).keys()].map((i) => i % 256));

/** The error page sent with `failStatus`. */
export function errorPage(status: number): string {
  return `<html><head><title>${status} Error</title></head><body><h1>${status} Error</h1></body></html>\n`;
}

/** Sends the broken answer of `kind` in place of `answer`. */
export function sendMalformed(res: ServerResponse, kind: PaypalMalformed, answer: string): void {
  if (kind === 'html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(HTML_PAGE) });
    res.end(HTML_PAGE);
    return;
  }
  if (kind === 'garbage') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': GARBAGE.length });
    res.end(GARBAGE);
    return;
  }
  const whole = Buffer.from(answer);
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': whole.length });
  res.write(whole.subarray(0, Math.floor(whole.length / 2)), () => res.socket?.end());
}
