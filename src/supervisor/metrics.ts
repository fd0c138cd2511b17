/**
 * The pool's Prometheus metrics, kept in the supervisor's process.
 *
 * Workers report events over IPC; the supervisor records them here, so counters survive the
 * death of the worker that produced them. What a worker *is* right now (in-flight requests,
 * broker connection, breaker states) is a snapshot per worker process, turned into gauges when
 * Prometheus scrapes: a dead worker's snapshot is removed and its gauges stop counting it, while
 * the counters keep their totals.
 *
 * Every label value passes through `maskPan` and is capped at {@link MAX_LABEL_LENGTH}
 * characters. Labels come from provider names, message types and codes, never card data; this is
 * defence in depth, because a leaked PAN in a time-series database is nearly impossible to purge.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import * as z from 'zod';
import { PaygateError } from '../errors.ts';
import type { BreakerSnapshot, BreakerState } from '../providers/index.ts';
import { maskPan } from '../wire/index.ts';
import type { DeadLetterEvent, HandlerErrorEvent, ProcessedEvent } from '../worker/events.ts';

/** The prefix of every metric name. */
export const METRIC_PREFIX = 'paygate_';

/** Label values longer than this (in characters) are cut: a runaway value must not bloat every scrape. */
export const MAX_LABEL_LENGTH = 64;

/**
 * Buckets of `paygate_request_duration_seconds`: 1 ms to 30 s, roughly ×2.5 per step. Fast paths
 * (ping, a replay from the store) land in the first buckets; provider calls run into seconds; the
 * last bucket is the slowest a client normally still waits for.
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);

/** Why a worker process was restarted. */
export type RestartCause = 'crashed' | 'killed' | 'start-failed' | 'stopped-itself';
/** Every {@link RestartCause}: each series exists (at 0) from the start, so `rate()` never sees it appear. */
export const RESTART_CAUSES: readonly RestartCause[] = Object.freeze(['crashed', 'killed', 'start-failed', 'stopped-itself']);

/** How a configuration reload ended. */
export type ReloadOutcome = 'applied' | 'rejected' | 'failed';
/** Every {@link ReloadOutcome}, pre-created at 0 like the restart causes. */
export const RELOAD_OUTCOMES: readonly ReloadOutcome[] = Object.freeze(['applied', 'rejected', 'failed']);

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

/** Stable codes of {@link MetricsError}. */
export const METRICS_ERROR_CODES = [
  /** The options given to `new GatewayMetrics()` do not validate (the message names the paths). */
  'METRICS_BAD_OPTIONS',
] as const;

/** One of {@link METRICS_ERROR_CODES}. */
export type MetricsErrorCode = (typeof METRICS_ERROR_CODES)[number];

/** A typed failure of {@link GatewayMetrics}. */
export class MetricsError extends PaygateError {
  declare readonly code: MetricsErrorCode;

  constructor(code: MetricsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Options of {@link GatewayMetrics}, with their defaults (here and nowhere else).
 *
 * - `processMetrics` (default true): also export the supervisor process's own Node metrics
 *   (CPU, memory, event-loop lag, GC, handles) as `paygate_supervisor_*`.
 */
export const metricsOptionsSchema = z.strictObject({
  processMetrics: z.boolean().default(true),
});

/** Options of {@link GatewayMetrics} as written (every field optional). */
export type GatewayMetricsOptions = z.input<typeof metricsOptionsSchema>;

/** What the supervisor last heard from one worker process about its state. */
export interface WorkerState {
  /** Requests the worker is processing now. */
  readonly inFlight: number;
  /** Whether the worker is connected to the broker. */
  readonly brokerConnected: boolean;
  /** The worker's breakers (one per provider endpoint it has called): a `BreakerSnapshot` or what a worker reports of it. */
  readonly breakers: readonly Pick<BreakerSnapshot, 'provider' | 'endpoint' | 'state'>[];
}

/** The pool's size: how many workers the supervisor wants, and how many are ready. */
export interface PoolState {
  readonly desired: number;
  readonly ready: number;
}

/** A worker's state as kept here: label values already masked, only what the gauges need. */
interface KeptState {
  readonly inFlight: number;
  readonly brokerConnected: boolean;
  /** `provider\0endpoint` → that breaker's state (one per endpoint per worker). */
  readonly breakers: ReadonlyMap<string, { provider: string; endpoint: string; state: BreakerState }>;
}

/** Masks card numbers in a label value, then caps its length (masking first: a cut could hide a PAN from the mask). */
export function labelValue(value: unknown): string {
  const masked = maskPan(String(value));
  // Cut by code points, not UTF-16 units, so a cut never leaves half a surrogate pair.
  const chars = Array.from(masked);
  return chars.length <= MAX_LABEL_LENGTH ? masked : chars.slice(0, MAX_LABEL_LENGTH).join('');
}

/** A count reported over IPC: anything but a finite non-negative number counts as 0 (one bad report must not break every scrape). */
function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * The metrics of a worker pool, in a registry of its own (never prom-client's global one, so
 * two supervisors, or a test, never share series).
 *
 * Counters: `paygate_requests_total{provider,type,status}`,
 * `paygate_request_errors_total{provider,type,code}`, `paygate_replayed_total{provider}`,
 * `paygate_dead_letters_total{provider,reason}`, `paygate_handler_errors_total{provider,type,hook}`,
 * `paygate_worker_restarts_total{cause}`, `paygate_reloads_total{outcome}`. Histogram:
 * `paygate_request_duration_seconds{provider,type}`. Gauges: `paygate_in_flight`,
 * `paygate_workers{state}`, `paygate_breaker_state{provider,endpoint,state}`,
 * `paygate_pool_desired_workers`, `paygate_pool_ready_workers`; and `paygate_supervisor_*`
 * (Node process metrics) unless `processMetrics` is false.
 */
export class GatewayMetrics {
  readonly #registry = new Registry();
  readonly #workers = new Map<string, KeptState>();
  readonly #requests: Counter<'provider' | 'type' | 'status'>;
  readonly #requestErrors: Counter<'provider' | 'type' | 'code'>;
  readonly #duration: Histogram<'provider' | 'type'>;
  readonly #replayed: Counter<'provider'>;
  readonly #deadLetters: Counter<'provider' | 'reason'>;
  readonly #handlerErrors: Counter<'provider' | 'type' | 'hook'>;
  readonly #restarts: Counter<'cause'>;
  readonly #reloads: Counter<'outcome'>;
  readonly #poolDesired: Gauge;
  readonly #poolReady: Gauge;

  /** @throws MetricsError `METRICS_BAD_OPTIONS` naming each bad option. */
  constructor(options: GatewayMetricsOptions = {}) {
    const parsed = metricsOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(options)'}: ${issue.message}`);
      throw new MetricsError('METRICS_BAD_OPTIONS', `invalid metrics options: ${problems.join('; ')}`);
    }
    const registers = [this.#registry];
    const p = METRIC_PREFIX;
    this.#requests = new Counter({ name: `${p}requests_total`, help: 'Requests answered and acknowledged, by reply status.', labelNames: ['provider', 'type', 'status'], registers });
    this.#requestErrors = new Counter({ name: `${p}request_errors_total`, help: 'Replies that carried an error code.', labelNames: ['provider', 'type', 'code'], registers });
    this.#duration = new Histogram({
      name: `${p}request_duration_seconds`,
      help: "From a request's arrival at a worker to its acknowledgement.",
      labelNames: ['provider', 'type'],
      buckets: [...DURATION_BUCKETS],
      registers,
    });
    this.#replayed = new Counter({ name: `${p}replayed_total`, help: 'Replies served from the idempotency store (the provider was not called).', labelNames: ['provider'], registers });
    this.#deadLetters = new Counter({ name: `${p}dead_letters_total`, help: "Messages moved to a provider's dead-letter queue, by reason.", labelNames: ['provider', 'reason'], registers });
    this.#handlerErrors = new Counter({ name: `${p}handler_errors_total`, help: "Exceptions thrown by a plugin's handler or status hook.", labelNames: ['provider', 'type', 'hook'], registers });
    this.#restarts = new Counter({ name: `${p}worker_restarts_total`, help: 'Worker processes restarted by the supervisor, by cause.', labelNames: ['cause'], registers });
    this.#reloads = new Counter({ name: `${p}reloads_total`, help: 'Configuration reloads, by outcome.', labelNames: ['outcome'], registers });
    for (const cause of RESTART_CAUSES) this.#restarts.inc({ cause }, 0);
    for (const outcome of RELOAD_OUTCOMES) this.#reloads.inc({ outcome }, 0);
    this.#poolDesired = new Gauge({ name: `${p}pool_desired_workers`, help: 'Worker processes the supervisor wants running.', registers });
    this.#poolReady = new Gauge({ name: `${p}pool_ready_workers`, help: 'Worker processes running and ready.', registers });
    this.#registerPoolGauges();
    if (parsed.data.processMetrics) collectDefaultMetrics({ register: this.#registry, prefix: `${p}supervisor_` });
  }

  /** The gauges computed at scrape time from the latest state of each worker. */
  #registerPoolGauges(): void {
    const workers = this.#workers;
    const registers = [this.#registry];
    new Gauge({
      name: `${METRIC_PREFIX}in_flight`,
      help: 'Requests being processed now, all workers together.',
      registers,
      collect() {
        let sum = 0;
        for (const w of workers.values()) sum += w.inFlight;
        this.set(sum);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}workers`,
      help: 'Worker processes reporting, by broker connection state.',
      labelNames: ['state'],
      registers,
      collect() {
        let connected = 0;
        for (const w of workers.values()) if (w.brokerConnected) connected++;
        this.set({ state: 'connected' }, connected);
        this.set({ state: 'disconnected' }, workers.size - connected);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}breaker_state`,
      help: "Workers whose breaker for a provider endpoint is in each state (every state listed, zeros included).",
      labelNames: ['provider', 'endpoint', 'state'],
      registers,
      collect() {
        // Rebuilt on each scrape: an endpoint no worker reports any more disappears with its last worker.
        this.reset();
        for (const { labels, byState } of breakerCounts(workers)) {
          for (const state of BREAKER_STATES) this.set({ ...labels, state }, byState[state]);
        }
      },
    });
  }

  /** Records a request answered and ACKed by a worker: its status, error code, duration and whether it was a stored reply. */
  recordProcessed(event: ProcessedEvent): void {
    const provider = labelValue(event.provider);
    const type = labelValue(event.type);
    this.#requests.inc({ provider, type, status: labelValue(event.status) });
    // The code is a separate counter, not a label of requests_total: codes multiply the series of every status.
    if (event.code !== undefined) this.#requestErrors.inc({ provider, type, code: labelValue(event.code) });
    // A nonsense duration (NaN, negative) from a confused worker is not observed: it would poison the sum.
    if (Number.isFinite(event.durationMs) && event.durationMs >= 0) this.#duration.observe({ provider, type }, event.durationMs / 1000);
    if (event.replayedFromStore) this.#replayed.inc({ provider });
  }

  /** Records a message moved to a provider's dead-letter queue. */
  recordDeadLetter(event: DeadLetterEvent): void {
    this.#deadLetters.inc({ provider: labelValue(event.provider), reason: labelValue(event.reason) });
  }

  /** Records an exception thrown by a plugin's handler or `status` hook (the error's code and message are not labels). */
  recordHandlerError(event: HandlerErrorEvent): void {
    this.#handlerErrors.inc({ provider: labelValue(event.provider), type: labelValue(event.type), hook: labelValue(event.hook) });
  }

  /** Records the restart of a worker process and why it was needed. */
  recordRestart(cause: RestartCause): void {
    this.#restarts.inc({ cause: labelValue(cause) });
  }

  /** Records how a configuration reload ended. */
  recordReload(outcome: ReloadOutcome): void {
    this.#reloads.inc({ outcome: labelValue(outcome) });
  }

  /**
   * Sets the latest state of one worker process (replacing what `key` had). Only the fields the
   * gauges need are kept, so holding on to the object passed in costs nothing. A breaker whose
   * state is not `closed`, `open` or `half-open` is ignored.
   *
   * @param key the worker process's identity in the pool (e.g. its slot or pid); never a label.
   */
  setWorker(key: string, state: WorkerState): void {
    const breakers = new Map<string, { provider: string; endpoint: string; state: BreakerState }>();
    for (const b of state.breakers) {
      if (!BREAKER_STATES.includes(b.state)) continue;
      const provider = labelValue(b.provider);
      const endpoint = labelValue(b.endpoint);
      breakers.set(`${provider}\0${endpoint}`, { provider, endpoint, state: b.state });
    }
    this.#workers.set(key, { inFlight: count(state.inFlight), brokerConnected: state.brokerConnected === true, breakers });
  }

  /** Forgets a worker process (it exited): the gauges stop counting it; the counters keep its totals. */
  removeWorker(key: string): void {
    this.#workers.delete(key);
  }

  /** Sets the pool's desired and ready worker counts. */
  setPool(state: PoolState): void {
    this.#poolDesired.set(count(state.desired));
    this.#poolReady.set(count(state.ready));
  }

  /** The `Content-Type` of {@link text}'s output (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** Every metric in the Prometheus text exposition format (the gauges are computed now). */
  async text(): Promise<string> {
    return this.#registry.metrics();
  }
}

/** One provider endpoint and how many workers have its breaker in each state. */
interface BreakerCount {
  readonly labels: { readonly provider: string; readonly endpoint: string };
  readonly byState: Record<BreakerState, number>;
}

/** Per provider endpoint, how many workers have its breaker in each state. */
function breakerCounts(workers: ReadonlyMap<string, KeptState>): Iterable<BreakerCount> {
  const byKey = new Map<string, BreakerCount>();
  for (const worker of workers.values()) {
    for (const [key, b] of worker.breakers) {
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = { labels: { provider: b.provider, endpoint: b.endpoint }, byState: { closed: 0, open: 0, 'half-open': 0 } };
        byKey.set(key, entry);
      }
      entry.byState[b.state]++;
    }
  }
  return byKey.values();
}
