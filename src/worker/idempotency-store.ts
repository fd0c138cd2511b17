/**
 * The worker's idempotency store ("exactly-once in effect"): one SQLite file
 * (better-sqlite3, WAL) that every worker process of a host shares, keyed by
 * (provider, idempotency key). See docs/idempotency.md for the states and what the worker does
 * in each.
 *
 * Durability: `journal_mode=WAL` with `synchronous=FULL`, so every commit has fsynced the WAL
 * before the call returns. Unlike the broker's store there is no group commit: each write here
 * gates an outside effect (`begin` → the provider is called, `complete` → the request is ACKed),
 * so it must be on disk before the method returns, and every method commits synchronously.
 *
 * Concurrency: every write runs in a `BEGIN IMMEDIATE` transaction (the write lock is taken
 * up front, so two processes never deadlock upgrading a read lock) and waits up to
 * `busyTimeoutMs` for another process's lock. `begin` reads and inserts in that one transaction,
 * so of several workers racing for one key exactly one gets `new`.
 *
 * Damage: `open` checks the file (store-integrity.ts) and refuses a damaged, lost or too new
 * store with a named error, so a worker never starts on one.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { WorkerError } from './errors.ts';
import { parseIdempotencyOptions, type IdempotencyStoreOptions, type ResolvedIdempotencyStoreOptions } from './sqlite-options.ts';
import { existingEntry, type EntryRow } from './store-engine.ts';
import { checkStorePresent, checkStoreReadable, corruptStore, isCorruption, sealStore } from './store-integrity.ts';
import {
  migrateSeenRequests, RequestAnswers, SEEN_REQUESTS_SCHEMA, type RecordedAnswer, type SeenResult,
} from './request-answers.ts';

export {
  idempotencyOptionsSchema, parseIdempotencyOptions, type IdempotencyStoreOptions, type ResolvedIdempotencyStoreOptions,
} from './sqlite-options.ts';

/** Which logical operation: the provider's queue name and the request's `idempotency_key`. */
export interface IdempotencyKey {
  readonly provider: string;
  readonly idempotencyKey: string;
}

export interface BeginInput extends IdempotencyKey {
  /** The request's `id` (stored so that a reconciler can ask the provider about the first attempt). */
  readonly requestId: string;
  /** A keyed digest of the validated payload (see docs/idempotency.md); never the payload itself. */
  readonly payloadDigest: string;
  /** Unique per worker process (e.g. `host:pid:random`). */
  readonly workerId: string;
  /** Epoch ms; `Date.now()` when absent. */
  readonly now?: number;
}

/** What {@link IdempotencyStore.begin} found. */
export type BeginResult =
  /** Nobody had the key: it is now in progress and ours. Call the provider, then `complete` or `abandon`. */
  | { readonly kind: 'new' }
  /** A reply is stored: send it again, do not call the provider. */
  | { readonly kind: 'completed'; readonly reply: Buffer; readonly requestId: string; readonly completedAt: number }
  /**
   * Another worker holds the key, or held it and died mid-call. `leaseExpired` says whether the
   * holder has had longer than `leaseMs`; reconcile through the action's `status`, else answer
   * `OUTCOME_UNKNOWN`.
   */
  | {
      readonly kind: 'in-progress';
      readonly since: number;
      readonly workerId: string;
      readonly requestId: string;
      readonly leaseExpired: boolean;
    }
  /** The key is known with a different payload digest: refuse with `IDEMPOTENCY_CONFLICT`. */
  | { readonly kind: 'conflict'; readonly requestId: string };

export interface CompleteInput extends IdempotencyKey {
  /** The reply document as the worker produced it (before sealing); stored and returned byte for byte. */
  readonly reply: string | Buffer;
  readonly now?: number;
}

export interface CompleteResult {
  /** The reply now stored: ours, or the one stored before us when `alreadyCompleted`. Send this one. */
  readonly reply: Buffer;
  /** Another worker (a reconciler) completed the entry first; its reply was kept. */
  readonly alreadyCompleted: boolean;
}

export interface TakeOverInput extends IdempotencyKey {
  /** The holder `begin` reported (`in-progress`): the take-over only happens if it still holds the entry… */
  readonly fromWorkerId: string;
  /** …since the same moment (so a holder that re-began meanwhile keeps it). */
  readonly since: number;
  /** The new holder (this worker) and the request it now serves. */
  readonly workerId: string;
  readonly requestId: string;
  readonly now?: number;
}

export interface AbandonInput extends IdempotencyKey {
  /** The holder's id: only the worker that began the entry may abandon it. */
  readonly workerId: string;
}

/** What {@link IdempotencyStore.purge} deleted. */
export interface PurgeResult {
  readonly entries: number;
  readonly requests: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency (
  provider TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  request_id TEXT NOT NULL,
  payload_digest TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in-progress', 'completed')),
  worker_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  completed_at INTEGER,
  reply BLOB,
  PRIMARY KEY (provider, idempotency_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (state, completed_at, started_at);
CREATE TABLE IF NOT EXISTS store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
${SEEN_REQUESTS_SCHEMA}`;

export class IdempotencyStore {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedIdempotencyStoreOptions;
  readonly #db: SqliteDatabase;
  readonly #select: Statement<[string, string], EntryRow>;
  readonly #insert: Statement;
  readonly #complete: Statement;
  readonly #abandon: Statement;
  readonly #takeOver: Statement;
  readonly #answers: RequestAnswers;
  readonly #purgeCompleted: Statement;
  readonly #purgeStale: Statement;
  readonly #probe: Statement;
  readonly #begin: (input: Required<BeginInput>) => BeginResult;
  readonly #completeTx: (input: IdempotencyKey, reply: Buffer, now: number) => CompleteResult;
  readonly #purgeTx: (now: number) => PurgeResult;
  #closed = false;
  #savepoints = 0;

  private constructor(db: SqliteDatabase, options: ResolvedIdempotencyStoreOptions) {
    this.#db = db;
    this.options = options;
    db.exec(SCHEMA);
    migrateSeenRequests(db);
    this.#answers = new RequestAnswers(db);
    this.#select = db.prepare<[string, string], EntryRow>(
      'SELECT request_id, payload_digest, state, worker_id, started_at, completed_at, reply FROM idempotency WHERE provider = ? AND idempotency_key = ?',
    );
    this.#insert = db.prepare(
      `INSERT INTO idempotency (provider, idempotency_key, request_id, payload_digest, state, worker_id, started_at)
       VALUES (?, ?, ?, ?, 'in-progress', ?, ?)`,
    );
    this.#complete = db.prepare(
      `UPDATE idempotency SET state = 'completed', reply = ?, completed_at = ?
       WHERE provider = ? AND idempotency_key = ? AND state = 'in-progress'`,
    );
    this.#abandon = db.prepare(
      `DELETE FROM idempotency WHERE provider = ? AND idempotency_key = ? AND state = 'in-progress' AND worker_id = ?`,
    );
    this.#takeOver = db.prepare(
      `UPDATE idempotency SET worker_id = ?, request_id = ?, started_at = ?
       WHERE provider = ? AND idempotency_key = ? AND state = 'in-progress' AND worker_id = ? AND started_at = ?`,
    );
    this.#purgeCompleted = db.prepare(`DELETE FROM idempotency WHERE state = 'completed' AND completed_at < ?`);
    this.#purgeStale = db.prepare(`DELETE FROM idempotency WHERE state = 'in-progress' AND started_at < ?`);
    this.#probe = db.prepare('INSERT OR REPLACE INTO store_probe (id, at) VALUES (1, ?)');

    const begin = db.transaction((input: Required<BeginInput>): BeginResult => {
      const row = this.#select.get(input.provider, input.idempotencyKey);
      if (row === undefined) {
        this.#insert.run(input.provider, input.idempotencyKey, input.requestId, input.payloadDigest, input.workerId, input.now);
        return { kind: 'new' };
      }
      return existingEntry(row, input.payloadDigest, input.now, this.options.leaseMs);
    });
    this.#begin = (input) => begin.immediate(input);

    const complete = db.transaction((key: IdempotencyKey, reply: Buffer, now: number): CompleteResult => {
      if (this.#complete.run(reply, now, key.provider, key.idempotencyKey).changes === 1) return { reply, alreadyCompleted: false };
      const row = this.#select.get(key.provider, key.idempotencyKey);
      if (row?.state === 'completed') return { reply: row.reply ?? Buffer.alloc(0), alreadyCompleted: true };
      throw new WorkerError('IDEMPOTENCY_NOT_HELD', `complete: no in-progress entry for this key of provider ${key.provider}`);
    });
    this.#completeTx = (key, reply, now) => complete.immediate(key, reply, now);

    const purge = db.transaction((now: number): PurgeResult => {
      // An entry in progress goes only once its holder's lease has run out too: a retention
      // set shorter than the lease must never free a key a live worker is calling for.
      const stale = now - Math.max(this.options.retentionMs, this.options.leaseMs);
      const entries = this.#purgeCompleted.run(now - this.options.retentionMs).changes + this.#purgeStale.run(stale).changes;
      const requests = this.#answers.purge(now);
      return { entries, requests };
    });
    this.#purgeTx = (now) => purge.immediate(now);
  }

  /**
   * Open (or create) the store at `options.path`. Several processes may open the same file at
   * once (same host only: WAL needs shared memory, so not on a network file system).
   */
  static open(options: IdempotencyStoreOptions): IdempotencyStore {
    const resolved = parseIdempotencyOptions(options);
    const { path } = resolved;
    let db: SqliteDatabase | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      checkStorePresent(path);
      db = new Database(path, { timeout: resolved.busyTimeoutMs });
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, not wal`);
      db.pragma('synchronous = FULL');
      checkStoreReadable(db, path);
      const store = new IdempotencyStore(db, resolved);
      sealStore(db, path);
      return store;
    } catch (error) {
      db?.close();
      if (error instanceof WorkerError) throw error;
      if (isCorruption(error)) throw corruptStore(path, (error as Error).message, error);
      throw new WorkerError('STORE_FAILED', `cannot open the idempotency store at ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Claim (provider, idempotencyKey) for this request, atomically: see {@link BeginResult}. The
   * in-progress entry is on disk when this returns `new`, so a crash during the provider call is
   * seen by the next worker.
   */
  begin(input: BeginInput): BeginResult {
    const { provider, idempotencyKey, requestId, payloadDigest, workerId } = input;
    const now = input.now ?? Date.now();
    return this.#run('begin', () => this.#begin({ provider, idempotencyKey, requestId, payloadDigest, workerId, now }));
  }

  /**
   * Store the reply of an in-progress entry and mark it completed (on disk when this returns:
   * only then send and ACK). When another worker completed it first, its reply is kept and
   * returned. `IDEMPOTENCY_NOT_HELD` when there is no entry for the key.
   */
  complete(input: CompleteInput): CompleteResult {
    const reply = typeof input.reply === 'string' ? Buffer.from(input.reply, 'utf8') : Buffer.from(input.reply);
    const now = input.now ?? Date.now();
    return this.#run('complete', () => this.#completeTx({ provider: input.provider, idempotencyKey: input.idempotencyKey }, reply, now));
  }

  /**
   * Forget an in-progress entry whose provider was provably never called (validation failed
   * after `begin`, breaker open, transport refused before sending), so a retry may proceed.
   * Only its holder may abandon it; `IDEMPOTENCY_NOT_HELD` otherwise.
   */
  abandon(input: AbandonInput): void {
    this.#run('abandon', () => {
      if (this.#abandon.run(input.provider, input.idempotencyKey, input.workerId).changes !== 1) {
        throw new WorkerError('IDEMPOTENCY_NOT_HELD', `abandon: this worker holds no in-progress entry for this key of provider ${input.provider}`);
      }
    });
  }

  /**
   * Take over an in-progress entry whose holder's lease expired and whose first attempt the
   * provider has no record of (its `status` said so): the entry becomes ours, as after `new`, and
   * the caller may call the provider. True when taken; false when the entry changed meanwhile
   * (completed, abandoned, or taken by another reconciler): then `begin` again.
   */
  takeOver(input: TakeOverInput): boolean {
    const now = input.now ?? Date.now();
    return this.#run(
      'takeOver',
      () => this.#takeOver.run(input.workerId, input.requestId, now, input.provider, input.idempotencyKey, input.fromWorkerId, input.since).changes === 1,
    );
  }

  /**
   * Records `requestId` as seen and returns what was known of it: whether it was seen before, and
   * the answer recorded for it, if any (docs/idempotency.md, "Replays"). The id is kept until
   * `expiresAt + replayMarginMs`, then `purge` forgets it (by then the freshness window refuses
   * the request anyway).
   */
  markSeen(requestId: string, expiresAt: number): SeenResult {
    return this.#run('markSeen', () => this.#answers.markSeen(requestId, expiresAt + this.options.replayMarginMs));
  }

  /** The answer recorded for `requestId`, if any. */
  answerOf(requestId: string): Buffer | undefined {
    return this.#run('answerOf', () => this.#answers.answerOf(requestId));
  }

  /**
   * Records the answer given to `requestId` (kept until `expiresAt + replayMarginMs`) BEFORE it
   * is sent. The first final answer is kept: when one was recorded before, it is returned
   * (`ours: false`) and is the one to send. An `unknown` answer (`final: false`) is replaced by a
   * later final one, never the other way round.
   */
  recordAnswer(input: { requestId: string; expiresAt: number; reply: string | Buffer; final: boolean }): RecordedAnswer {
    const reply = typeof input.reply === 'string' ? Buffer.from(input.reply, 'utf8') : Buffer.from(input.reply);
    const keepUntil = input.expiresAt + this.options.replayMarginMs;
    return this.#run('recordAnswer', () => this.#answers.recordAnswer({ requestId: input.requestId, keepUntil, reply, final: input.final }));
  }

  /** Counts a failed attempt to send a reply to `requestId` (kept until `expiresAt + replayMarginMs`); returns the count so far. */
  replyFailed(requestId: string, expiresAt: number): number {
    return this.#run('replyFailed', () => this.#answers.replyFailed(requestId, expiresAt + this.options.replayMarginMs));
  }

  /**
   * A write that touches no entry (one row of its own): whether the store takes writes, e.g.
   * again after a full disk was freed. @throws WorkerError `STORE_FAILED`
   */
  probe(now: number = Date.now()): void {
    this.#run('probe', () => this.#probe.run(now));
  }

  /**
   * Delete completed entries completed more than `retentionMs` before `now`, in-progress ones
   * started more than max(`retentionMs`, `leaseMs`) before `now`, and request ids past their
   * keep-until time.
   */
  purge(now: number = Date.now()): PurgeResult {
    return this.#run('purge', () => this.#purgeTx(now));
  }

  /**
   * Runs `operations` (calls of this store's methods, possibly awaited) in ONE `BEGIN IMMEDIATE`
   * transaction: one commit, one fsync, for all of them (group commit: `group-commit.ts`). The
   * write lock is held until `operations` settles, so it must await nothing but this store's
   * calls. Nothing is durable before this resolves. When `operations` throws, everything is
   * rolled back. @throws WorkerError `STORE_FAILED` when the transaction cannot begin or commit.
   */
  async transactionAsync<T>(operations: () => Promise<T>): Promise<T> {
    this.#run('transaction', () => this.#db.exec('BEGIN IMMEDIATE'));
    let result: T;
    try {
      result = await operations();
    } catch (error) {
      this.#rollback();
      throw error;
    }
    try {
      this.#run('commit', () => this.#db.exec('COMMIT'));
    } catch (error) {
      this.#rollback();
      throw error;
    }
    return result;
  }

  /**
   * Runs `operations` as one unit inside {@link transactionAsync} (a savepoint): all of its
   * writes take effect, or, when it throws, none (the error is thrown on).
   */
  async savepointAsync<T>(operations: () => Promise<T>): Promise<T> {
    this.#savepoints += 1;
    const name = `unit_${this.#savepoints}`;
    this.#run('savepoint', () => this.#db.exec(`SAVEPOINT ${name}`));
    try {
      const result = await operations();
      this.#run('savepoint', () => this.#db.exec(`RELEASE ${name}`));
      return result;
    } catch (error) {
      try {
        if (this.#db.inTransaction) this.#db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      } catch {
        // The transaction is gone (SQLite rolled it back itself on an I/O error): the commit fails.
      }
      throw error;
    }
  }

  #rollback(): void {
    try {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
    } catch {
      // Already rolled back by SQLite itself (after SQLITE_FULL, SQLITE_IOERR…).
    }
  }

  /** Close the file; later calls fail with STORE_FAILED. Closing twice is harmless. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #run<T>(what: string, operation: () => T): T {
    if (this.#closed) throw new WorkerError('STORE_FAILED', `${what}: the idempotency store is closed`);
    try {
      return operation();
    } catch (error) {
      if (error instanceof WorkerError) throw error;
      throw new WorkerError('STORE_FAILED', `${what}: idempotency store failure: ${(error as Error).message}`, { cause: error });
    }
  }
}
