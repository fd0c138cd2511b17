/**
 * The PostgreSQL engine of the worker's idempotency store ({@link WorkerStore}): one database
 * that the workers of every gateway host share, through a node-postgres pool per worker process.
 * The guarantees are the SQLite engine's (docs/idempotency.md); postgres-operations.ts says how
 * each is kept across hosts.
 *
 * Transactions: each operation outside `atomic` commits on its own before its promise resolves
 * (its statements autocommit; `begin` is an insert and, when it lost, a read: each is correct
 * alone). `atomic` runs on one pooled client between BEGIN and COMMIT, at READ COMMITTED.
 * Durability is the server's: `synchronous_commit` on (PostgreSQL's default) makes a COMMIT
 * return only once its WAL is flushed.
 *
 * In-doubt commits: when the connection drops during COMMIT, nobody here knows whether it
 * committed, and the caller gets `STORE_FAILED` either way. That is safe because every write's
 * outcome is reconciled by the next attempt rather than assumed: a claim that committed but was
 * reported failed leaves the request id seen and its key in progress, held by this worker; the
 * worker NACKs, and the redelivery's claim finds the key in progress (a retry of the same
 * worker, or after the lease, reconciles it through the action's `status`), never `new`, so the
 * provider is not called twice. A `complete` in doubt is answered `unknown` and not ACKed; its
 * redelivery finds either the recorded answer or the entry still in progress.
 *
 * Failures: every one is `STORE_FAILED` with the driver's error as cause and the password
 * removed; the lasting ones (postgres-errors.ts: unreachable, shut down, out of resources, I/O)
 * are reported to the {@link StoreHealthListener}, and `claim` is refused at once until a write
 * commits again (the worker's probe). The pool reconnects by itself: no new pool is needed after
 * the server comes back.
 */
import type pg from 'pg';
import type { PurgeResult } from './idempotency-store.ts';
import { WorkerError } from './errors.ts';
import { isLastingFailure, maskPostgresUrl, passwordOf, storeFailure } from './postgres-errors.ts';
import { applyMigrations, checkSchema } from './postgres-migrations.ts';
import { PostgresOperations } from './postgres-operations.ts';
import { parsePostgresStoreOptions, type PostgresStoreOptions, type ResolvedPostgresStoreOptions } from './postgres-options.ts';
import { checkClock } from './postgres-clock.ts';
import { createPool } from './postgres-pool.ts';
import { purgeExpired } from './postgres-purge.ts';
import { queryOn } from './postgres-query.ts';
import type { RecordedAnswer, SeenResult } from './request-answers.ts';
import {
  claimWith, StoreHealth,
  type ClaimInput, type ClaimResult, type RecordAnswerInput, type StoreHealthListener, type StoreOperations, type StoreTimings, type WorkerStore,
} from './store-engine.ts';
import type { AbandonInput, BeginInput, BeginResult, CompleteInput, CompleteResult, TakeOverInput } from './idempotency-store.ts';

const PROBE = {
  name: 'paygate-probe',
  text: 'INSERT INTO store_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at',
};

/** The idempotency store on a PostgreSQL database every gateway host shares. */
export class PostgresStore implements WorkerStore {
  readonly engine = 'postgres' as const;
  readonly timings: StoreTimings;
  /** The options in force, defaults filled in. */
  readonly options: ResolvedPostgresStoreOptions;
  readonly #pool: pg.Pool;
  readonly #health: StoreHealth;
  readonly #password: string | undefined;
  readonly #operations: PostgresOperations;
  #closed = false;

  private constructor(pool: pg.Pool, options: ResolvedPostgresStoreOptions, health: StoreHealth) {
    this.#pool = pool;
    this.options = options;
    this.#health = health;
    this.#password = passwordOf(options.url);
    this.timings = { retentionMs: options.retentionMs, leaseMs: options.leaseMs, replayMarginMs: options.replayMarginMs };
    this.#operations = new PostgresOperations(queryOn(pool), this.timings);
  }

  /**
   * Opens the pool and checks the schema: migrates it when `migrate` (the default), else refuses
   * one that is behind. @throws WorkerError `STORE_BAD_OPTIONS`, `STORE_FAILED` (unreachable,
   * login refused… the URL's password masked), `STORE_SCHEMA_OUTDATED`, `STORE_SCHEMA_UNSUPPORTED`.
   */
  static async open(options: PostgresStoreOptions, health?: StoreHealthListener): Promise<PostgresStore> {
    const resolved = parsePostgresStoreOptions(options);
    const pool = createPool(resolved);
    try {
      if (resolved.migrate) await applyMigrations(pool);
      else await checkSchema(pool);
      await checkClock(pool, resolved.maxClockSkewMs);
      return new PostgresStore(pool, resolved, new StoreHealth(health));
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof WorkerError) throw error;
      throw storeFailure(`cannot open the idempotency store at ${maskPostgresUrl(resolved.url)}`, error, passwordOf(resolved.url));
    }
  }

  get failure(): WorkerError | undefined {
    return this.#health.failure;
  }

  begin(input: BeginInput): Promise<BeginResult> {
    return this.#write('begin', () => this.#operations.begin(input));
  }

  complete(input: CompleteInput): Promise<CompleteResult> {
    return this.#write('complete', () => this.#operations.complete(input));
  }

  abandon(input: AbandonInput): Promise<void> {
    return this.#write('abandon', () => this.#operations.abandon(input));
  }

  takeOver(input: TakeOverInput): Promise<boolean> {
    return this.#write('takeOver', () => this.#operations.takeOver(input));
  }

  markSeen(requestId: string, expiresAt: number): Promise<SeenResult> {
    return this.#write('markSeen', () => this.#operations.markSeen(requestId, expiresAt));
  }

  answerOf(requestId: string): Promise<Buffer | undefined> {
    // A read: it says nothing of whether writes work, so it leaves the health as it is.
    return this.#run('answerOf', () => this.#operations.answerOf(requestId), false);
  }

  recordAnswer(input: RecordAnswerInput): Promise<RecordedAnswer> {
    return this.#write('recordAnswer', () => this.#operations.recordAnswer(input));
  }

  replyFailed(requestId: string, expiresAt: number): Promise<number> {
    return this.#write('replyFailed', () => this.#operations.replyFailed(requestId, expiresAt));
  }

  /** One row of its own (`store_probe`), written: whether the database takes writes (again). */
  probe(now: number = Date.now()): Promise<void> {
    return this.#write('probe', async () => {
      await this.#pool.query({ ...PROBE, values: [now] });
      await this.#clockChecked();
    });
  }

  /** Deletes what is past retention, in batches (postgres-purge.ts), once the clock is checked. */
  purge(now: number = Date.now()): Promise<PurgeResult> {
    return this.#write('purge', async () => {
      await this.#clockChecked();
      return purgeExpired(queryOn(this.#pool), this.timings, now);
    });
  }

  /** {@link checkClock}; a clock too far off is a lasting failure: the worker stops claiming until a probe finds it right. */
  async #clockChecked(): Promise<void> {
    try {
      await checkClock(this.#pool, this.options.maxClockSkewMs);
    } catch (error) {
      if (error instanceof WorkerError && error.code === 'STORE_CLOCK_SKEW') this.#health.failed(error);
      throw error;
    }
  }

  claim(input: ClaimInput): Promise<ClaimResult> {
    // While the database fails, a claim is refused at once: only the probe finds out when it works again.
    const failure = this.#health.failure;
    if (failure !== undefined) return Promise.reject(failure);
    // A first sighting of the request id (the common case) costs one statement; an id seen
    // before runs the full claim, its recorded answer first, in a unit.
    return this.#write('claim', () => this.#operations.claimNew(input)).then(
      (claimed) => claimed ?? this.atomic((tx) => claimWith(tx, input)),
    );
  }

  /**
   * Runs `operations` in one transaction on one pooled client: COMMIT when it resolves, ROLLBACK
   * (then its error again) when it throws. A transaction the server aborted (a failed statement
   * whose error `operations` swallowed) does not commit: `STORE_FAILED`.
   */
  async atomic<T>(operations: (tx: StoreOperations) => Promise<T>): Promise<T> {
    this.#checkOpen('atomic');
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#failed('atomic', error);
    }
    // A connection that breaks while this unit holds it (between statements) emits `error`;
    // without a listener that would crash the process. The failed statement reports it.
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN').catch((error: unknown) => Promise.reject(this.#failed('atomic', error)));
      const result = await operations(this.#guarded(new PostgresOperations(queryOn(client), this.timings))).catch((error: unknown) => {
        // The store's own errors (STORE_FAILED, IDEMPOTENCY_NOT_HELD) are seen by the health; the caller's as they are.
        if (error instanceof WorkerError) this.#failed('atomic', error);
        return Promise.reject(error);
      });
      const commit = await client.query('COMMIT').catch((error: unknown) => Promise.reject(this.#failed('atomic: COMMIT', error)));
      if (commit.command !== 'COMMIT') throw this.#failed('atomic', new Error('a statement of the unit failed (its error was caught): the transaction was rolled back'));
      this.#health.succeeded();
      return result;
    } catch (error) {
      broken ??= await client.query('ROLLBACK').then(() => undefined, (rollback: unknown) => rollback as Error);
      throw error;
    } finally {
      client.off('error', onError);
      // A client whose connection broke is destroyed, never handed to the next caller.
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end().catch(() => undefined);
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new WorkerError('STORE_FAILED', `${what}: the idempotency store is closed`);
  }

  /** A write: its success tells the health that the database takes writes. */
  #write<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return this.#run(what, operation, true);
  }

  async #run<T>(what: string, operation: () => Promise<T>, write: boolean): Promise<T> {
    this.#checkOpen(what);
    let result: T;
    try {
      result = await operation();
    } catch (error) {
      throw this.#failed(what, error);
    }
    if (write) this.#health.succeeded();
    return result;
  }

  /** `STORE_FAILED` for `error` (a `WorkerError` as it is), reported to the health listener when it lasts. */
  #failed(what: string, error: unknown): WorkerError {
    const failure = storeFailure(what, error, this.#password);
    if (failure.code === 'STORE_FAILED' && isLastingFailure(failure.cause ?? failure)) this.#health.failed(failure);
    return failure;
  }

  /**
   * `operations` whose failures are `STORE_FAILED` (as outside a unit: the code inside `atomic`
   * sees the same errors), the health left to the unit's end.
   */
  #guarded(operations: PostgresOperations): StoreOperations {
    const guard = <A extends unknown[], R>(what: string, call: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> => call(...args).catch((error: unknown) => Promise.reject(storeFailure(what, error, this.#password)));
    return {
      begin: guard('begin', (input) => operations.begin(input)),
      complete: guard('complete', (input) => operations.complete(input)),
      abandon: guard('abandon', (input) => operations.abandon(input)),
      takeOver: guard('takeOver', (input) => operations.takeOver(input)),
      markSeen: guard('markSeen', (requestId, expiresAt) => operations.markSeen(requestId, expiresAt)),
      answerOf: guard('answerOf', (requestId) => operations.answerOf(requestId)),
      recordAnswer: guard('recordAnswer', (input) => operations.recordAnswer(input)),
      replyFailed: guard('replyFailed', (requestId, expiresAt) => operations.replyFailed(requestId, expiresAt)),
    };
  }
}
