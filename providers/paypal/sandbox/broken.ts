import type { ServerResponse } from 'node:http';
import { GARBAGE, HTML_PAGE, sendTruncated, sendWhole } from '../../_sandbox-kit/broken.ts';
import type { PaypalMalformed } from './knobs.ts';

/**
 * The broken answers of the `malformed` and `failStatus` knobs, each exactly as documented:
 *
 * - `html`: HTTP 200, `text/html`, {@link HTML_PAGE} (no `ACK`): a proxy's error page.
 * - `truncated`: HTTP 200, `text/plain`, a `Content-Length` of the whole answer but only its
 *   first half sent, then the connection is closed.
 * - `garbage`: HTTP 200, `text/plain`, {@link GARBAGE} (bytes 0x00–0xff, no `ACK`, not UTF-8).
 */

export { HTML_PAGE, GARBAGE, errorPage } from '../../_sandbox-kit/broken.ts';

const TEXT = 'text/plain; charset=utf-8';

/** Sends the broken answer of `kind` in place of `answer`. */
export function sendMalformed(res: ServerResponse, kind: PaypalMalformed, answer: string): void {
  switch (kind) {
    case 'html': return sendWhole(res, 'text/html; charset=utf-8', HTML_PAGE);
    case 'garbage': return sendWhole(res, TEXT, GARBAGE);
    case 'truncated': return sendTruncated(res, TEXT, answer);
  }
}
