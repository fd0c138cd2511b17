import type { GiftcardApi } from './api.ts';
import type { Endpoint, ProcessedCall } from '../../_sandbox-kit/exchange.ts';

/**
 * The XML endpoint behind the exchange: `application/xml` (or `text/xml`) in, `application/xml`
 * out, the API key from the `X-Api-Key` header.
 */

const XML_TYPES = new Set(['application/xml', 'text/xml']);

/** The XML {@link Endpoint} on `path` in front of `api`. */
export function xmlEndpoint(path: string, api: GiftcardApi): Endpoint {
  return {
    path,
    acceptsContentType: (type) => XML_TYPES.has((type ?? '').split(';')[0]?.trim().toLowerCase() ?? ''),
    operationOf: (body) => /<type>\s*([a-z]{1,16})\s*<\/type>/.exec(body)?.[1] ?? '(unknown)',
    process(body, request): ProcessedCall {
      const header = request.headers['x-api-key'];
      const outcome = api.call(body, Array.isArray(header) ? header[0] : header);
      return { status: outcome.status, contentType: 'application/xml; charset=utf-8', body: outcome.body, summary: outcome.summary };
    },
  };
}
