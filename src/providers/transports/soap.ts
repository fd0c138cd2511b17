import { fileURLToPath } from 'node:url';
import type * as Soap from 'soap';
import * as z from 'zod';
import { ProviderError } from '../errors.ts';
import { isTransportError, TransportError } from '../transport-errors.ts';
import { safeCause } from './failure-classification.ts';
import { createHttpClient, type CallOptions, type HttpClient } from './http-client.ts';
import { lazyImport } from './lazy.ts';
import { endpointOptionsSchema, parseTransportOptions } from './options.ts';
import type { SoapFault } from './soap-fault.ts';
import { CALL_STATE, createSoapHttpClient, FAULT_ANSWERED, type SoapCallState } from './soap-http-client.ts';

/**
 * SOAP over HTTPS with a WSDL kept in the plugin folder, on the `soap` package (envelopes,
 * WS-Security UsernameToken, result parsing) and our HTTP client (`soap-http-client.ts`).
 *
 * | answer | result |
 * | --- | --- |
 * | a result envelope (2xx) | `{ result, raw }`: soap's reading of the output message |
 * | a well-formed `Fault` (with 500 or 2xx) | `{ fault: { code, string, detail, actor, status }, raw }`: an answer, e.g. a decline |
 * | a malformed fault, XML that is no envelope, DOCTYPE/entities, non-XML, an HTML page on 2xx | `PROVIDER_BAD_RESPONSE` |
 * | an error status without a fault (a 500 error page, a 404) | `PROVIDER_HTTP_ERROR` with `status` |
 * | truncated, too large, timeouts, unreachable | as the HTTP client classifies them (`failure-classification.ts`) |
 *
 * The WSDL's own service address is ignored: calls go to `endpoint`, with our TLS settings.
 *
 * `soap` is imported with the WSDL, on the first call or `ready()` (`lazy.ts`): it is the heaviest
 * transport library, and a worker whose plugins make no SOAP call never loads it.
 */

const loadSoap = lazyImport(() => import('soap'));

const localWsdl = z
  .union([z.string().min(1), z.instanceof(URL)])
  .transform((value) => (value instanceof URL ? value : value.startsWith('file:') ? new URL(value) : value))
  .refine((value) => typeof value === 'string' ? !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) : value.protocol === 'file:', 'must be a local file (a path or a file: URL)')
  .transform((value) => (value instanceof URL ? fileURLToPath(value) : value));

/** Options of {@link createSoapTransport}: the endpoint options and these. */
export const soapTransportOptionsSchema = endpointOptionsSchema.extend({
  /** The WSDL file in the plugin folder (a path, or `new URL('./card.wsdl', import.meta.url)`). */
  wsdlPath: localWsdl,
  /** WS-Security UsernameToken in every request's header. */
  security: z
    .strictObject({
      username: z.string().min(1),
      password: z.string(),
      /** `PasswordText` (default) or `PasswordDigest`, as the provider requires. */
      passwordType: z.enum(['PasswordText', 'PasswordDigest']).default('PasswordText'),
      /** Add a `wsu:Timestamp` (default true). */
      timestamp: z.boolean().default(true),
    })
    .optional(),
});
/** What a plugin writes. */
export type SoapTransportOptions = z.input<typeof soapTransportOptionsSchema>;

/** What a SOAP call answered: a result, or a fault (check `fault` first). */
export type SoapAnswer =
  | { readonly result: unknown; readonly fault?: undefined; readonly raw: string }
  | { readonly result?: undefined; readonly fault: SoapFault; readonly raw: string };

/** A SOAP transport bound to one endpoint and one WSDL. */
export interface SoapTransport {
  /** `host[:port]` of the endpoint. */
  readonly host: string;
  /** Loads the WSDL now (otherwise done by the first call); resolves with the operation names. */
  ready(): Promise<readonly string[]>;
  /** Calls `operation` of the WSDL with `args` (soap's object form of the input message). */
  call(operation: string, args: unknown, options?: CallOptions): Promise<SoapAnswer>;
  /** Closes the endpoint's connections (after the calls in flight). */
  close(): Promise<void>;
}

type AsyncOperation = (args: unknown, options: Record<string, unknown>) => Promise<[unknown, unknown, ...unknown[]]>;

interface LoadedClient {
  readonly client: Soap.Client;
  readonly operations: ReadonlySet<string>;
}

/** Creates the transport; throws `ProviderError` `PROVIDER_INVALID` for bad options. The WSDL is read on first use. */
export function createSoapTransport(options: SoapTransportOptions): SoapTransport {
  const parsed = parseTransportOptions(soapTransportOptionsSchema, options, 'soap');
  const http = createHttpClient(parsed);
  let loading: Promise<LoadedClient> | undefined;
  const load = (): Promise<LoadedClient> => {
    loading ??= loadClient(parsed, http).catch((error: unknown) => {
      loading = undefined; // a fixed file is picked up by the next call
      throw error;
    });
    return loading;
  };
  return {
    host: http.host,
    ready: async () => [...(await load()).operations],
    call: async (operation, args, callOptions = {}) => callOperation(await load(), http.host, operation, args, callOptions.signal),
    close: () => http.close(),
  };
}

async function loadClient(options: z.output<typeof soapTransportOptionsSchema>, http: HttpClient): Promise<LoadedClient> {
  const soap = await loadSoap();
  let client: Soap.Client;
  try {
    client = await soap.createClientAsync(options.wsdlPath, {
      endpoint: options.endpoint,
      httpClient: createSoapHttpClient(http) as unknown as Soap.IHttpClient,
      disableCache: true,
    });
  } catch (error) {
    // soap's messages quote the WSDL; that is fine (it is ours), but keep the message short.
    const reason = error instanceof Error ? error.message.split('\n')[0] : 'unreadable';
    throw new ProviderError('PROVIDER_INVALID', `soap transport: cannot load the WSDL ${options.wsdlPath}: ${reason}`);
  }
  if (options.security) {
    const { username, password, passwordType, timestamp } = options.security;
    client.setSecurity(new soap.WSSecurity(username, password, { passwordType, hasTimeStamp: timestamp }));
  }
  return { client, operations: new Set(operationNames(client)) };
}

/** The operation names of every service and port of the WSDL. */
function operationNames(client: Soap.Client): string[] {
  const services = client.describe() as Record<string, Record<string, Record<string, unknown>>>;
  return Object.values(services).flatMap((ports) => Object.values(ports).flatMap((operations) => Object.keys(operations)));
}

async function callOperation(loaded: LoadedClient, host: string, operation: string, args: unknown, signal: AbortSignal | undefined): Promise<SoapAnswer> {
  if (!loaded.operations.has(operation)) throw new ProviderError('PROVIDER_INVALID', `soap transport: the WSDL has no operation ${JSON.stringify(operation)}`);
  signal?.throwIfAborted();
  const method = (loaded.client as unknown as Record<string, AsyncOperation | undefined>)[`${operation}Async`];
  if (typeof method !== 'function') throw new ProviderError('PROVIDER_INVALID', `soap transport: operation ${JSON.stringify(operation)} cannot be called`);
  const state: SoapCallState = { signal, dispatched: false, fault: undefined, raw: undefined };
  try {
    const [result, raw] = await method.call(loaded.client, args, { [CALL_STATE]: state });
    return { result, raw: typeof raw === 'string' ? raw : (state.raw ?? '') };
  } catch (error) {
    if (error === FAULT_ANSWERED && state.fault) return { fault: state.fault, raw: state.raw ?? '' };
    if (signal?.aborted && error === signal.reason) throw error;
    if (isTransportError(error)) throw error;
    if (!state.dispatched) {
      // soap could not build the envelope from `args`: a plugin bug; its message may quote args,
      // so the cause keeps only its name and code.
      // eslint-disable-next-line preserve-caught-error
      throw new TypeError(`soap transport: cannot build the ${operation} request from the arguments given`, { cause: safeCause(error) });
    }
    // soap could not read a well-formed envelope against the WSDL; its message may quote it.
    throw new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} answered ${operation} with an envelope the WSDL does not describe`, { cause: safeCause(error) });
  }
}
