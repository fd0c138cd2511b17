/**
 * The idempotency store as the worker sees it, whatever engine keeps it: SQLite (one file per
 * host, `sqlite-engine.ts`, the single-machine default) or PostgreSQL (one database shared by
 * every gateway host, `postgres-store.ts`). docs/idempotency.md describes the states and the
 * guarantees; both engines give the same ones:
 *
 * - exactly one `new` for a key, whoever races for it (processes of one host, or hosts);
 * - every operation is durable before its promise resolves (the worker's next step is an
 *   outside effect: the provider call, the reply and ACK);
 * - `atomic` runs several operations as one unit: all of their writes commit, or none;
 * - a failure that lasts (a full disk, the database unreachable) is reported through the
 *   {@link StoreHealthListener}, and `failure` says so until a write succeeds again.
 */
import type { WorkerError } from './errors.ts';
import type {
  AbandonInput, BeginInput, BeginResult, CompleteInput, CompleteResult, PurgeResult, TakeOverInput,
} from './idempotency-store.ts';
import type { RecordedAnswer, SeenResult } from './request-answers.ts';

/** An answer to record for a request id (docs/idempotency.md, "Replays"). */
export interface RecordAnswerInput {
  readonly requestId: string;
  /** Epoch ms of the request's `expires_at`; the id is kept `replayMarginMs` beyond it. */
  readonly expiresAt: number;
  /** The reply document as encoded (card data masked). */
  readonly reply: string | Buffer;
  /** False for an `unknown` answer: a final answer may replace it later. */
  readonly final: boolean;
}

/**
 * The store's operations. Each one alone is a transaction of its own; inside
 * {@link WorkerStore.atomic} they join its transaction. An operation that throws a
 * `WorkerError` of its own (`IDEMPOTENCY_NOT_HELD`) changed nothing.
 */
export interface StoreOperations {
  /** Claims (provider, idempotencyKey): see {@link BeginResult}. */
  begin(input: BeginInput): Promise<BeginResult>;
  /** Stores the reply of an in-progress entry; keeps (and returns) the first one when another worker completed it. */
  complete(input: CompleteInput): Promise<CompleteResult>;
  /** Forgets an in-progress entry its holder provably never sent; `IDEMPOTENCY_NOT_HELD` when this worker holds none. */
  abandon(input: AbandonInput): Promise<void>;
  /** Takes over a dead holder's entry; false when the entry changed meanwhile. */
  takeOver(input: TakeOverInput): Promise<boolean>;
  /** Records a request id as seen; says whether it was seen before and the answer recorded for it. */
  markSeen(requestId: string, expiresAt: number): Promise<SeenResult>;
  /** The answer recorded for a request id, if any. */
  answerOf(requestId: string): Promise<Buffer | undefined>;
  /** Records the answer given to a request id before it is sent; the first final answer is kept. */
  recordAnswer(input: RecordAnswerInput): Promise<RecordedAnswer>;
  /** Counts a failed attempt to send a reply to a request id; returns the count so far. */
  replyFailed(requestId: string, expiresAt: number): Promise<number>;
}

/** What {@link WorkerStore.claim} is asked. */
export interface ClaimInput {
  readonly requestId: string;
  /** Epoch ms of the request's `expires_at`. */
  readonly expiresAt: number;
  /** The idempotency claim of the request. */
  readonly begin: BeginInput;
}

/** What {@link WorkerStore.claim} found. */
export type ClaimResult =
  /** The request id was answered before: send this answer again; nothing was claimed. */
  | { readonly kind: 'answered'; readonly reply: Buffer }
  /** The id is new, or seen but never answered: what `begin` found for its key. */
  | { readonly kind: 'begun'; readonly begun: BeginResult };

/** What the store's owner hears about its health. */
export interface StoreHealthListener {
  /** A write failed in a way that lasts (a full disk, an I/O error, the database unreachable); called on each failing write. */
  readonly onFailure?: (error: WorkerError) => void;
  /** A write committed cleanly after a failure. */
  readonly onRecovery?: () => void;
}

/** The retention settings both engines share (docs/idempotency.md, "Retention"). */
export interface StoreTimings {
  readonly retentionMs: number;
  readonly leaseMs: number;
  readonly replayMarginMs: number;
}

/** The idempotency store of a worker: one engine, opened. */
export interface WorkerStore extends StoreOperations {
  /** Which engine keeps the data. */
  readonly engine: 'sqlite' | 'postgres';
  /** Retention, lease and replay margin in force. */
  readonly timings: StoreTimings;
  /** The last lasting failure, until a write commits cleanly again; undefined while the store works. */
  readonly failure: WorkerError | undefined;
  /**
   * Runs `operations` as ONE unit: every write it made through `tx` commits, or, when it
   * throws, none. `operations` must await nothing but `tx`'s methods (the SQLite engine runs it
   * inside a batch that holds the file's write lock).
   */
  atomic<T>(operations: (tx: StoreOperations) => Promise<T>): Promise<T>;
  /**
   * The replay check and the idempotency claim of one request in ONE unit: records `requestId`
   * as seen; when an answer is recorded for it, stops there (`answered`, nothing claimed);
   * otherwise claims the key with `begin`. Refused at once with {@link failure} while the store
   * fails writes.
   */
  claim(input: ClaimInput): Promise<ClaimResult>;
  /** A write that touches no entry: whether the store takes writes (again). */
  probe(now?: number): Promise<void>;
  /** Deletes what is past retention (never an entry whose holder's lease runs). */
  purge(now?: number): Promise<PurgeResult>;
  /** Releases the file or the pool; later calls fail with `STORE_FAILED`. Closing twice is harmless. */
  close(): Promise<void>;
}

/** An entry of the `idempotency` table as both engines read it (epoch ms as numbers, the reply as bytes). */
export interface EntryRow {
  request_id: string;
  payload_digest: string;
  state: 'in-progress' | 'completed';
  worker_id: string;
  started_at: number;
  completed_at: number | null;
  reply: Buffer | null;
}

/** What `begin` tells a caller that found `row` for its key: a conflict, the stored reply, or the holder. */
export function existingEntry(row: EntryRow, payloadDigest: string, now: number, leaseMs: number): BeginResult {
  if (row.payload_digest !== payloadDigest) return { kind: 'conflict', requestId: row.request_id };
  if (row.state === 'completed') {
    return { kind: 'completed', reply: row.reply ?? Buffer.alloc(0), requestId: row.request_id, completedAt: row.completed_at ?? 0 };
  }
  return {
    kind: 'in-progress',
    since: row.started_at,
    workerId: row.worker_id,
    requestId: row.request_id,
    leaseExpired: now - row.started_at >= leaseMs,
  };
}

/** The claim both engines run inside one unit: the request id's answer first, then `begin`. */
export async function claimWith(tx: StoreOperations, input: ClaimInput): Promise<ClaimResult> {
  const seen = await tx.markSeen(input.requestId, input.expiresAt);
  if (seen.answer !== undefined) return { kind: 'answered', reply: seen.answer };
  return { kind: 'begun', begun: await tx.begin(input.begin) };
}

/**
 * Tracks whether the store fails writes and tells the listener on each change; shared by the
 * engines. A listener that throws never fails the store's callers.
 */
export class StoreHealth {
  readonly #listener: StoreHealthListener;
  #failure: WorkerError | undefined;

  constructor(listener: StoreHealthListener = {}) {
    this.#listener = listener;
  }

  get failure(): WorkerError | undefined {
    return this.#failure;
  }

  /** A write failed in a way that lasts. */
  failed(error: WorkerError): void {
    this.#failure = error;
    this.#notify(() => this.#listener.onFailure?.(error));
  }

  /** A write committed cleanly. */
  succeeded(): void {
    if (this.#failure === undefined) return;
    this.#failure = undefined;
    this.#notify(() => this.#listener.onRecovery?.());
  }

  #notify(call: () => void): void {
    try {
      call();
    } catch {
      // The worker's listeners report on their own; nothing else to do here.
    }
  }
}
