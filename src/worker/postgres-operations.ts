/**
 * The store's operations on PostgreSQL ({@link StoreOperations}), written once against a
 * {@link Query}: on the pool (each statement its own transaction) or on the client of an
 * `atomic` unit. The guarantees are the SQLite engine's (idempotency-store.ts, docs/idempotency.md);
 * how each is kept with several hosts and READ COMMITTED:
 *
 * - `begin`: `INSERT … ON CONFLICT DO NOTHING`. The primary key makes exactly one insert of a
 *   key succeed, whoever races: a second insert waits for the first transaction and, when it
 *   commits, does nothing. Whoever inserted got `new`; the others read the entry with a statement
 *   of their own (a fresh snapshot, so it sees the winner's committed row). If that read finds no
 *   row, the winner abandoned (or a purge removed the entry) in between: insert again.
 * - `complete`, `abandon`, `takeOver`: one conditional `UPDATE`/`DELETE … RETURNING` each, so the
 *   check and the change are one statement; a concurrent writer of the row is waited for and
 *   the condition re-checked on the row it left.
 */
import { WorkerError } from './errors.ts';
import type {
  AbandonInput, BeginInput, BeginResult, CompleteInput, CompleteResult, TakeOverInput,
} from './idempotency-store.ts';
import * as answers from './postgres-answers.ts';
import type { Query } from './postgres-query.ts';
import type { RecordedAnswer, SeenResult } from './request-answers.ts';
import { existingEntry, type ClaimInput, type ClaimResult, type EntryRow, type RecordAnswerInput, type StoreOperations, type StoreTimings } from './store-engine.ts';

const INSERT = {
  name: 'paygate-begin-insert',
  text: `INSERT INTO idempotency (provider, idempotency_key, request_id, payload_digest, state, worker_id, started_at)
         VALUES ($1, $2, $3, $4, 'in-progress', $5, $6) ON CONFLICT (provider, idempotency_key) DO NOTHING RETURNING 1 AS inserted`,
};
const SELECT = {
  name: 'paygate-entry',
  text: `SELECT request_id, payload_digest, state, worker_id, started_at, completed_at, reply
         FROM idempotency WHERE provider = $1 AND idempotency_key = $2`,
};
const COMPLETE = {
  name: 'paygate-complete',
  text: `UPDATE idempotency SET state = 'completed', reply = $3, completed_at = $4
         WHERE provider = $1 AND idempotency_key = $2 AND state = 'in-progress' RETURNING 1 AS completed`,
};
const ABANDON = {
  name: 'paygate-abandon',
  text: `DELETE FROM idempotency WHERE provider = $1 AND idempotency_key = $2 AND state = 'in-progress' AND worker_id = $3
         RETURNING 1 AS abandoned`,
};
const TAKE_OVER = {
  name: 'paygate-take-over',
  text: `UPDATE idempotency SET worker_id = $3, request_id = $4, started_at = $5
         WHERE provider = $1 AND idempotency_key = $2 AND state = 'in-progress' AND worker_id = $6 AND started_at = $7
         RETURNING 1 AS taken`,
};

// The claim of a request id seen for the first time, in ONE statement (one round trip, one
// commit): the id recorded as seen and, only when it is new, the key inserted in progress.
const CLAIM_NEW = {
  name: 'paygate-claim-new',
  text: `WITH seen AS (
           INSERT INTO seen_requests (request_id, keep_until) VALUES ($1, $2)
           ON CONFLICT (request_id) DO NOTHING RETURNING 1
         ), claimed AS (
           INSERT INTO idempotency (provider, idempotency_key, request_id, payload_digest, state, worker_id, started_at)
           SELECT $3, $4, $5, $6, 'in-progress', $7, $8 WHERE EXISTS (SELECT 1 FROM seen)
           ON CONFLICT (provider, idempotency_key) DO NOTHING RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM seen) AS seen_new, EXISTS (SELECT 1 FROM claimed) AS begun_new`,
};

/**
 * How many times `begin` inserts again after finding the entry gone between its insert and its
 * read. Each retry needs another worker to begin AND abandon the key in that gap; running out
 * means something keeps deleting it, and is a `STORE_FAILED` (the message is redelivered).
 */
const BEGIN_ATTEMPTS = 8;

const toBuffer = (reply: string | Buffer): Buffer => (typeof reply === 'string' ? Buffer.from(reply, 'utf8') : Buffer.from(reply));

/** {@link StoreOperations} over one {@link Query}. */
export class PostgresOperations implements StoreOperations {
  readonly #query: Query;
  readonly #timings: StoreTimings;

  constructor(query: Query, timings: StoreTimings) {
    this.#query = query;
    this.#timings = timings;
  }

  async begin(input: BeginInput): Promise<BeginResult> {
    const now = input.now ?? Date.now();
    const key = [input.provider, input.idempotencyKey];
    for (let attempt = 0; attempt < BEGIN_ATTEMPTS; attempt++) {
      const inserted = await this.#query(INSERT, [...key, input.requestId, input.payloadDigest, input.workerId, now]);
      if (inserted.length === 1) return { kind: 'new' };
      const [row] = await this.#query<EntryRow>(SELECT, key);
      if (row !== undefined) return this.#found(row, input.payloadDigest, now);
    }
    throw new WorkerError('STORE_FAILED', `begin: the entry for this key of provider ${input.provider} kept disappearing between insert and read`);
  }

  /**
   * The claim's common case in one statement: a request id never seen (so no answer can be
   * recorded for it) is recorded and its key begun. `undefined` when the id was seen before: the
   * caller then runs the full claim (its answer first) in a unit. When the id is new but its key
   * is not, the key's entry is read by `begin` after the id's record committed; that split is
   * safe, as the id alone (seen, not answered) sends any copy of the request through `begin`.
   */
  async claimNew(input: ClaimInput): Promise<ClaimResult | undefined> {
    const b = input.begin;
    const now = b.now ?? Date.now();
    const values = [input.requestId, input.expiresAt + this.#timings.replayMarginMs, b.provider, b.idempotencyKey, b.requestId, b.payloadDigest, b.workerId, now];
    const [row] = await this.#query<{ seen_new: boolean; begun_new: boolean }>(CLAIM_NEW, values);
    if (row === undefined || !row.seen_new) return undefined;
    if (row.begun_new) return { kind: 'begun', begun: { kind: 'new' } };
    return { kind: 'begun', begun: await this.begin({ ...b, now }) };
  }

  #found(row: EntryRow, payloadDigest: string, now: number): BeginResult {
    return existingEntry(row, payloadDigest, now, this.#timings.leaseMs);
  }


  async complete(input: CompleteInput): Promise<CompleteResult> {
    const reply = toBuffer(input.reply);
    const key = [input.provider, input.idempotencyKey];
    if ((await this.#query(COMPLETE, [...key, reply, input.now ?? Date.now()])).length === 1) return { reply, alreadyCompleted: false };
    // Nothing in progress: completed by another worker (its reply is kept), or not there at all.
    const [row] = await this.#query<EntryRow>(SELECT, key);
    if (row?.state === 'completed') return { reply: row.reply ?? Buffer.alloc(0), alreadyCompleted: true };
    throw new WorkerError('IDEMPOTENCY_NOT_HELD', `complete: no in-progress entry for this key of provider ${input.provider}`);
  }

  async abandon(input: AbandonInput): Promise<void> {
    if ((await this.#query(ABANDON, [input.provider, input.idempotencyKey, input.workerId])).length !== 1) {
      throw new WorkerError('IDEMPOTENCY_NOT_HELD', `abandon: this worker holds no in-progress entry for this key of provider ${input.provider}`);
    }
  }

  async takeOver(input: TakeOverInput): Promise<boolean> {
    const values = [input.provider, input.idempotencyKey, input.workerId, input.requestId, input.now ?? Date.now(), input.fromWorkerId, input.since];
    return (await this.#query(TAKE_OVER, values)).length === 1;
  }

  markSeen(requestId: string, expiresAt: number): Promise<SeenResult> {
    return answers.markSeen(this.#query, requestId, expiresAt + this.#timings.replayMarginMs);
  }

  answerOf(requestId: string): Promise<Buffer | undefined> {
    return answers.answerOf(this.#query, requestId);
  }

  recordAnswer(input: RecordAnswerInput): Promise<RecordedAnswer> {
    const keepUntil = input.expiresAt + this.#timings.replayMarginMs;
    return answers.recordAnswer(this.#query, { requestId: input.requestId, keepUntil, reply: toBuffer(input.reply), final: input.final });
  }

  replyFailed(requestId: string, expiresAt: number): Promise<number> {
    return answers.replyFailed(this.#query, requestId, expiresAt + this.#timings.replayMarginMs);
  }
}
