/**
 * The broken answers of the `malformed` knob, each what a SOAP client meets in the wild: an
 * HTML error page, a cut-off envelope, a body that is not XML, a fault that breaks the SOAP 1.1
 * fault rules, and a "billion laughs" entity bomb.
 */

/** The variants of the `malformed` knob. */
export const MALFORMED_VARIANTS = ['html', 'truncated', 'not-xml', 'bad-fault', 'xml-bomb'] as const;
export type MalformedVariant = (typeof MALFORMED_VARIANTS)[number];

/** A complete HTTP answer. */
export interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

const XML = 'text/xml; charset=utf-8';
const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

/** A load balancer's HTML error page (status 500, like a SOAP fault would have). */
export const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>' +
  '<body><h1>Internal Server Error</h1><p>The server encountered an internal error and was unable ' +
  'to complete your request.</p><hr><address>cardgate-lb</address></body></html>\n';

/** A JSON body served as text/xml. */
export const NOT_XML_BODY = '{"status":"ok","message":"this is not XML"}\n';

/**
 * A soap:Fault that breaks SOAP 1.1: an empty faultcode, no faultstring, and a detail of
 * unknown elements. Well-formed XML, so only a fault-aware reader notices.
 */
export const BAD_FAULT_BODY =
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP_ENV}"><soap:Body>` +
  '<soap:Fault><faultcode></faultcode><detail><Oops><Reason/></Oops></detail></soap:Fault>' +
  '</soap:Body></soap:Envelope>';

/** Ten levels of ten references each: 10^9 copies of "lol" if a parser expands entities. */
export function xmlBomb(): string {
  const entities = ['  <!ENTITY lol0 "lol">'];
  for (let level = 1; level <= 9; level++) {
    entities.push(`  <!ENTITY lol${level} "${`&lol${level - 1};`.repeat(10)}">`);
  }
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE lolz [\n${entities.join('\n')}\n]>\n` +
    `<soap:Envelope xmlns:soap="${SOAP_ENV}"><soap:Body><AuthorizeResponse xmlns="urn:paygate:sandbox:cardgate:v1">` +
    '<ResponseCode>00</ResponseCode><ResponseText>&lol9;</ResponseText></AuthorizeResponse></soap:Body></soap:Envelope>'
  );
}

/**
 * The broken answer for `variant`, given the real answer the sandbox would have sent
 * (`truncated` keeps its status and type and cuts its body in half; HTTP itself stays valid).
 */
export function malformedAnswer(variant: MalformedVariant, real: RawAnswer): RawAnswer {
  switch (variant) {
    case 'html':
      return { status: 500, contentType: 'text/html; charset=utf-8', body: HTML_PAGE };
    case 'truncated':
      return { ...real, body: real.body.slice(0, Math.floor(real.body.length / 2)) };
    case 'not-xml':
      return { status: 200, contentType: XML, body: NOT_XML_BODY };
    case 'bad-fault':
      return { status: 500, contentType: XML, body: BAD_FAULT_BODY };
    case 'xml-bomb':
      return { status: 200, contentType: XML, body: xmlBomb() };
  }
}
