import * as z from 'zod';
import { TransportError } from '../transport-errors.ts';
import { answerText, createHttpClient, mediaType, type CallOptions, type HttpAnswer } from './http-client.ts';
import { lazyImport } from './lazy.ts';
import { endpointOptionsSchema, parseTransportOptions } from './options.ts';
import { isWellFormedXml, readXml } from './xml-safety.ts';

/**
 * XML over HTTPS: the request document is built with xmlbuilder2 (or given as text), POSTed,
 * and the answer is read by `xml-safety.ts` (no DTDs or entities, well-formedness checked, HTML
 * refused, values kept as strings).
 *
 * | answer | error |
 * | --- | --- |
 * | status outside 2xx and not in `answerStatuses` | `PROVIDER_HTTP_ERROR` with `status` |
 * | `Content-Type` HTML or JSON, or a body that is not XML | `PROVIDER_BAD_RESPONSE` |
 * | `<!DOCTYPE` / `<!ENTITY` anywhere (an XML bomb included), malformed XML, an `<html>` root | `PROVIDER_BAD_RESPONSE` |
 * | truncated, too large, timeouts, unreachable | as the HTTP client classifies them (`failure-classification.ts`) |
 *
 * xmlbuilder2 is imported when the first document is written (`lazy.ts`).
 */

const loadXmlbuilder2 = lazyImport(() => import('xmlbuilder2'));

/** Options of {@link createXmlTransport}: the endpoint options and these. */
export const xmlTransportOptionsSchema = endpointOptionsSchema.extend({
  /** `Content-Type` of requests. */
  contentType: z.string().min(1).default('application/xml; charset=utf-8'),
  /** Drop namespace prefixes from names in parsed answers (`gc:balance` → `balance`). */
  removeNamespacePrefixes: z.boolean().default(false),
  /**
   * Statuses besides 2xx whose XML body is an answer for the plugin (an API that declines with
   * 402 and an XML reason); any other status is `PROVIDER_HTTP_ERROR`.
   */
  answerStatuses: z.array(z.number().int().min(300).max(599)).default([]),
});
/** What a plugin writes. */
export type XmlTransportOptions = z.input<typeof xmlTransportOptionsSchema>;

/**
 * A request document: xmlbuilder2's object form (one root key; `@name` keys are attributes,
 * `#` is text: `{ redeem: { '@version': '2', card: 'gc-100', amount: '500' } }`) or XML text.
 */
export type XmlDocument = Readonly<Record<string, unknown>> | string;

/** A parsed XML answer. */
export interface XmlAnswer {
  readonly status: number;
  /** fast-xml-parser's form of the answer (see `xml-safety.ts`). */
  readonly document: unknown;
  /** The body as received. */
  readonly raw: string;
}

/** An XML transport bound to one endpoint. */
export interface XmlTransport {
  /** `host[:port]` of the endpoint. */
  readonly host: string;
  /** POSTs `document` to `path` (under the endpoint's base path) and parses the answer. */
  post(path: string, document: XmlDocument, options?: CallOptions): Promise<XmlAnswer>;
  /** Closes the endpoint's connections (after the calls in flight). */
  close(): Promise<void>;
}

/** Creates the transport; throws `ProviderError` `PROVIDER_INVALID` for bad options. */
export function createXmlTransport(options: XmlTransportOptions): XmlTransport {
  const parsed = parseTransportOptions(xmlTransportOptionsSchema, options, 'xml');
  const client = createHttpClient(parsed);
  const answerStatuses = new Set(parsed.answerStatuses);
  return {
    host: client.host,
    async post(path, document, callOptions = {}) {
      const body = await writeXml(document);
      const headers = { 'content-type': parsed.contentType, accept: 'application/xml, text/xml' };
      const answer = await client.post(path, body, headers, callOptions);
      return readXmlAnswer(answer, client.host, answerStatuses, parsed.removeNamespacePrefixes);
    },
    close: () => client.close(),
  };
}

/** The request body for `document`; a document that is not XML is a plugin bug (TypeError, no content quoted). */
export async function writeXml(document: XmlDocument): Promise<string> {
  if (typeof document === 'string') {
    if (!(await isWellFormedXml(document))) throw new TypeError('xml transport: the request document is not well-formed XML');
    return document;
  }
  const { create } = await loadXmlbuilder2();
  try {
    return create({ version: '1.0', encoding: 'UTF-8' }, document as Record<string, unknown>).end({ prettyPrint: false });
  } catch {
    throw new TypeError('xml transport: the request document cannot be written as XML (one root element, names that are XML names)');
  }
}

/** Checks status and media type of `answer`, then reads its body safely. */
export async function readXmlAnswer(answer: HttpAnswer, host: string, answerStatuses: ReadonlySet<number>, removeNamespacePrefixes: boolean): Promise<XmlAnswer> {
  const { status } = answer;
  if ((status < 200 || status > 299) && !answerStatuses.has(status)) {
    throw new TransportError('PROVIDER_HTTP_ERROR', `provider ${host} answered with HTTP status ${status}`, { status });
  }
  const type = mediaType(answer.headers);
  if (type === 'text/html' || type === 'application/xhtml+xml' || type.includes('json')) {
    throw new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} answered with ${type}, not XML`, { status });
  }
  const raw = answerText(answer, host);
  return { status, document: await readXml(raw, host, status, { removeNamespacePrefixes }), raw };
}
