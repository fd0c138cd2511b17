/**
 * Plugin set-up (docs/providers.md, "Setup"): what a plugin's `setup(tools)` gets when a worker
 * starts it. The plugin module cannot know where its provider lives — the endpoint, the CA to
 * trust, a client certificate, credentials are deployment settings from the worker config — so
 * the worker hands them over here, with transport factories that already carry them and that send
 * every call through the provider's circuit breaker.
 *
 * A static `defineProvider({ transport, … })` field cannot
 * hold what only the deployment knows, so a plugin declares its `breaker` defaults and a `config`
 * schema, and builds its transports in `setup`. What `setup` returns is the handlers'
 * `context.resources`.
 */
import type { ActionLogger } from './contract.ts';
import type { BreakerRegistry } from './breaker.ts';
import {
  createFormTransport, createSoapTransport, createXmlTransport, type CallOptions, type FormTransport, type FormTransportOptions,
  type SoapTransport, type SoapTransportOptions, type TranscriptHook, type XmlTransport, type XmlTransportOptions,
} from './transports/index.ts';
import { ProviderError } from './errors.ts';

/** The deployment settings of one provider, as the worker resolved them from its config. */
export interface ProviderDeployment {
  /** The provider's endpoint (https URL). */
  readonly endpoint?: string | undefined;
  /** TLS to the endpoint, PEM text. */
  readonly tls?: { readonly ca?: string | undefined; readonly cert?: string | undefined; readonly key?: string | undefined } | undefined;
  /** Per-call deadline (ms); the transports' default otherwise. */
  readonly timeoutMs?: number | undefined;
}

/** Transport options a plugin may still choose (the endpoint, TLS and deadline come from the deployment). */
type Chosen<T> = Omit<T, 'endpoint' | 'tls' | 'timeoutMs' | 'transcript'>;

/** What `setup(tools)` receives. */
export interface SetupTools<C> {
  /** The provider's name. */
  readonly provider: string;
  /** The plugin's own settings (the worker config's `options`), parsed by the plugin's `config` schema. */
  readonly config: C;
  /** A logger that masks card numbers. */
  readonly log: ActionLogger;
  /** An HTTPS name-value form transport to the provider's endpoint, through its breaker. */
  formTransport(options?: Chosen<FormTransportOptions>): FormTransport;
  /** An XML-over-HTTPS transport to the provider's endpoint, through its breaker. */
  xmlTransport(options?: Chosen<XmlTransportOptions>): XmlTransport;
  /** A SOAP transport (WSDL in the plugin folder) to the provider's endpoint, through its breaker. */
  soapTransport(options: Chosen<SoapTransportOptions>): SoapTransport;
}

/** What the worker gives {@link createSetupTools}. */
export interface SetupToolsInput<C> {
  readonly provider: string;
  readonly config: C;
  readonly deployment: ProviderDeployment;
  readonly breakers: BreakerRegistry;
  readonly log: ActionLogger;
  /** Receives every request and answer body (already scrubbed by the plugin's `scrub`). */
  readonly transcript?: TranscriptHook | undefined;
  /** Scrubs a body before the transcript hook sees it (the plugin's `scrub`). */
  readonly scrub: (transcript: string) => string;
}

/** The tools and a way to close every transport they made. */
export interface SetupToolsHandle<C> {
  readonly tools: SetupTools<C>;
  /** Closes the transports made through the tools (at worker stop). */
  close(): Promise<void>;
}

/** Runs `call` through the provider's breaker, with the caller's signal joined to the breaker's. */
function viaBreaker<T>(input: SetupToolsInput<unknown>, endpoint: string, options: CallOptions | undefined, call: (o: CallOptions) => Promise<T>): Promise<T> {
  return input.breakers.call(
    input.provider,
    endpoint,
    (signal) => call({ signal: options?.signal === undefined ? signal : AbortSignal.any([signal, options.signal]) }),
    options?.signal === undefined ? {} : { signal: options.signal },
  );
}

/** Builds the set-up tools for one provider. */
export function createSetupTools<C>(input: SetupToolsInput<C>): SetupToolsHandle<C> {
  const made: { close(): Promise<void> }[] = [];
  const common = (): { endpoint: string; tls: ProviderDeployment['tls']; timeoutMs?: number; transcript?: TranscriptHook } => {
    const { endpoint, tls, timeoutMs } = input.deployment;
    if (endpoint === undefined) {
      throw new ProviderError('PROVIDER_INVALID', `provider ${input.provider}: its transport needs an endpoint (providers[].endpoint in the worker config)`);
    }
    const transcript = input.transcript;
    return {
      endpoint,
      tls: tls ?? {},
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(transcript === undefined ? {} : { transcript: (entry) => transcript({ ...entry, body: input.scrub(entry.body) }) }),
    };
  };
  const keep = <T extends { close(): Promise<void> }>(transport: T): T => {
    made.push(transport);
    return transport;
  };
  const tools: SetupTools<C> = {
    provider: input.provider,
    config: input.config,
    log: input.log,
    formTransport(options = {}) {
      const base = common();
      const transport = keep(createFormTransport({ ...options, ...base }));
      return { ...transport, host: transport.host, post: (path, fields, o) => viaBreaker(input, base.endpoint, o, (c) => transport.post(path, fields, c)) };
    },
    xmlTransport(options = {}) {
      const base = common();
      const transport = keep(createXmlTransport({ ...options, ...base }));
      return { ...transport, host: transport.host, post: (path, doc, o) => viaBreaker(input, base.endpoint, o, (c) => transport.post(path, doc, c)) };
    },
    soapTransport(options) {
      const base = common();
      const transport = keep(createSoapTransport({ ...options, ...base }));
      return { ...transport, host: transport.host, call: (op, args, o) => viaBreaker(input, base.endpoint, o, (c) => transport.call(op, args, c)) };
    },
  };
  return {
    tools: Object.freeze(tools),
    close: async () => {
      await Promise.allSettled(made.splice(0).map((transport) => transport.close()));
    },
  };
}
