import type { ServerResponse } from 'node:http';

/**
 * The broken answers every sandbox shares: the proxy's HTML page, the garbage bytes, the
 * `failStatus` error page, and the two ways of sending one (whole, or cut short at half).
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

/** Answers HTTP 200 with all of `body`. */
export function sendWhole(res: ServerResponse, contentType: string, body: string | Buffer): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answers HTTP 200 with a `Content-Length` of all of `answer`, sends its first half, then closes the connection. */
export function sendTruncated(res: ServerResponse, contentType: string, answer: string): void {
  const bytes = Buffer.from(answer);
  res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.end());
}
