/**
 * The SQLite engine of the worker's store ({@link WorkerStore}): the per-host file of
 * `idempotency-store.ts`, behind group commit.
 *
 * Every store write gates an outside effect (the provider call, the reply and ACK), so each must
 * be on disk (`synchronous=FULL`: an fsync) before the worker goes on; but SQLite calls are
 * synchronous, and one fsync per write per message blocked the event loop for most of a round
 * trip under load (measured: ~2 ms of the worker's ~3 ms per request, three commits each;
 * docs/benchmarks.md).
 *
 * So the worker does not call the file directly. Every operation asked for during one turn of
 * the event loop is queued, and at `setImmediate` the queue runs in ONE transaction: one commit,
 * one fsync for all the messages in flight. Each caller's promise settles only after that commit,
 * so "durable before the effect" still holds for every one of them; a single message in flight
 * pays one `setImmediate` of latency. Each operation is a savepoint: one that throws (e.g.
 * `IDEMPOTENCY_NOT_HELD`) is rolled back alone; a failed commit rejects every operation of the
 * batch with `STORE_FAILED`, and none of them took effect.
 *
 * An operation of the batch may be asynchronous (`atomic`: several calls in one unit), but it
 * must await nothing but the store calls it is given, which run synchronously on the file: the
 * batch holds the file's write lock until its last operation settles.
 *
 * It also tells its owner when writes start failing and when they work again (the worker then
 * refuses requests at once rather than NACKing them into a loop, and reports itself unhealthy).
 */
import { WorkerError } from './errors.ts';
import {
  IdempotencyStore,
  type AbandonInput, type BeginInput, type BeginResult, type CompleteInput, type CompleteResult, type IdempotencyStoreOptions,
  type PurgeResult, type TakeOverInput,
} from './idempotency-store.ts';
import type { RecordedAnswer, SeenResult } from './request-answers.ts';
import {
  claimWith, StoreHealth,
  type ClaimInput, type ClaimResult, type RecordAnswerInput, type StoreHealthListener, type StoreOperations, type StoreTimings, type WorkerStore,
} from './store-engine.ts';

export type { ClaimInput, ClaimResult, StoreHealthListener } from './store-engine.ts';

type Operation = (tx: StoreOperations) => Promise<unknown>;

interface Pending {
  readonly run: Operation;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** The store's operations on the file, each run at once (inside the batch's transaction). */
function operationsOn(store: IdempotencyStore): StoreOperations {
  const now = <T>(call: () => T): Promise<T> => {
    try {
      return Promise.resolve(call());
    } catch (error) {
      return Promise.reject(error as Error);
    }
  };
  return {
    begin: (input) => now(() => store.begin(input)),
    complete: (input) => now(() => store.complete(input)),
    abandon: (input) => now(() => store.abandon(input)),
    takeOver: (input) => now(() => store.takeOver(input)),
    markSeen: (requestId, expiresAt) => now(() => store.markSeen(requestId, expiresAt)),
    answerOf: (requestId) => now(() => store.answerOf(requestId)),
    recordAnswer: (input) => now(() => store.recordAnswer(input)),
    replyFailed: (requestId, expiresAt) => now(() => store.replyFailed(requestId, expiresAt)),
  };
}

/** The SQLite engine: the store operations the worker makes, each resolved once its batch is committed. */
export class GroupCommitStore implements WorkerStore {
  readonly engine = 'sqlite';
  readonly #store: IdempotencyStore;
  readonly #tx: StoreOperations;
  readonly #health: StoreHealth;
  #queue: Pending[] = [];
  #scheduled = false;
  /** The batches, one after another: a batch still committing (an operation awaiting) goes first. */
  #batches: Promise<void> = Promise.resolve();

  constructor(store: IdempotencyStore, health: StoreHealthListener = {}) {
    this.#store = store;
    this.#tx = operationsOn(store);
    this.#health = new StoreHealth(health);
  }

  /** Opens the SQLite file (`IdempotencyStore.open`) behind group commit. */
  static open(options: IdempotencyStoreOptions, health: StoreHealthListener = {}): GroupCommitStore {
    return new GroupCommitStore(IdempotencyStore.open(options), health);
  }

  get timings(): StoreTimings {
    const { retentionMs, leaseMs, replayMarginMs } = this.#store.options;
    return { retentionMs, leaseMs, replayMarginMs };
  }

  /** The file's path. */
  get path(): string {
    return this.#store.options.path;
  }

  get failure(): WorkerError | undefined {
    return this.#health.failure;
  }

  probe(now?: number): Promise<void> {
    return this.#enqueue(() => Promise.resolve(this.#store.probe(now)));
  }

  purge(now?: number): Promise<PurgeResult> {
    return this.#enqueue(() => Promise.resolve(this.#store.purge(now)));
  }

  begin(input: BeginInput): Promise<BeginResult> {
    return this.#enqueue((tx) => tx.begin(input));
  }

  complete(input: CompleteInput): Promise<CompleteResult> {
    return this.#enqueue((tx) => tx.complete(input));
  }

  abandon(input: AbandonInput): Promise<void> {
    return this.#enqueue((tx) => tx.abandon(input));
  }

  takeOver(input: TakeOverInput): Promise<boolean> {
    return this.#enqueue((tx) => tx.takeOver(input));
  }

  markSeen(requestId: string, expiresAt: number): Promise<SeenResult> {
    return this.#enqueue((tx) => tx.markSeen(requestId, expiresAt));
  }

  answerOf(requestId: string): Promise<Buffer | undefined> {
    return this.#enqueue((tx) => tx.answerOf(requestId));
  }

  recordAnswer(input: RecordAnswerInput): Promise<RecordedAnswer> {
    return this.#enqueue((tx) => tx.recordAnswer(input));
  }

  replyFailed(requestId: string, expiresAt: number): Promise<number> {
    return this.#enqueue((tx) => tx.replyFailed(requestId, expiresAt));
  }

  claim(input: ClaimInput): Promise<ClaimResult> {
    // While writes fail (a full disk, an I/O error), a claim is refused at once without touching
    // the file: only the probe finds out when the store works again.
    const failure = this.#health.failure;
    if (failure !== undefined) return Promise.reject(failure);
    return this.atomic((tx) => claimWith(tx, input));
  }

  atomic<T>(operations: (tx: StoreOperations) => Promise<T>): Promise<T> {
    return this.#enqueue(operations);
  }

  /** Operations waiting for their batch. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Waits for every operation asked for before it (the batch being committed and those queued
   * for the next), then closes the file; later calls fail with `STORE_FAILED`.
   */
  async close(): Promise<void> {
    while (this.#scheduled || this.#queue.length > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await this.#batches;
    }
    await this.#batches;
    this.#store.close();
  }

  #enqueue<T>(run: (tx: StoreOperations) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          // #flush never rejects; the handler keeps the chain alive should that ever change.
          const flush = (): Promise<void> => this.#flush();
          this.#batches = this.#batches.then(flush, flush);
        });
      }
    });
  }

  /** Runs the queued operations in one transaction; never rejects (each caller hears its own outcome). */
  async #flush(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      await this.#store.transactionAsync(async () => {
        for (const op of batch) {
          try {
            outcomes.push({ ok: true, value: await this.#store.savepointAsync(() => op.run(this.#tx)) });
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
    if (isStoreFailure(error)) this.#health.failed(error);
    else if (error === undefined) this.#health.succeeded();
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
