import { EventEmitter } from 'node:events';
import { NotSentError, TimeoutError } from './errors.ts';

/**
 * The in-flight table of one gateway: every request waiting for its reply, keyed by the
 * correlation id it was sent with. Pure logic and timers, no broker.
 *
 * Use: `register` **before** sending (a fast reply must find its entry), then send; when a
 * verified reply comes, `settle(correlationId, reply)`; when one is dropped because it failed
 * verification, `noteRejected(correlationId)` (the request keeps waiting; the count goes into
 * its TimeoutError). A reply whose id is unknown (already timed out, aborted, or never ours) is
 * never handed to another caller: `settle` returns false and emits `late-reply` (`late(id)`
 * reports one without settling anything).
 *
 * Abort semantics (decided here): once registered, a request counts as sent or being sent, so an
 * abort cannot tell whether the worker got it. Aborting rejects with a {@link TimeoutError} with
 * `reason: 'aborted'` and `outcome: 'unknown'` (retry with the same idempotency key or ask
 * `status`), and the id is remembered like a timed-out one. An already-aborted signal at `register`
 * rejects with {@link NotSentError} `aborted` and registers nothing (`has(id)` is false): the
 * caller must then not send.
 */

/** What `register` needs besides the correlation id. */
export interface RegisterOptions {
  /** How long to wait for the reply, from now. */
  readonly timeoutMs: number;
  /** Aborts the wait (see the module's abort semantics). */
  readonly signal?: AbortSignal | undefined;
  /** The request document's `id` (for the timeout error). */
  readonly requestId: string;
  /** The request's idempotency key (for the timeout error: the key to retry with). */
  readonly idempotencyKey: string;
}

/** The `late-reply` event: a reply nobody waits for (not opened: its content is not believed). */
export interface LateReply {
  readonly correlationId: string;
  /** True when the id was ours and timed out, was aborted or was rejected at close (and is still remembered). */
  readonly expired: boolean;
}

/** Limits of the table. */
export interface PendingRequestsOptions {
  /** Requests in flight at most; one more is refused with `NotSentError` `overloaded`. Default: unlimited. */
  readonly maxInFlight?: number;
  /** How many timed-out ids are remembered to recognise late replies (oldest forgotten first). Default 10,000. */
  readonly rememberMax?: number;
  /** How long a timed-out id is remembered (ms). Default 10 minutes. */
  readonly rememberMs?: number;
  /** The clock (ms), for tests. Default `Date.now`. */
  readonly now?: () => number;
}

interface Entry<R> {
  readonly resolve: (reply: R) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly options: RegisterOptions;
  readonly onAbort?: () => void;
  /** Replies dropped for this request (they failed verification), for its TimeoutError. */
  rejected: number;
}

export interface PendingRequestsEvents {
  'late-reply': [LateReply];
}

export class PendingRequests<R = unknown> extends EventEmitter<PendingRequestsEvents> {
  readonly #entries = new Map<string, Entry<R>>();
  /** Expired ids → when they are forgotten; insertion order is expiry order. */
  readonly #expired = new Map<string, number>();
  readonly #maxInFlight: number;
  readonly #rememberMax: number;
  readonly #rememberMs: number;
  readonly #now: () => number;
  #closing: Promise<void> | undefined;

  constructor(options: PendingRequestsOptions = {}) {
    super();
    this.#maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
    this.#rememberMax = options.rememberMax ?? 10_000;
    this.#rememberMs = options.rememberMs ?? 600_000;
    this.#now = options.now ?? Date.now;
  }

  /** Requests waiting for their reply. */
  get size(): number {
    return this.#entries.size;
  }

  /** Expired ids currently remembered (bounded by `rememberMax`). */
  get rememberedCount(): number {
    this.#prune();
    return this.#expired.size;
  }

  /** Whether `correlationId` is waiting for its reply. */
  has(correlationId: string): boolean {
    return this.#entries.has(correlationId);
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Waits for the reply to `correlationId`.
   *
   * @returns the reply given to `settle`.
   * @throws TimeoutError (outcome unknown) after `timeoutMs`, on abort, or at `close`'s deadline.
   * @throws NotSentError `closed` after close(), `overloaded` at `maxInFlight`, `aborted` for an
   *   already-aborted signal, `duplicate` for an id already waiting — in these cases nothing is
   *   registered and the request must not be sent.
   */
  register(correlationId: string, options: RegisterOptions): Promise<R> {
    if (this.#closing !== undefined) return Promise.reject(new NotSentError('closed', 'the gateway is closed'));
    if (this.#entries.has(correlationId)) {
      return Promise.reject(new NotSentError('duplicate', `correlation id ${correlationId} is already in flight`));
    }
    if (this.#entries.size >= this.#maxInFlight) {
      return Promise.reject(new NotSentError('overloaded', `${this.#entries.size} requests in flight (maxInFlight)`));
    }
    const { signal } = options;
    if (signal?.aborted === true) {
      return Promise.reject(new NotSentError('aborted', 'aborted before sending', { cause: signal.reason }));
    }
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#expire(correlationId, (rejectedReplies) => new TimeoutError({ reason: 'timeout', ...ids(options), timeoutMs: options.timeoutMs, rejectedReplies }));
      }, options.timeoutMs);
      const onAbort =
        signal === undefined
          ? undefined
          : () =>
              this.#expire(correlationId, (rejectedReplies) => new TimeoutError({ reason: 'aborted', ...ids(options), rejectedReplies }, { cause: signal.reason }));
      if (signal !== undefined && onAbort !== undefined) signal.addEventListener('abort', onAbort, { once: true });
      this.#entries.set(correlationId, { resolve, reject, timer, options, rejected: 0, ...(onAbort === undefined ? {} : { onAbort }) });
    });
  }

  /**
   * Hands `reply` to the caller waiting on `correlationId`.
   *
   * @returns true if a caller was waiting; false (and a `late-reply` event) for an id that timed
   *   out, was aborted, or was never ours. The reply is then delivered to nobody.
   */
  settle(correlationId: string, reply: R): boolean {
    const entry = this.#remove(correlationId);
    if (entry === undefined) {
      this.late(correlationId);
      return false;
    }
    entry.resolve(reply);
    return true;
  }

  /** Reports a reply to `correlationId` that nobody will take, as a `late-reply` event. */
  late(correlationId: string): void {
    this.#prune();
    this.emit('late-reply', { correlationId, expired: this.#expired.has(correlationId) });
  }

  /**
   * Counts a reply to `correlationId` that was dropped (it failed verification) while the request
   * keeps waiting; the count goes into its TimeoutError. Returns false when the id is not waiting.
   */
  noteRejected(correlationId: string): boolean {
    const entry = this.#entries.get(correlationId);
    if (entry === undefined) return false;
    entry.rejected += 1;
    return true;
  }

  /** The replies dropped so far for a waiting request (0 when it is not waiting). */
  rejectedOf(correlationId: string): number {
    return this.#entries.get(correlationId)?.rejected ?? 0;
  }

  /**
   * Fails one waiting request with `error` (e.g. the send was refused, or its reply could not be
   * verified). Returns false when the id is not waiting. The id is not remembered as late.
   */
  fail(correlationId: string, error: Error): boolean {
    const entry = this.#remove(correlationId);
    if (entry === undefined) return false;
    entry.reject(error);
    return true;
  }

  /**
   * Stops accepting requests (later `register` calls reject with `NotSentError` `closed`), waits
   * up to `deadlineMs` for the requests in flight, then rejects those still waiting with
   * `TimeoutError` `closed` (outcome unknown). Resolves when the table is empty. Calling it again
   * returns the same promise.
   */
  close(deadlineMs: number): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#entries.size === 0) {
        resolve();
        return;
      }
      const deadline = setTimeout(() => {
        for (const [id, entry] of [...this.#entries]) {
          this.#expire(id, (rejectedReplies) => new TimeoutError({ reason: 'closed', ...ids(entry.options), rejectedReplies }));
        }
        resolve();
      }, deadlineMs);
      this.#onEmpty = () => {
        clearTimeout(deadline);
        resolve();
      };
    });
    return this.#closing;
  }

  #onEmpty: (() => void) | undefined;

  #remove(correlationId: string): Entry<R> | undefined {
    const entry = this.#entries.get(correlationId);
    if (entry === undefined) return undefined;
    this.#entries.delete(correlationId);
    clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.options.signal?.removeEventListener('abort', entry.onAbort);
    if (this.#entries.size === 0 && this.#onEmpty !== undefined) {
      const done = this.#onEmpty;
      this.#onEmpty = undefined;
      queueMicrotask(done);
    }
    return entry;
  }

  #expire(correlationId: string, error: (rejectedReplies: number) => TimeoutError): void {
    const entry = this.#remove(correlationId);
    if (entry === undefined) return;
    this.#remember(correlationId);
    entry.reject(error(entry.rejected));
  }

  #remember(correlationId: string): void {
    this.#prune();
    this.#expired.delete(correlationId);
    this.#expired.set(correlationId, this.#now() + this.#rememberMs);
    while (this.#expired.size > this.#rememberMax) {
      const oldest = this.#expired.keys().next();
      if (oldest.done === true) break;
      this.#expired.delete(oldest.value);
    }
  }

  /** Forgets expired ids whose time is up (they are in expiry order). */
  #prune(): void {
    const now = this.#now();
    for (const [id, until] of this.#expired) {
      if (until > now) break;
      this.#expired.delete(id);
    }
  }
}

function ids(options: RegisterOptions): { requestId: string; idempotencyKey: string } {
  return { requestId: options.requestId, idempotencyKey: options.idempotencyKey };
}
