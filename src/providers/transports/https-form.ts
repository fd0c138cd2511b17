import type * as z from 'zod';
import { TransportError } from '../transport-errors.ts';
import { answerText, createHttpClient, mediaType, type CallOptions, type HttpAnswer } from './http-client.ts';
import { endpointOptionsSchema, parseTransportOptions } from './options.ts';

/**
 * HTTPS POST of name-value forms, in the style of PayPal's NVP interface: the request is an
 * `application/x-www-form-urlencoded` body (`METHOD=DoDirectPayment&AMT=10.00&…`) and so is
 * the answer (`ACK=Success&TRANSACTIONID=…&L_ERRORCODE0=…`).
 *
 * What counts as an answer: a 2xx status and a body of `name=value` pairs joined by `&`
 * (percent-encoded, no spaces, each name once). Anything else is a typed error:
 *
 * | answer | error |
 * | --- | --- |
 * | status outside 2xx (a 500, a 404, a redirect) | `PROVIDER_HTTP_ERROR` with `status` |
 * | an HTML page, JSON, XML (by `Content-Type` or by its text) | `PROVIDER_BAD_RESPONSE` |
 * | empty, not UTF-8, a pair without `=`, a name twice | `PROVIDER_BAD_RESPONSE` |
 * | truncated, too large, timeouts, unreachable | as the HTTP client classifies them (`failure-classification.ts`) |
 *
 * A provider's own failure answer (`ACK=Failure&L_ERRORCODE0=10527`) is an *answer*: the plugin
 * reads it and returns a decline; the transport never interprets field values.
 */

/** Options of {@link createFormTransport}: the endpoint options (see `options.ts`) and nothing more. */
export const formTransportOptionsSchema = endpointOptionsSchema;
/** What a plugin writes. */
export type FormTransportOptions = z.input<typeof formTransportOptionsSchema>;

/** A parsed name-value answer. */
export interface FormAnswer {
  readonly status: number;
  /** The decoded pairs, by name (own properties only). */
  readonly fields: Record<string, string>;
  /** The body as received, for the transcript and the plugin's own checks. */
  readonly raw: string;
}

/** A name-value transport bound to one endpoint. */
export interface FormTransport {
  /** `host[:port]` of the endpoint. */
  readonly host: string;
  /** POSTs `fields` as a form to `path` (under the endpoint's base path) and parses the answer. */
  post(path: string, fields: Readonly<Record<string, string>>, options?: CallOptions): Promise<FormAnswer>;
  /** Closes the endpoint's connections (after the calls in flight). */
  close(): Promise<void>;
}

const FORM_MEDIA_TYPES = new Set(['', 'text/plain', 'application/x-www-form-urlencoded']);
/** One `name=value` pair as it travels: percent-encoded, so no spaces, quotes or angle brackets. */
const ENCODED_PAIR = /^[A-Za-z0-9_.~%+-]+=[^\s<>"{}\\]*$/;

/** Creates the transport; throws `ProviderError` `PROVIDER_INVALID` for bad options. */
export function createFormTransport(options: FormTransportOptions): FormTransport {
  const parsed = parseTransportOptions(formTransportOptionsSchema, options, 'form');
  const client = createHttpClient(parsed);
  return {
    host: client.host,
    async post(path, fields, callOptions = {}) {
      const body = encodeForm(fields);
      const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/plain, application/x-www-form-urlencoded' };
      const answer = await client.post(path, body, headers, callOptions);
      return readFormAnswer(answer, client.host);
    },
    close: () => client.close(),
  };
}

/** `fields` as a urlencoded body; refuses non-string values (a plugin bug, not a provider's). */
export function encodeForm(fields: Readonly<Record<string, string>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    // The message names the field, never the value (it may be a card number).
    if (name === '' || typeof value !== 'string') throw new TypeError(`form field ${JSON.stringify(name)} must be a non-empty name with a string value`);
    params.append(name, value);
  }
  return params.toString();
}

/** Checks the status and the media type of `answer`, then parses its body as pairs. */
export function readFormAnswer(answer: HttpAnswer, host: string): FormAnswer {
  if (answer.status < 200 || answer.status > 299) {
    throw new TransportError('PROVIDER_HTTP_ERROR', `provider ${host} answered with HTTP status ${answer.status}`, { status: answer.status });
  }
  const type = mediaType(answer.headers);
  if (!FORM_MEDIA_TYPES.has(type)) {
    const shown = /^[a-z0-9.+-]{1,40}\/[a-z0-9.+-]{1,60}$/.test(type) ? type : 'an unexpected content type';
    throw badForm(host, answer.status, `answered with ${shown}, not name-value pairs`);
  }
  const raw = answerText(answer, host);
  return { status: answer.status, fields: parseFormFields(raw, host, answer.status), raw };
}

/** The pairs of a name-value body; `PROVIDER_BAD_RESPONSE` for anything that is not one. */
export function parseFormFields(raw: string, host: string, status: number): Record<string, string> {
  const text = raw.replace(/\r?\n$/, '');
  if (text === '') throw badForm(host, status, 'answered with an empty body');
  const pairs = text.split('&');
  if (!pairs.every((pair) => ENCODED_PAIR.test(pair))) {
    throw badForm(host, status, /^\s*</.test(text) ? 'answered with markup (an HTML page?), not name-value pairs' : 'answered with a body that is not name-value pairs');
  }
  const entries = [...new URLSearchParams(text)];
  const names = new Set(entries.map(([name]) => name));
  if (names.size !== entries.length) throw badForm(host, status, 'answered with a field name twice');
  // fromEntries defines own properties, so a field named __proto__ stays a field.
  return Object.fromEntries(entries);
}

function badForm(host: string, status: number, problem: string): TransportError {
  return new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} ${problem}`, { status });
}
