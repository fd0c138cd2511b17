/**
 * The message-driven worker: one STOMP subscription per provider on
 * `${queuePrefix}<name>` with `client-individual` acknowledgement and a prefetch, each message
 * taken through the pipeline of dispatch.ts concurrently (up to the prefetch), answered on its
 * `reply-to`, and ACKed only after the reply was sent.
 *
 * Two broker connections: one consumes (SUBSCRIBE, ACK, NACK), the other publishes replies and
 * dead letters (publisher.ts), so a SEND the broker refuses never costs the subscriptions.
 *
 * The worker never crashes its process: every asynchronous path is caught and reported as an
 * event (`error` is emitted only when someone listens).
 */
import { EventEmitter } from 'node:events';
import { maskingLogger, type ActionLogger, type BreakerSnapshot, type ProviderDefinition } from '../providers/index.ts';
import { StompConnection, StompError, type StompMessage, type Subscription } from '../stomp/index.ts';
import { Certificate, loadIdentity, TrustStore } from '../wire/index.ts';
import { deriveAuditKey } from './audit-events.ts';
import type { Disposition, WorkerContext } from './context.ts';
import { describeError } from './describe-error.ts';
import { handleMessage } from './dispatch.ts';
import type { WorkerErrorEvent, WorkerEvents } from './events.ts';
import { startPlugins, type StartedPlugins } from './plugins.ts';
import { openStoreWhenReachable, type StoreWaitHooks } from './store-wait.ts';
import type { StoreHealthListener, WorkerStore } from './store-engine.ts';
import { parseWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options.ts';
import { deriveDigestKey } from './payload-digest.ts';
import { deriveDeadLetterKey } from './dead-letter.ts';
import type { WorkerError } from './errors.ts';
import { Publisher, publisherOptions } from './publisher.ts';
import { compileReplyToPattern } from './reply-to.ts';

/** While the store fails writes, how often a probe write checks whether it works again. */
const STORE_PROBE_MS = 1_000;

/** After the hard stop, how long aborted handlers get to finish (answer `unknown`) before the connection closes. */
const ABORT_SETTLE_MS = 2_000;

const SILENT: ActionLogger = Object.freeze({ info: () => undefined, warn: () => undefined, error: () => undefined });

/** Broker connections lost since the worker started (not counting its own `stop`), per connection. */
export interface ConnectionLosses {
  /** The consuming connection: each loss hands every unacknowledged request back to the broker. */
  readonly consume: number;
  /** The publishing connection (replies, dead letters): a refused SEND ends it; it reconnects. */
  readonly publish: number;
}

/** How the caller follows and cancels {@link Worker.start} while it waits for the broker. */
export interface StartHooks extends StoreWaitHooks {
  /**
   * Aborting it while the broker connections are still being made (or a PostgreSQL store is
   * still waited for) gives up: `start` rejects, with StompError `STOMP_CLOSED_BY_US` (a drain
   * asked for while the broker is down) or the store's last `STORE_FAILED`.
   */
  readonly signal?: AbortSignal;
  /** Each failed attempt at the first consuming connection (broker down, login refused…). */
  readonly onConnectFailed?: (event: { readonly node: string; readonly code: string; readonly message: string }) => void;
  /** The first consuming connection is up (after failed attempts or not). */
  readonly onConnected?: (event: { readonly node: string }) => void;
}

/** Options of {@link Worker.stop}. */
export interface StopOptions {
  /** How long to wait for in-flight requests before aborting them; the worker's `stopGraceMs` by default. */
  readonly graceMs?: number;
}

export class Worker extends EventEmitter<WorkerEvents> {
  readonly #context: WorkerContext;
  readonly #plugins: StartedPlugins;
  readonly #hardStop = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #subscriptions: Subscription[] = [];
  readonly #losses = { consume: 0, publish: 0 };
  #stopping: Promise<void> | undefined;
  #purgeTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;

  private constructor(
    options: ResolvedWorkerOptions,
    parts: Pick<WorkerContext, 'connection' | 'publisher' | 'identity' | 'trust' | 'log' | 'events'> & { readonly store: WorkerStore; readonly plugins: StartedPlugins },
  ) {
    super();
    const { store, plugins, ...resources } = parts;
    this.#plugins = plugins;
    this.#context = {
      ...resources,
      store,
      resources: plugins.resources,
      digestKey: deriveDigestKey(resources.identity.privateKey),
      deadLetterKey: deriveDeadLetterKey(resources.identity.privateKey),
      auditKey: deriveAuditKey(resources.identity.privateKey),
      replyToPattern: options.replyToPattern === undefined ? undefined : compileReplyToPattern(options.replyToPattern),
      options,
      hardStop: this.#hardStop.signal,
      reportHandlerError: (event) => this.#emitSafely('handler-error', event),
      reportError: (event) => this.#reportError(event),
    };
  }

  /**
   * Validates the options, loads the gateway identity and the trust anchors, starts the provider
   * plugins (their settings, breakers and `setup`), opens the idempotency store, opens its two
   * broker connections (consuming, publishing) and subscribes to every provider's queue.
   * Resolves once every subscription is confirmed by the broker.
   *
   * @throws WorkerError `WORKER_BAD_OPTIONS` / `STORE_BAD_OPTIONS` / `STORE_FAILED`, WireError
   *   `BAD_KEY` (identity or trust PEM), ProviderError `PROVIDER_INVALID` (a plugin's setup or
   *   transport options), StompError (`STOMP_CANNOT_CONNECT`, …).
   */
  static async start(options: WorkerOptions, hooks: StartHooks = {}): Promise<Worker> {
    const resolved = parseWorkerOptions(options);
    const identity = loadIdentity(resolved.identity.cert, resolved.identity.key);
    const trust = new TrustStore(resolved.trust);
    // The feed server's certificate, read before any connection is made: a bad one fails the start.
    const events = resolved.events === undefined ? undefined : { queue: resolved.events.queue, recipient: Certificate.from(resolved.events.recipient) };
    const log = maskingLogger(resolved.log ?? SILENT);
    const plugins = await startPlugins(resolved, log, resolved.transcript);
    // The store reports to the worker, which exists only once the store is open.
    const owner: { worker?: Worker } = {};
    const health: StoreHealthListener = {
      onFailure: (error) => {
        if (owner.worker !== undefined) owner.worker.#storeFailed(error);
      },
      onRecovery: () => {
        if (owner.worker !== undefined) owner.worker.#storeRecovered();
      },
    };
    let store: WorkerStore | undefined;
    let connection: StompConnection | undefined;
    let publisher: Publisher;
    try {
      store = await openStoreWhenReachable(resolved.idempotency, health, hooks);
      connection = StompConnection.create(resolved.stomp);
      await connectFirst(connection, hooks);
      publisher = await untilAborted(Publisher.connect(publisherOptions(resolved.stomp, resolved.publisherStomp)), hooks.signal, (late) => void late.close());
    } catch (error) {
      await store?.close().catch(() => undefined);
      await connection?.close().catch(() => undefined);
      await plugins.close();
      throw error;
    }
    const worker = new Worker(resolved, { connection, publisher, identity, trust, store, plugins, log, events });
    owner.worker = worker;
    try {
      await worker.#subscribeAll();
    } catch (error) {
      await worker.stop({ graceMs: 0 });
      throw error;
    }
    worker.#startPurging();
    return worker;
  }

  /** Retention: purges once now, then every `purgeIntervalMs` (the timer never keeps the process alive). */
  #startPurging(): void {
    const every = this.#context.options.purgeIntervalMs;
    if (every === 0) return;
    const purge = (): void => {
      this.#context.store.purge(this.#context.options.clock()).then(
        ({ entries, requests }) => {
          if (entries + requests > 0) this.#context.log.info('idempotency store purged', { entries, requests });
        },
        (error: unknown) => this.#reportError({ stage: 'purge', ...describeError(error), requeued: false }),
      );
    };
    purge();
    this.#purgeTimer = setInterval(purge, every);
    this.#purgeTimer.unref();
  }

  /** This process's worker id (`host:pid:random` unless given). */
  get workerId(): string {
    return this.#context.options.workerId;
  }

  /** Messages being processed now (received, not yet ACKed, dead-lettered or NACKed). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Whether both broker connections are up now (false while either fails over or reconnects). */
  get brokerConnected(): boolean {
    return this.#context.connection.connected && this.#context.publisher.connected;
  }

  /**
   * While the idempotency store fails writes: the last failure (`STORE_FAILED`). Requests are
   * then answered at once with a retryable `STORE_FAILED` error (dispatch.ts) and the store
   * is probed every second; undefined again once a write succeeds.
   */
  get storeFailure(): { readonly code: string; readonly message: string } | undefined {
    const failure = this.#context.store.failure;
    return failure === undefined ? undefined : { code: failure.code, message: failure.message };
  }

  #storeFailed(error: WorkerError): void {
    if (this.#probeTimer !== undefined) return;
    this.#context.log.error('idempotency store failing: requests are answered STORE_FAILED (retryable) until a write succeeds', { code: error.code, message: error.message });
    const probe = (): void => void this.#context.store.probe(this.#context.options.clock()).catch(() => undefined);
    this.#probeTimer = setInterval(probe, STORE_PROBE_MS);
    this.#probeTimer.unref();
  }

  #storeRecovered(): void {
    clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
    this.#context.log.info('idempotency store writable again: serving');
  }

  /** Broker connections lost so far, per connection (a refused reply costs the publishing one only). */
  get connectionLosses(): ConnectionLosses {
    return { ...this.#losses };
  }

  /** Breaker state per provider endpoint (for health and metrics). */
  breakerSnapshot(): BreakerSnapshot[] {
    return this.#plugins.snapshot();
  }

  /** The provider plugins served, in the order given. */
  get providers(): readonly ProviderDefinition[] {
    return this.#context.options.providers;
  }

  /**
   * Stops: takes no new message, waits up to `graceMs` for the in-flight ones to be answered and
   * ACKed, then aborts the rest (their handlers' signal) and gives them a moment to answer
   * `unknown`; then unsubscribes, closes the store and the connection. Messages received but not
   * started go back to the queue. Calling it again returns the same promise.
   *
   * Unsubscribing comes after the drain, not before: brokers hand a subscription's unACKed
   * messages to other consumers on UNSUBSCRIBE (the embedded broker forgets their ack ids), so
   * an in-flight request would be processed twice and its ACK refused.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.graceMs ?? this.#context.options.stopGraceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    clearInterval(this.#purgeTimer);
    clearInterval(this.#probeTimer);
    if (!(await this.#drain(graceMs))) {
      this.#hardStop.abort(new Error('the worker is stopping'));
      await this.#drain(ABORT_SETTLE_MS);
    }
    const { connection, publisher } = this.#context;
    await Promise.allSettled(this.#subscriptions.splice(0).map((subscription) => subscription.unsubscribe()));
    await this.#context.store.close().catch((error: unknown) => this.#reportError({ stage: 'store', ...describeError(error), requeued: false }));
    await this.#plugins.close();
    await Promise.all([
      connection.close().catch((error: unknown) => this.#reportError({ stage: 'connection', ...describeError(error), requeued: false })),
      publisher.close().catch((error: unknown) => this.#reportError({ stage: 'publisher', ...describeError(error), requeued: false })),
    ]);
  }

  /** Waits until nothing is in flight or `ms` passed; true when drained. */
  async #drain(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.#inFlight.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      await Promise.race([Promise.allSettled([...this.#inFlight]), timeout]);
      clearTimeout(timer);
    }
    return true;
  }

  /** Counts and reports the losses of both connections (a loss of the consuming one requeues what it held). */
  #watchConnections(): void {
    const { connection, publisher } = this.#context;
    const watch = (which: keyof ConnectionLosses, stage: string, target: StompConnection): void => {
      target.on('node-disconnect', ({ error }: { error: StompError }) => {
        if (error.code === 'STOMP_CLOSED_BY_US') return;
        this.#losses[which] += 1;
        this.#reportError({ stage, ...describeError(error), requeued: which === 'consume' });
      });
      target.on('close', ({ error }) => {
        if (error !== undefined) this.#reportError({ stage, ...describeError(error), requeued: which === 'consume' });
      });
      // Failover notices: expected, so info (docs/operations.md, "Configuring failover").
      target.on('node-connect', ({ node, reconnected }) => {
        if (reconnected) this.#context.log.info('broker connection restored', { stage, node });
      });
      target.on('failback', ({ from, to }) => this.#context.log.info('moving back to a broker listed earlier', { stage, from, to }));
    };
    watch('consume', 'connection', connection);
    watch('publish', 'publisher', publisher.connection);
  }

  async #subscribeAll(): Promise<void> {
    const { connection, options } = this.#context;
    this.#watchConnections();
    connection.on('handler-error', ({ error }) => this.#reportError({ stage: 'dispatch', ...describeError(error), requeued: false }));
    for (const provider of options.providers) {
      const destination = `${options.queuePrefix}${provider.name}`;
      const handler = (message: StompMessage): void => this.#receive(provider, message);
      this.#subscriptions.push(connection.subscribe(destination, handler, { ack: 'client-individual', prefetch: options.prefetch }));
    }
    await Promise.all(this.#subscriptions.map((subscription) => subscription.ready));
  }

  #receive(provider: ProviderDefinition, message: StompMessage): void {
    // Once stopping, a message is left unACKed: the broker gives it back at UNSUBSCRIBE/close.
    if (this.#stopping !== undefined) return;
    const task: Promise<void> = this.#process(provider, message).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  async #process(provider: ProviderDefinition, message: StompMessage): Promise<void> {
    const startedAt = performance.now();
    let disposition: Disposition;
    try {
      disposition = await handleMessage(this.#context, provider, message, startedAt);
    } catch (error) {
      // A bug or a lost connection (ACK, dead-letter SEND): hand the message back, carry on.
      this.#reportError({ stage: 'dispatch', provider: provider.name, ...describeError(error), requeued: true });
      await message.nack().catch(() => undefined);
      return;
    }
    // Tenths of a millisecond: enough for metrics, and no long float digit runs in logs.
    this.#announce(provider, disposition, Math.round((performance.now() - startedAt) * 10) / 10);
  }

  #announce(provider: ProviderDefinition, disposition: Disposition, durationMs: number): void {
    if (disposition.kind === 'replied') {
      const { type, status, code, replayedFromStore } = disposition;
      this.#emitSafely('processed', { provider: provider.name, type, status, ...(code === undefined ? {} : { code }), durationMs, replayedFromStore });
    } else if (disposition.kind === 'dead-lettered') {
      this.#emitSafely('dead-letter', { provider: provider.name, reason: disposition.reason });
    }
  }

  /** Emits an event; a listener that throws must not take the worker (or a message) down with it. */
  #emitSafely<K extends 'processed' | 'dead-letter' | 'handler-error'>(name: K, ...args: WorkerEvents[K]): void {
    try {
      (this.emit as (event: K, ...rest: WorkerEvents[K]) => boolean)(name, ...args);
    } catch (error) {
      this.#reportError({ stage: 'listener', ...describeError(error), requeued: false });
    }
  }

  #reportError(event: WorkerErrorEvent): void {
    const expected = expectedFailover(event);
    if (expected === undefined) this.#context.log.error('worker error', { ...event });
    else this.#context.log[expected.level](expected.msg, { ...event });
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', event);
    } catch {
      // An 'error' listener that throws is ignored: nothing else is left to tell.
    }
  }
}

/** Codes of a broker connection that went away: the connection fails over by itself. */
const CONNECTION_LOST = new Set(['STOMP_IO', 'STOMP_CLOSED_BY_PEER', 'STOMP_READ_TIMEOUT']);

/**
 * How an expected consequence of a failover is logged (undefined: a real error). They need no
 * action (docs/stomp.md), and at `error` a single failover wrote a dozen lines that paged nobody
 * but hid real errors: a lost connection is a `warn`, and so is a reply or ACK that the loss cut
 * short (the request comes back: redelivered, or retried by its client with the same key); an
 * ACK refused because its connection was already lost (`STOMP_STALE_MESSAGE`) is an `info`.
 */
export function expectedFailover(event: WorkerErrorEvent): { level: 'info' | 'warn'; msg: string } | undefined {
  if (event.code === 'STOMP_STALE_MESSAGE') return { level: 'info', msg: 'acknowledgement refused after a broker failover; the broker redelivers the request' };
  if (event.code === 'STOMP_CANNOT_CONNECT' && (event.stage === 'reply' || event.stage === 'dead-letter' || event.stage === 'events')) {
    // The node that delivered the request is gone (replies leave through it): its client's retry is answered elsewhere.
    return { level: 'warn', msg: `${event.stage} not sent: the broker that delivered the request is gone; it is answered on redelivery or retry` };
  }
  if (!CONNECTION_LOST.has(event.code)) return undefined;
  if (event.stage === 'connection' || event.stage === 'publisher') return { level: 'warn', msg: 'broker connection lost; failing over' };
  return { level: 'warn', msg: 'request interrupted by a lost broker connection; it is answered on redelivery or retry' };
}

/** The consuming connection's first connect, reported attempt by attempt, given up when `hooks.signal` aborts. */
async function connectFirst(connection: StompConnection, hooks: StartHooks): Promise<void> {
  const onError = ({ node, error }: { node: string; error: StompError }): void => hooks.onConnectFailed?.({ node, code: error.code, message: error.message });
  const abort = (): void => void connection.close();
  connection.on('node-error', onError);
  hooks.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (hooks.signal?.aborted) abort();
    await connection.start();
    hooks.onConnected?.({ node: connection.node ?? '' });
  } finally {
    connection.off('node-error', onError);
    hooks.signal?.removeEventListener('abort', abort);
  }
}

/** `pending`, or STOMP_CLOSED_BY_US once `signal` aborts (what `pending` gives later is handed to `discard`). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined, discard: (late: T) => void): Promise<T> {
  if (signal === undefined) return pending;
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      reject(new StompError('STOMP_CLOSED_BY_US', 'the worker was stopped while connecting to the broker'));
      void pending.then(discard, () => undefined);
    };
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    pending.then(
      (value) => (signal.removeEventListener('abort', abort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', abort), reject(error as Error)),
    );
  });
}
