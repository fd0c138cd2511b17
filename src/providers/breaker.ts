import CircuitBreaker from 'opossum';
import * as z from 'zod';
import { nameSchema, schemaInvalid } from '../wire/index.ts';
import { ProviderError } from './errors.ts';
import { TransportError } from './transport-errors.ts';

/**
 * Circuit breakers for provider calls: one opossum `CircuitBreaker` per provider
 * endpoint (provider name + the endpoint URL's origin), a bulkhead per provider, and counts and
 * state changes for metrics. Only {@link TransportError}s count as failures; while a breaker is
 * open, or its provider's bulkhead is full, calls are refused at once with
 * `PROVIDER_UNAVAILABLE` (`notSent: true`) and the provider is not called.
 */

/**
 * Breaker options, validated and defaulted here and nowhere else. Unknown keys are refused, so a
 * typo does not silently fall back to a default.
 *
 * - `errorThresholdPercentage` (default 50): the breaker opens when more than this share of the
 *   calls in the rolling window failed with a `TransportError` …
 * - `volumeThreshold` (default 10): … and the window holds at least this many calls (so one
 *   failure among the first calls does not open it).
 * - `rollingCountTimeout` (default 10 000 ms) / `rollingCountBuckets` (default 10): the rolling
 *   window and how many slices it is counted in.
 * - `resetTimeout` (default 30 000 ms): how long an open breaker refuses calls before it lets one
 *   trial call through (half-open); that call's success closes it, its failure re-opens it.
 * - `capacity` (default 20): the bulkhead, the most calls in flight at once to one provider
 *   (all its endpoints together); the next one is refused at once.
 * - `timeout` (default `false`: none): opossum's own call timeout. Off by default because the
 *   transport owns per-call timeouts: opossum's timeout rejects while the call keeps running, and
 *   it cannot know whether the request was already written. Reported as "unavailable" it would
 *   turn a request the provider may have acted on into a fake "not sent" (a double charge on
 *   retry); the transport knows the difference (`PROVIDER_UNAVAILABLE` before sending,
 *   `PROVIDER_TIMEOUT` after). When set anyway, its expiry aborts the `signal` given to the call
 *   and is reported as `PROVIDER_TIMEOUT` (`notSent: false`: the outcome is unknown) and counts
 *   as a failure.
 */
export const breakerOptionsSchema = z
  .strictObject({
    errorThresholdPercentage: z.number().min(1).max(99).default(50),
    volumeThreshold: z.int().min(0).max(1_000_000).default(10),
    rollingCountTimeout: z.int().min(10).max(86_400_000).default(10_000),
    rollingCountBuckets: z.int().min(1).max(1_000).default(10),
    resetTimeout: z.int().min(1).max(86_400_000).default(30_000),
    capacity: z.int().min(1).max(100_000).default(20),
    timeout: z.union([z.literal(false), z.int().min(1).max(86_400_000)]).default(false),
  })
  .refine((o) => o.rollingCountTimeout >= o.rollingCountBuckets, {
    path: ['rollingCountBuckets'],
    message: 'must not exceed rollingCountTimeout (each bucket covers at least 1 ms)',
  });

/** Breaker options as written (every field optional). */
export type BreakerOptionsInput = z.input<typeof breakerOptionsSchema>;
/** Breaker options with every default filled in. */
export type BreakerOptions = z.output<typeof breakerOptionsSchema>;

/** The defaults of {@link breakerOptionsSchema}. */
export const BREAKER_DEFAULTS: Readonly<BreakerOptions> = Object.freeze(breakerOptionsSchema.parse({}));

/**
 * Validates breaker options and fills in the defaults.
 *
 * @throws ProviderError `PROVIDER_INVALID` naming each bad field (the options are part of a plugin definition).
 */
export function parseBreakerOptions(input: unknown, what = 'breaker options'): BreakerOptions {
  const parsed = breakerOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ProviderError('PROVIDER_INVALID', schemaInvalid(what, parsed.error).message);
  return parsed.data;
}

/** A breaker's state, as metrics and events report it. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Counts and state of one endpoint's breaker. Counts are totals since the breaker was created. */
export interface BreakerSnapshot {
  readonly provider: string;
  /** The endpoint's URL origin (`https://host:port`). */
  readonly endpoint: string;
  readonly state: BreakerState;
  /** Calls whose function resolved (declines included: a decline is an answer). */
  readonly successes: number;
  /** Calls that failed with a `TransportError` (or opossum's `timeout`): what opens the breaker. */
  readonly failures: number;
  /** Calls that failed otherwise (a plugin bug, or the caller's signal aborted): never counted against the provider. */
  readonly ignored: number;
  /** Calls refused at once because the breaker was open (or half-open with its trial call in flight). */
  readonly rejects: number;
  /** Calls refused at once because the provider's bulkhead (`capacity`) was full. */
  readonly bulkheadRejects: number;
  /** Calls ended by opossum's `timeout` (always 0 unless that option is set); included in `failures`. */
  readonly timeouts: number;
  /** Calls to this endpoint running now. */
  readonly inFlight: number;
}

/** The `state-change` event: one endpoint's breaker moved from one state to another. */
export interface BreakerStateChange {
  readonly provider: string;
  readonly endpoint: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
}

/** Options of {@link BreakerRegistry.call}. */
export interface BreakerCallOptions {
  /** The caller's signal (the worker's request signal): passed to the function; a failure after it aborted is not the provider's. */
  readonly signal?: AbortSignal;
}

/** One call as opossum sees it: the function, the signal it gets, and the caller's own signal. */
interface PendingCall {
  readonly fn: (signal: AbortSignal) => Promise<unknown>;
  readonly signal: AbortSignal;
  readonly callerSignal: AbortSignal | undefined;
}

type Counts = { -readonly [K in 'successes' | 'failures' | 'ignored' | 'rejects' | 'bulkheadRejects' | 'timeouts' | 'inFlight']: number };

interface Entry {
  readonly provider: string;
  readonly endpoint: string;
  readonly options: BreakerOptions;
  readonly breaker: CircuitBreaker<[PendingCall], unknown>;
  state: BreakerState;
  /** When the breaker last opened (ms since the epoch). */
  openedAt: number;
  readonly counts: Counts;
}

const opossumCode = (error: unknown): string | undefined =>
  error instanceof Error && CircuitBreaker.isOurError(error) ? String((error as { code?: unknown }).code) : undefined;

/**
 * What decides whether a failed call counts against the provider (opossum's `errorFilter`: true
 * means "not a failure"). Only a `TransportError` (and opossum's own timeout, when configured)
 * counts. A decline is a normal return and never gets here; any other exception is a plugin bug
 * (or a malformed outcome) and says nothing about the provider's health, so it does not open the
 * breaker; neither does a failure after the caller's signal aborted (the request expired or the
 * worker is stopping). Opossum counts a filtered error as a success: on a half-open trial it
 * closes the breaker, and TransportErrors re-open it if the provider is still down.
 */
function ignoredByBreaker(error: unknown, callerSignal: AbortSignal | undefined): boolean {
  if (opossumCode(error) === 'ETIMEDOUT') return false;
  if (callerSignal?.aborted === true) return true;
  return !(error instanceof TransportError);
}

function endpointOrigin(endpoint: string | URL): string {
  let origin: string;
  try {
    origin = new URL(endpoint).origin;
  } catch {
    origin = 'null';
  }
  // Never echo the URL: it may carry credentials (user:password@host).
  if (origin === 'null') throw new TypeError('breaker endpoint must be an absolute http(s) URL');
  return origin;
}

const NEVER_ABORTED = new AbortController().signal;

/**
 * The breakers of one process: one per provider endpoint, created on first use, with options per
 * provider ({@link BreakerRegistry.configure}) over the registry's defaults. Call
 * {@link BreakerRegistry.shutdown} when done: it stops every breaker's timers.
 */
export class BreakerRegistry {
  readonly #defaults: BreakerOptionsInput;
  readonly #defaultOptions: BreakerOptions;
  readonly #perProvider = new Map<string, BreakerOptions>();
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, number>();
  readonly #listeners = new Set<(change: BreakerStateChange) => void>();
  #shutdown = false;

  /** @param defaults options for every provider not {@link configure}d otherwise (validated now). */
  constructor(defaults: BreakerOptionsInput = {}) {
    this.#defaultOptions = parseBreakerOptions(defaults, 'default breaker options');
    this.#defaults = { ...defaults };
  }

  /**
   * Sets a provider's breaker options (over the registry's defaults), before its first call.
   *
   * @throws ProviderError `PROVIDER_INVALID` for bad options; Error when the provider already has a breaker.
   */
  configure(provider: string, options: BreakerOptionsInput): void {
    if ([...this.#entries.values()].some((e) => e.provider === provider)) {
      throw new Error(`provider ${provider}: breaker options must be set before its first call`);
    }
    this.#perProvider.set(provider, parseBreakerOptions({ ...this.#defaults, ...options }, `breaker options of ${provider}`));
  }

  /**
   * Runs `fn` through the breaker of `provider`'s `endpoint` (keyed by the URL's origin).
   *
   * Resolves with what `fn` resolved with; rejects with what `fn` threw (its `TransportError`s
   * count against the endpoint). Refuses at once, without calling `fn`, with
   * `TransportError('PROVIDER_UNAVAILABLE', …, { notSent: true })` while the breaker is open (the
   * message says when it tries again), while a half-open trial call is in flight, when the
   * provider's bulkhead is full, or after {@link shutdown}. Rejects with the signal's reason,
   * without calling `fn`, if `options.signal` has already aborted.
   */
  async call<T>(
    provider: string,
    endpoint: string | URL,
    fn: (signal: AbortSignal) => Promise<T>,
    options: BreakerCallOptions = {},
  ): Promise<T> {
    const entry = this.#entryFor(provider, endpoint);
    options.signal?.throwIfAborted();
    const { breaker, counts } = entry;
    const runs = breaker.closed || breaker.pendingClose;
    if (runs && (this.#inFlight.get(provider) ?? 0) >= entry.options.capacity) {
      counts.bulkheadRejects++;
      throw unavailable(entry, `bulkhead full (${entry.options.capacity} calls in flight); retry when one finishes`);
    }
    const timeout = entry.options.timeout === false ? undefined : new AbortController();
    const callerSignal = options.signal;
    const signal = timeout === undefined ? (callerSignal ?? NEVER_ABORTED) : AbortSignal.any([callerSignal ?? NEVER_ABORTED, timeout.signal]);
    if (runs) this.#track(entry, +1);
    try {
      const value = await breaker.fire({ fn, signal, callerSignal });
      counts.successes++;
      return value as T;
    } catch (error) {
      throw this.#failed(entry, error, timeout, callerSignal);
    } finally {
      if (runs) this.#track(entry, -1);
    }
  }

  /** Counts a failed call and turns opossum's own refusals into `TransportError`s. */
  #failed(entry: Entry, error: unknown, timeout: AbortController | undefined, callerSignal: AbortSignal | undefined): unknown {
    const { counts } = entry;
    switch (opossumCode(error)) {
      case 'EOPENBREAKER':
        counts.rejects++;
        return unavailable(entry, this.#whenRetried(entry));
      case 'ESEMLOCKED': // not reached: the registry's own bulkhead check comes first
        counts.bulkheadRejects++;
        return unavailable(entry, 'bulkhead full; retry when a call finishes');
      case 'ESHUTDOWN':
        return unavailable(entry, 'the breakers are shut down');
      case 'ETIMEDOUT': {
        counts.timeouts++;
        counts.failures++;
        const reason = new TransportError('PROVIDER_TIMEOUT', `provider ${entry.provider}: no answer from ${entry.endpoint} within ${String(entry.options.timeout)} ms (breaker timeout); the call was aborted and its outcome is unknown`);
        timeout?.abort(reason);
        return reason;
      }
      default:
        if (ignoredByBreaker(error, callerSignal)) counts.ignored++;
        else counts.failures++;
        return error;
    }
  }

  #whenRetried(entry: Entry): string {
    if (entry.state === 'half-open') return 'breaker half-open, its trial call is in flight; retry in a moment';
    const at = entry.openedAt + entry.options.resetTimeout;
    const seconds = Math.max(0, Math.ceil((at - Date.now()) / 1000));
    return `breaker open after repeated transport failures; it lets a trial call through at ${new Date(at).toISOString()} (in ${seconds} s)`;
  }

  #track(entry: Entry, delta: 1 | -1): void {
    entry.counts.inFlight += delta;
    this.#inFlight.set(entry.provider, (this.#inFlight.get(entry.provider) ?? 0) + delta);
  }

  #entryFor(provider: string, endpoint: string | URL): Entry {
    const origin = endpointOrigin(endpoint);
    const key = `${provider} ${origin}`;
    const known = this.#entries.get(key);
    if (known !== undefined) return known;
    if (!nameSchema.safeParse(provider).success) throw new TypeError('breaker provider must be a provider name (the wire name rule)');
    if (this.#shutdown) {
      throw new TransportError('PROVIDER_UNAVAILABLE', `provider ${provider}: not called, the breakers are shut down`, { notSent: true });
    }
    const options = this.#perProvider.get(provider) ?? this.#defaultOptions;
    const entry = this.#create(provider, origin, options);
    this.#entries.set(key, entry);
    return entry;
  }

  #create(provider: string, endpoint: string, options: BreakerOptions): Entry {
    const breaker = new CircuitBreaker<[PendingCall], unknown>((call) => call.fn(call.signal), {
      name: `${provider} ${endpoint}`,
      timeout: options.timeout,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      rollingCountTimeout: options.rollingCountTimeout,
      rollingCountBuckets: options.rollingCountBuckets,
      resetTimeout: options.resetTimeout,
      capacity: options.capacity,
      // Typed `(err) => boolean` in @types/opossum; opossum passes the call's arguments after the error.
      errorFilter: ((error: unknown, call?: PendingCall) => ignoredByBreaker(error, call?.callerSignal)) as (error: unknown) => boolean,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    const counts: Counts = { successes: 0, failures: 0, ignored: 0, rejects: 0, bulkheadRejects: 0, timeouts: 0, inFlight: 0 };
    const entry: Entry = { provider, endpoint, options, breaker, state: 'closed', openedAt: 0, counts };
    const move = (to: BreakerState) => () => {
      const from = entry.state;
      if (to === 'open') entry.openedAt = Date.now();
      if (from === to) return;
      entry.state = to;
      this.#emit({ provider, endpoint, from, to });
    };
    breaker.on('open', move('open'));
    breaker.on('halfOpen', move('half-open'));
    breaker.on('close', move('closed'));
    return entry;
  }

  #emit(change: BreakerStateChange): void {
    for (const listener of this.#listeners) {
      // A listener runs inside opossum's bookkeeping: one that throws must not break the call.
      try {
        listener(change);
      } catch (error) {
        process.emitWarning(`breaker state-change listener threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** Subscribes to `state-change` events ({@link BreakerStateChange}); returns the unsubscribe function. */
  on(event: 'state-change', listener: (change: BreakerStateChange) => void): () => void {
    if (event !== 'state-change') throw new TypeError(`unknown breaker event ${String(event)}`);
    this.#listeners.add(listener);
    return () => this.off(event, listener);
  }

  /** Removes a `state-change` listener. */
  off(event: 'state-change', listener: (change: BreakerStateChange) => void): void {
    if (event === 'state-change') this.#listeners.delete(listener);
  }

  /** The state and counts of every endpoint's breaker, in creation order (for metrics). */
  snapshot(): BreakerSnapshot[] {
    return [...this.#entries.values()].map((e) => Object.freeze({ provider: e.provider, endpoint: e.endpoint, state: e.state, ...e.counts }));
  }

  /** Whether {@link shutdown} was called. */
  get isShutdown(): boolean {
    return this.#shutdown;
  }

  /**
   * Shuts every breaker down (opossum's `shutdown()`: its rolling-window interval and reset timer
   * are cleared), so the process can exit. Later calls are refused with `PROVIDER_UNAVAILABLE`;
   * calls in flight finish normally. Idempotent.
   */
  shutdown(): void {
    this.#shutdown = true;
    for (const entry of this.#entries.values()) entry.breaker.shutdown();
  }
}

function unavailable(entry: Entry, why: string): TransportError {
  return new TransportError('PROVIDER_UNAVAILABLE', `provider ${entry.provider}: not called, ${why} (${entry.endpoint})`, { notSent: true });
}
