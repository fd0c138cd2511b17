/**
 * The `seen_requests` table of the idempotency store: every request id that reached the
 * idempotency claim, the FIRST answer the worker gave it, and how many times a reply to it could
 * not be sent.
 *
 * Why answers are kept per request id: a captured request sent again (same bytes, same id) must
 * never be executed again, whatever its frame headers say (`redelivered`, `redeliveryCounter`
 * are set by the producer on some brokers, so they prove nothing). The worker therefore decides
 * from this table alone: an id with a recorded answer gets that answer again and never reaches
 * the provider; an id seen but not answered (a worker died mid-request, or a duplicate is still
 * in flight) goes through the idempotency claim, whose `begin` reconciles it. An answer is
 * recorded before it is sent, in the same transaction as `complete` where there is one.
 *
 * A recorded answer is the reply document as encoded (YAML, card data masked by reply.ts), the
 * same bytes the idempotency table stores for a completed key. An `unknown` answer is recorded
 * too (a replay of it must not run the provider again) but is not final: a final answer for the
 * same id (a duplicate that was still in flight completes) replaces it; a final one is never
 * replaced.
 *
 * Files made before these columns existed are migrated when opened (ALTER TABLE … ADD COLUMN,
 * in one immediate transaction, only for the columns missing: idempotent, and safe when several
 * processes open the same file at once).
 */
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';

/** The table as a file made now has it; older files get the missing columns from {@link migrateSeenRequests}. */
export const SEEN_REQUESTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS seen_requests (
  request_id TEXT PRIMARY KEY,
  keep_until INTEGER NOT NULL,
  reply BLOB,
  reply_final INTEGER NOT NULL DEFAULT 0,
  reply_failures INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_requests_keep_until ON seen_requests (keep_until);
`;

/** Columns added after the first release, with their definitions for ALTER TABLE. */
const ADDED_COLUMNS: readonly (readonly [string, string])[] = [
  ['reply', 'BLOB'],
  ['reply_final', 'INTEGER NOT NULL DEFAULT 0'],
  ['reply_failures', 'INTEGER NOT NULL DEFAULT 0'],
];

/** Adds the columns an older file lacks; a no-op on a current one. */
export function migrateSeenRequests(db: SqliteDatabase): void {
  db.transaction(() => {
    const have = new Set((db.prepare('PRAGMA table_info(seen_requests)').all() as { name: string }[]).map((column) => column.name));
    for (const [name, definition] of ADDED_COLUMNS) {
      if (!have.has(name)) db.exec(`ALTER TABLE seen_requests ADD COLUMN ${name} ${definition}`);
    }
  }).immediate();
}

/** What {@link RequestAnswers.markSeen} found. */
export interface SeenResult {
  /** The id was recorded before this call. */
  readonly seenBefore: boolean;
  /** The answer recorded for it, when there is one: send it again, never call the provider. */
  readonly answer?: Buffer;
}

/** An answer to record for a request id. */
export interface AnswerInput {
  readonly requestId: string;
  /** Epoch ms until which the id must be remembered (its `expires_at` plus the replay margin). */
  readonly keepUntil: number;
  /** The reply document as encoded (card data masked). */
  readonly reply: Buffer;
  /** False for an `unknown` answer: a final answer may replace it later. */
  readonly final: boolean;
}

/** What {@link RequestAnswers.recordAnswer} left recorded. */
export interface RecordedAnswer {
  /** The answer now recorded for the id: ours, or the one recorded first. Send this one. */
  readonly reply: Buffer;
  /** Whether it is the one just given. */
  readonly ours: boolean;
}

/** Prepared statements over `seen_requests`; every method is one statement or one transaction (a savepoint inside the caller's). */
export class RequestAnswers {
  readonly #insert: Statement;
  readonly #select: Statement<[string], { reply: Buffer | null }>;
  readonly #record: Statement;
  readonly #failed: Statement;
  readonly #failures: Statement<[string], { reply_failures: number }>;
  readonly #purge: Statement;
  readonly #recordTx: (input: AnswerInput) => RecordedAnswer;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare('INSERT OR IGNORE INTO seen_requests (request_id, keep_until) VALUES (?, ?)');
    this.#select = db.prepare<[string], { reply: Buffer | null }>('SELECT reply FROM seen_requests WHERE request_id = ?');
    // A final answer is never replaced; an `unknown` one only by a final one.
    this.#record = db.prepare(
      `INSERT INTO seen_requests (request_id, keep_until, reply, reply_final) VALUES (?, ?, ?, ?)
       ON CONFLICT (request_id) DO UPDATE SET reply = excluded.reply, reply_final = excluded.reply_final,
         keep_until = max(seen_requests.keep_until, excluded.keep_until)
       WHERE seen_requests.reply IS NULL OR (seen_requests.reply_final = 0 AND excluded.reply_final = 1)`,
    );
    this.#failed = db.prepare(
      `INSERT INTO seen_requests (request_id, keep_until, reply_failures) VALUES (?, ?, 1)
       ON CONFLICT (request_id) DO UPDATE SET reply_failures = seen_requests.reply_failures + 1,
         keep_until = max(seen_requests.keep_until, excluded.keep_until)`,
    );
    this.#failures = db.prepare<[string], { reply_failures: number }>('SELECT reply_failures FROM seen_requests WHERE request_id = ?');
    this.#purge = db.prepare('DELETE FROM seen_requests WHERE keep_until < ?');
    this.#recordTx = db.transaction((input: AnswerInput): RecordedAnswer => {
      const changed = this.#record.run(input.requestId, input.keepUntil, input.reply, input.final ? 1 : 0).changes === 1;
      if (changed) return { reply: input.reply, ours: true };
      return { reply: this.#select.get(input.requestId)?.reply ?? input.reply, ours: false };
    });
  }

  /** Records `requestId` as seen (kept until `keepUntil`) and returns what was there before. */
  markSeen(requestId: string, keepUntil: number): SeenResult {
    if (this.#insert.run(requestId, keepUntil).changes === 1) return { seenBefore: false };
    const reply = this.#select.get(requestId)?.reply;
    return reply === null || reply === undefined ? { seenBefore: true } : { seenBefore: true, answer: reply };
  }

  /** The answer recorded for `requestId`, if any. */
  answerOf(requestId: string): Buffer | undefined {
    return this.#select.get(requestId)?.reply ?? undefined;
  }

  /** Records an answer (the first final one wins; see the module comment) and returns the one now recorded. */
  recordAnswer(input: AnswerInput): RecordedAnswer {
    return this.#recordTx(input);
  }

  /** Counts one failed attempt to send a reply for `requestId`; returns the count so far. */
  replyFailed(requestId: string, keepUntil: number): number {
    this.#failed.run(requestId, keepUntil);
    return this.#failures.get(requestId)?.reply_failures ?? 1;
  }

  /** Deletes the ids whose keep-until time is before `now`; returns how many. */
  purge(now: number): number {
    return this.#purge.run(now).changes;
  }
}
