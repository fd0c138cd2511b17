import type { ServerResponse } from 'node:http';
import { GARBAGE, HTML_PAGE, sendTruncated, sendWhole } from '../../_sandbox-kit/broken.ts';
import type { GiftcardMalformed } from './knobs.ts';

/**
 * The broken answers of the `malformed` and `failStatus` knobs, each exactly as documented. All
 * are HTTP 200:
 *
 * - `html`: `text/html`, {@link HTML_PAGE}: a proxy's error page (well-formed, root `<html>`).
 * - `truncated`: `application/xml`, a `Content-Length` of the whole answer but only its first
 *   half sent, then the connection is closed.
 * - `garbage`: `application/xml`, {@link GARBAGE} (bytes 0x00–0xff, not XML, not UTF-8).
 * - `xml-bomb`: `application/xml`, {@link XML_BOMB}: "billion laughs", ten levels of ten-fold
 *   entity expansion (10^9 `lol`s, about 3 GB if a parser expands it).
 * - `doctype`: `application/xml`, {@link DOCTYPE_ANSWER}: an approved-looking answer whose
 *   DOCTYPE declares an external entity (`file:///etc/passwd`) used in `<message>`.
 */

export { HTML_PAGE, GARBAGE, errorPage } from '../../_sandbox-kit/broken.ts';

function billionLaughs(): string {
  const levels = ['<!ENTITY lol0 "lol">'];
  for (let level = 1; level <= 9; level++) levels.push(`<!ENTITY lol${level} "${`&lol${level - 1};`.repeat(10)}">`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE response [\n  ${levels.join('\n  ')}\n]>\n`
    + '<response><result>approved</result><code>ok</code><message>&lol9;</message></response>\n';
}

/** The document of `malformed: 'xml-bomb'`. */
export const XML_BOMB = billionLaughs();

/** The document of `malformed: 'doctype'`. */
export const DOCTYPE_ANSWER = '<?xml version="1.0" encoding="UTF-8"?>\n'
  + '<!DOCTYPE response [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'
  + '<response><result>approved</result><code>ok</code><message>&xxe;</message></response>\n';

const XML = 'application/xml; charset=utf-8';

/** Sends the broken answer of `kind` in place of `answer`. */
export function sendMalformed(res: ServerResponse, kind: GiftcardMalformed, answer: string): void {
  switch (kind) {
    case 'html': return sendWhole(res, 'text/html; charset=utf-8', HTML_PAGE);
    case 'garbage': return sendWhole(res, XML, GARBAGE);
    case 'xml-bomb': return sendWhole(res, XML, XML_BOMB);
    case 'doctype': return sendWhole(res, XML, DOCTYPE_ANSWER);
    case 'truncated': return sendTruncated(res, XML, answer);
  }
}
