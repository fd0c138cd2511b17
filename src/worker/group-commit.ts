/**
 * Group commit for the idempotency store. Every store write gates an outside effect (the provider
 * call, the reply and ACK), so each must be on disk (`synchronous=FULL`: an fsync) before the
 * worker goes on; but SQLite calls are synchronous, and one fsync per write per message blocked
 * the event loop for most of a round trip under load (measured: ~2 ms of the worker's ~3 ms per
 * request, three commits each; docs/benchmarks.md).
 *
 * So the worker does not call the store directly. Every operation asked for during one turn of
 * the event loop is queued, and at `setImmediate` the queue runs in ONE transaction: one commit,
 * one fsync for all the messages in flight. Each caller's promise settles only after that commit,
 * so "durable before the effect" still holds for every one of them; a single message in flight
 * pays one `setImmediate` of latency. An operation that throws (e.g. `IDEMPOTENCY_NOT_HELD`) is
 * rolled back alone (a savepoint); a failed commit rejects every operation of the batch with
 * `STORE_FAILED`, and none of them took effect.
 *
 * It also tells its owner when writes start failing and when they work again (the worker then
 * refuses requests at once rather than NACKing them into a loop, and reports itself unhealthy).
 */
import type {
  AbandonInput, BeginInput, BeginResult, CompleteInput, CompleteResult, IdempotencyStore, PurgeResult, TakeOverInput,
} from './idempotency-store.ts';
import type { RecordedAnswer } from './request-answers.ts';
import { WorkerError } from './errors.ts';

/** What {@link GroupCommitStore.claim} is asked. */
export interface ClaimInput {
  readonly requestId: string;
  /** Epoch ms of the request's `expires_at`. */
  readonly expiresAt: number;
  /** The idempotency claim of the request. */
  readonly begin: BeginInput;
}

/** What {@link GroupCommitStore.claim} found. */
export type ClaimResult =
  /** The request id was answered before: send this answer again; nothing was claimed. */
  | { readonly kind: 'answered'; readonly reply: Buffer }
  /** The id is new, or seen but never answered: what `begin` found for its key. */
  | { readonly kind: 'begun'; readonly begun: BeginResult };

interface Pending {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** What the store's owner hears about its health. */
export interface StoreHealthListener {
  /** A write failed (`STORE_FAILED`: a full disk, an I/O error, a lock timeout…); called on each failing batch. */
  readonly onFailure?: (error: WorkerError) => void;
  /** A batch committed cleanly after a failure. */
  readonly onRecovery?: () => void;
}

/** The store operations the worker makes, each resolved once its batch is committed. */
export class GroupCommitStore {
  readonly #store: IdempotencyStore;
  readonly #health: StoreHealthListener;
  #queue: Pending[] = [];
  #scheduled = false;
  #failure: WorkerError | undefined;

  constructor(store: IdempotencyStore, health: StoreHealthListener = {}) {
    this.#store = store;
    this.#health = health;
  }

  /** The last store failure, until a batch commits cleanly again; undefined while the store works. */
  get failure(): WorkerError | undefined {
    return this.#failure;
  }

  /** A small write of its own (`IdempotencyStore.probe`), committed with its batch: whether the store takes writes again. */
  probe(now?: number): Promise<void> {
    return this.#enqueue(() => this.#store.probe(now));
  }

  /** The store's lease: how long an in-progress entry is presumed to belong to a live worker. */
  get leaseMs(): number {
    return this.#store.options.leaseMs;
  }

  /** {@link IdempotencyStore.seenRequest}, committed with its batch. */
  seenRequest(requestId: string, expiresAt: number): Promise<boolean> {
    return this.#enqueue(() => this.#store.seenRequest(requestId, expiresAt));
  }

  /** {@link IdempotencyStore.begin}, committed with its batch. */
  begin(input: BeginInput): Promise<BeginResult> {
    return this.#enqueue(() => this.#store.begin(input));
  }

  /**
   * The replay check and the idempotency claim of one request in ONE operation (one commit
   * between them and the provider call): records `requestId` as seen; when an answer is recorded
   * for it, stops there (`answered`, nothing claimed); otherwise claims the key with `begin`. The
   * decision rests on the store alone, never on a frame header. A failure rejects the whole
   * claim: nothing may be called.
   */
  claim(input: ClaimInput): Promise<ClaimResult> {
    // While writes fail (a full disk, an I/O error), a claim is refused at once without touching
    // the file: only the probe finds out when the store works again.
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return this.atomic((store): ClaimResult => {
      const seen = store.markSeen(input.requestId, input.expiresAt);
      if (seen.answer !== undefined) return { kind: 'answered', reply: seen.answer };
      return { kind: 'begun', begun: store.begin(input.begin) };
    });
  }

  /** {@link IdempotencyStore.recordAnswer}, committed with its batch. */
  recordAnswer(input: Parameters<IdempotencyStore['recordAnswer']>[0]): Promise<RecordedAnswer> {
    return this.#enqueue(() => this.#store.recordAnswer(input));
  }

  /** {@link IdempotencyStore.replyFailed}, committed with its batch. */
  replyFailed(requestId: string, expiresAt: number): Promise<number> {
    return this.#enqueue(() => this.#store.replyFailed(requestId, expiresAt));
  }

  /**
   * Several store calls as ONE operation of the batch: `operations` runs inside a savepoint, so
   * either all of its writes commit (with the batch) or, when it throws, none of them.
   */
  atomic<T>(operations: (store: IdempotencyStore) => T): Promise<T> {
    return this.#enqueue(() => this.#store.savepoint(() => operations(this.#store)));
  }

  /** {@link IdempotencyStore.complete}, committed with its batch. */
  complete(input: CompleteInput): Promise<CompleteResult> {
    return this.#enqueue(() => this.#store.complete(input));
  }

  /** {@link IdempotencyStore.abandon}, committed with its batch. */
  abandon(input: AbandonInput): Promise<void> {
    return this.#enqueue(() => this.#store.abandon(input));
  }

  /** {@link IdempotencyStore.takeOver}, committed with its batch. */
  takeOver(input: TakeOverInput): Promise<boolean> {
    return this.#enqueue(() => this.#store.takeOver(input));
  }

  /** {@link IdempotencyStore.purge}, committed with its batch. */
  purge(now?: number): Promise<PurgeResult> {
    return this.#enqueue(() => this.#store.purge(now));
  }

  /** Operations waiting for their batch. */
  get pending(): number {
    return this.#queue.length;
  }

  #enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.#store.transaction(() => {
        for (const op of batch) {
          try {
            outcomes.push({ ok: true, value: op.run() });
          } catch (error) {
            outcomes.push({ ok: false, value: error });
          }
        }
      });
    } catch (error) {
      this.#observe(error);
      for (const op of batch) op.reject(error);
      return;
    }
    this.#observe(outcomes.find((outcome) => !outcome.ok && isStoreFailure(outcome.value))?.value);
    batch.forEach((op, i) => {
      const outcome = outcomes[i] as { ok: boolean; value: unknown };
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.value);
    });
  }

  /** Tells the listener: a batch failed with `error` (a store failure), or committed cleanly (`undefined`). */
  #observe(error: unknown): void {
    if (isStoreFailure(error)) {
      this.#failure = error;
      this.#notify(() => this.#health.onFailure?.(error));
    } else if (error === undefined && this.#failure !== undefined) {
      this.#failure = undefined;
      this.#notify(() => this.#health.onRecovery?.());
    }
  }

  /** A listener that throws must not fail the batch's callers. */
  #notify(call: () => void): void {
    try {
      call();
    } catch {
      // The worker's listeners report on their own; nothing else to do here.
    }
  }
}

/**
 * A failure that makes the store unusable until something changes (a full disk, an I/O error,
 * a read-only file). Not a lock timeout (SQLITE_BUSY, SQLITE_LOCKED: another process held the
 * write lock past `busyTimeoutMs`): that is contention, which clears by itself, so the message
 * is NACKed and redelivered as after any single failed write.
 */
function isStoreFailure(error: unknown): error is WorkerError {
  if (!(error instanceof WorkerError) || error.code !== 'STORE_FAILED') return false;
  const cause = (error.cause as { code?: unknown } | undefined)?.code;
  return !(typeof cause === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(cause));
}
