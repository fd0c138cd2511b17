import { TransportError } from '../transport-errors.ts';
import { answerText, type HttpClient } from './http-client.ts';
import { readSoapAnswer, type SoapFault } from './soap-fault.ts';

/**
 * The `httpClient` we give the `soap` package: its WSDL client builds envelopes and reads
 * results, but every byte goes through our {@link HttpClient}, so SOAP calls get the same TLS
 * settings (CAs, client certificate), pool, deadline, abort signal, size limit, transcript and
 * failure classification as the other transports. (soap's own client is axios; configuring an
 * `https.Agent` there would give a second, differently-behaved HTTP stack.)
 *
 * Before soap sees an answer, this adapter reads it with the XML safety rules and looks for a
 * fault (`soap-fault.ts`): a well-formed fault is parked on the call's {@link SoapCallState} and
 * soap's callback gets {@link FAULT_ANSWERED}, which the transport turns back into `{ fault }`.
 */

/** Per-call state, passed to soap as the method's options and handed back to us as `exoptions`. */
export interface SoapCallState {
  readonly signal: AbortSignal | undefined;
  /** Set once the request was handed to the HTTP client (soap built the envelope). */
  dispatched: boolean;
  /** The fault the provider answered with, if any. */
  fault: SoapFault | undefined;
  /** The answer's body, once read. */
  raw: string | undefined;
}

/** Marker error through soap's callback: "the answer was a fault, see the call state". */
export const FAULT_ANSWERED = Object.freeze(new Error('SOAP fault answered'));

/** The exoptions key under which soap hands our call state back. */
export const CALL_STATE = 'paygateCall';

const FAULT_ELEMENT = /<(?:[\w.-]+:)?Fault[\s/>]/;

type SoapCallback = (error: unknown, response?: unknown, body?: unknown) => void;

/** Creates the adapter for `client` (soap calls `request` once per operation call). */
export function createSoapHttpClient(client: HttpClient): { request: (...args: unknown[]) => Promise<void> } {
  return {
    // soap's IHttpClient: request(url, data, callback, extraHeaders, extraOptions).
    request: (url, data, callback, headers, exoptions) =>
      exchange(client, String(url), String(data), callback as SoapCallback, (headers ?? {}) as Record<string, string>, exoptions as Record<string, unknown> | undefined),
  };
}

async function exchange(
  client: HttpClient,
  url: string,
  envelope: string,
  callback: SoapCallback,
  headers: Record<string, string>,
  exoptions: Record<string, unknown> | undefined,
): Promise<void> {
  const state = exoptions?.[CALL_STATE] as SoapCallState | undefined;
  if (!state) {
    // Only `SoapTransport.call` calls through this client; anything else (a WSDL import over
    // HTTP) is refused rather than fetched with the provider's credentials.
    callback(new TypeError('soap transport: no HTTP fetches outside a call (WSDL imports must be local files)'));
    return;
  }
  state.dispatched = true;
  try {
    const answer = await client.postUrl(new URL(url), envelope, stringHeaders(headers), { signal: state.signal });
    const raw = answerText(answer, client.host);
    state.raw = raw;
    const success = answer.status >= 200 && answer.status <= 299;
    // An error status is an answer only when it carries a fault (SOAP 1.1 sends faults with
    // 500); an error page with it is an HTTP error, whatever the page looks like.
    const { fault } = success || FAULT_ELEMENT.test(raw) ? await readSoapAnswer(raw, client.host, answer.status) : { fault: undefined };
    if (fault) {
      state.fault = fault;
      callback(FAULT_ANSWERED);
      return;
    }
    if (!success) {
      throw new TransportError('PROVIDER_HTTP_ERROR', `provider ${client.host} answered with HTTP status ${answer.status}`, { status: answer.status });
    }
    callback(null, { status: answer.status, headers: answer.headers, data: raw }, raw);
  } catch (error) {
    callback(error);
  }
}

function stringHeaders(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}
