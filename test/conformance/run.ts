/**
 * One conformance run: the sandbox, the full request path (SDK → embedded broker → worker →
 * plugin → sandbox) with every observable captured, the secrets sent, and typed-loosely helpers
 * to send a case's request. {@link describeConformance} registers the checks on top of it.
 */
import { RemoteError, type GatewayReply, type PingResult, type RequestOptions } from '../../src/client/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';
import type { ProviderSettingsInput } from '../../src/worker/options.ts';
import type { BrokerDescriptor } from '../helpers/brokers.ts';
import { startFullPath, type FullPath } from '../helpers/full-path.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { Capture } from './capture.ts';
import { collectCredentials, collectPayloadSecrets, emptySecrets, type Secrets } from './secrets.ts';
import type { ActionCases, CaseRunner, ConformanceSpec } from './spec.ts';

/** The gateway as the suite drives it: any type of the provider, payloads unknown. */
interface LooseGateway {
  request(provider: string, type: string, payload: unknown, options?: RequestOptions): Promise<GatewayReply<unknown>>;
  ping(provider: string, options?: RequestOptions): Promise<GatewayReply<PingResult>>;
}

/** A reply, or the error the SDK threw. */
export type Sent = { readonly reply: GatewayReply<unknown>; readonly error?: undefined } | { readonly reply?: undefined; readonly error: unknown };

/**
 * How long an open breaker waits before a trial call during the run, unless the spec's settings
 * say otherwise: the outage check must see the provider approve again within seconds.
 */
export const SUITE_RESET_TIMEOUT_MS = 300;

let keys = 0;
/** A fresh idempotency key. */
export function newKey(label: string): string {
  keys += 1;
  return `conf-${label}-${Date.now().toString(36)}-${keys}`.slice(0, 128);
}

/** State shared by the checks of one `describeConformance`. */
export class ConformanceRun<P extends ProviderDefinition, S> {
  readonly capture = new Capture();
  readonly secrets: Secrets = emptySecrets();
  #path: FullPath<P> | undefined;
  #sandbox: S | undefined;
  #settings: ProviderSettingsInput | undefined;

  constructor(
    readonly spec: ConformanceSpec<P, S>,
    /** The broker of the matrix this run uses; the embedded one when absent. */
    readonly broker?: BrokerDescriptor,
  ) {
    for (const cases of Object.values<ActionCases<P, never>>(spec.cases as never)) {
      for (const source of [cases.approve, ...(cases.declines ?? []).map((d) => d.payload)]) {
        if (typeof source !== 'function') collectPayloadSecrets(this.secrets, source);
      }
    }
  }

  /** Starts the sandbox on the dev TLS identity, then the full path with the capture hooks. */
  async start(): Promise<void> {
    const pki = await makeTestPki();
    const started = await this.spec.sandbox.start({ cert: pki.tls.certPem, key: pki.tls.keyPem, ca: pki.ca.certPem });
    this.#sandbox = started.sandbox;
    this.#settings = started.settings;
    collectCredentials(this.secrets, started.settings.options ?? {}, this.spec.publicOptions ?? []);
    const settings = { ...started.settings, breaker: { resetTimeout: SUITE_RESET_TIMEOUT_MS, ...started.settings.breaker } };
    this.#path = await startFullPath({
      provider: this.spec.provider,
      settings,
      pki,
      ...(this.broker === undefined ? {} : { broker: this.broker }),
      worker: { transcript: this.capture.transcriptHook, log: this.capture.log },
    });
  }

  /** Stops the full path, then the sandbox. */
  async stop(): Promise<void> {
    await this.#path?.close();
    if (this.#sandbox !== undefined) await this.spec.sandbox.stop(this.#sandbox);
  }

  /** The running sandbox. */
  get sandbox(): S {
    if (this.#sandbox === undefined) throw new Error('the sandbox did not start');
    return this.#sandbox;
  }

  /** The settings the sandbox gave (for the worker config). */
  get settings(): ProviderSettingsInput {
    if (this.#settings === undefined) throw new Error('the sandbox did not start');
    return this.#settings;
  }

  /** The worker of the run. */
  get path(): FullPath<P> {
    if (this.#path === undefined) throw new Error('the full path did not start');
    return this.#path;
  }

  get #gateway(): LooseGateway {
    return this.path.gateway as unknown as LooseGateway;
  }

  /** Sends one request; every payload, reply and error is recorded for the leak scan. */
  async send(type: string, payload: unknown, idempotencyKey = newKey(type)): Promise<Sent> {
    collectPayloadSecrets(this.secrets, payload);
    try {
      const reply = await this.#gateway.request(this.spec.provider.name, type, payload, { idempotencyKey });
      this.capture.reply(type, reply);
      return { reply };
    } catch (error) {
      this.capture.error(type, error);
      return { error };
    }
  }

  /** `ping` through the full path. */
  async ping(): Promise<GatewayReply<PingResult>> {
    const reply = await this.#gateway.ping(this.spec.provider.name);
    this.capture.reply('ping', reply);
    return reply;
  }

  /** Runs prerequisites for function payloads. */
  readonly runner: CaseRunner<P> = {
    approve: async (type, payload) => {
      const sent = await this.send(type, payload);
      if (sent.reply?.status !== 'approved') throw new Error(`prerequisite ${type} was not approved: ${describeSent(sent)}`);
      return sent.reply.result as never;
    },
  };

  /** The payload of a case: as given, or built by its function. */
  async payloadOf(source: unknown): Promise<unknown> {
    const payload: unknown = typeof source === 'function' ? await (source as (run: CaseRunner<P>) => unknown)(this.runner) : source;
    collectPayloadSecrets(this.secrets, payload);
    return payload;
  }
}

/** A short description of a send for assertion messages (status and error code, never payloads). */
export function describeSent(sent: Sent): string {
  if (sent.reply !== undefined) return `reply ${sent.reply.status}${sent.reply.error ? ` ${sent.reply.error.code}` : ''}`;
  const error = sent.error;
  if (error instanceof RemoteError) return `RemoteError ${error.remoteCode}`;
  return `thrown ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
}
