import { newCorrelationId, timestamp } from './ids.ts';
import { errorFields, type PaypalFailure } from './errors.ts';

/**
 * The NVP wire format: a request is an `application/x-www-form-urlencoded` body of upper-case
 * names; an answer is `text/plain` `NAME=value&…` with every value percent-encoded
 * (`TIMESTAMP=2026-01-31T12%3A00%3A00Z`). Decode answers with `new URLSearchParams(body)`.
 */

/** Decoded request parameters; the first occurrence of a name wins. */
export type NvpParams = ReadonlyMap<string, string>;

/** Answer fields, in the order they are written. */
export type NvpFields = Record<string, string>;

/** A method's answer before the envelope. */
export type MethodAnswer = { readonly ok: true; readonly fields: NvpFields } | PaypalFailure;

/** The API version the sandbox answers with when the request names none. */
export const DEFAULT_VERSION = '204.0';

/** Parses a form body. */
export function parseNvp(body: string): NvpParams {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

/** Writes fields as PayPal does: `NAME=percent-encoded value`, joined by `&`. */
export function encodeNvp(fields: NvpFields): string {
  return Object.entries(fields).map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
}

/** The whole answer: TIMESTAMP, CORRELATIONID, ACK, VERSION, BUILD, then the method's fields or the error. */
export function envelope(answer: MethodAnswer, version: string): NvpFields {
  const head: NvpFields = {
    TIMESTAMP: timestamp(),
    CORRELATIONID: newCorrelationId(),
    ACK: answer.ok ? 'Success' : 'Failure',
    VERSION: version,
    BUILD: '58807128',
  };
  if (answer.ok) return { ...head, ...answer.fields };
  return { ...head, ...errorFields(answer), ...answer.fields };
}

/** The request's VERSION if it looks like one (`204.0`), else {@link DEFAULT_VERSION}. */
export function versionOf(params: NvpParams): string {
  const version = params.get('VERSION');
  return version !== undefined && /^\d{1,3}(?:\.\d{1,3})?$/.test(version) ? version : DEFAULT_VERSION;
}

/** Copies the optional `MSGSUBID` into answer fields (PayPal echoes it). */
export function echoMsgSubId(params: NvpParams): NvpFields {
  const id = params.get('MSGSUBID');
  return id === undefined ? {} : { MSGSUBID: id };
}
