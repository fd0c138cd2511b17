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
 */
import type {
  AbandonInput, BeginInput, BeginResult, CompleteInput, CompleteResult, IdempotencyStore, PurgeResult, TakeOverInput,
} from './idempotency-store.ts';

/** What {@link GroupCommitStore.claim} is asked. */
export interface ClaimInput {
  readonly requestId: string;
  /** Epoch ms of the request's `expires_at`. */
  readonly expiresAt: number;
  /** The broker says it delivered this message before (a redelivery is not a replay). */
  readonly redelivery: boolean;
  /** The idempotency claim, for a request that will reach the plugin; absent for `ping` and refusals. */
  readonly begin?: BeginInput;
}

/** What {@link GroupCommitStore.claim} found. */
export interface ClaimResult {
  /** The request id was seen before and this is no redelivery: refuse it; nothing was claimed. */
  readonly replayed: boolean;
  /** What `begin` found, when it was asked and the request is no replay. */
  readonly begun?: BeginResult;
}

interface Pending {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** The store operations the worker makes, each resolved once its batch is committed. */
export class GroupCommitStore {
  readonly #store: IdempotencyStore;
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(store: IdempotencyStore) {
    this.#store = store;
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
   * Replay check and idempotency claim of one request in ONE operation (one commit between them
   * and the provider call, not two): records `requestId` as seen; when it was seen before and this
   * is not a broker redelivery, stops there (`replayed: true`, nothing claimed); otherwise, when
   * `begin` is given, claims the key. A failure rejects the whole claim: nothing may be called.
   */
  claim(input: ClaimInput): Promise<ClaimResult> {
    return this.#enqueue((): ClaimResult => {
      const seen = this.#store.seenRequest(input.requestId, input.expiresAt);
      if (seen && !input.redelivery) return { replayed: true };
      return input.begin === undefined ? { replayed: false } : { replayed: false, begun: this.#store.begin(input.begin) };
    });
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
      for (const op of batch) op.reject(error);
      return;
    }
    batch.forEach((op, i) => {
      const outcome = outcomes[i] as { ok: boolean; value: unknown };
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.value);
    });
  }
}
