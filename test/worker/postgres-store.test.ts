/**
 * What the PostgreSQL engine (src/worker/postgres-store.ts) adds to the engine-independent store
 * suite, on a real server, one fresh database per store: atomic units (all or nothing, a
 * swallowed statement failure included), `begin` when the winner's entry vanishes between its
 * insert and its read, a purge that never deletes an entry whose lease may still run and never
 * waits for a locked row, contention that is not a lasting failure, options refused by name,
 * passwords kept out of errors, and a closed store.
 */
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import pg from 'pg';
import { WorkerError } from '../../src/worker/errors.ts';
import { isLastingFailure, maskPostgresUrl } from '../../src/worker/postgres-errors.ts';
import { parsePostgresStoreOptions } from '../../src/worker/postgres-options.ts';
import { createPool } from '../../src/worker/postgres-pool.ts';
import { PostgresStore } from '../../src/worker/postgres-store.ts';
import type { PostgresStoreOptions } from '../../src/worker/postgres-options.ts';
import { PURGE_BATCH } from '../../src/worker/postgres-purge.ts';
import type { StoreHealthListener } from '../../src/worker/store-engine.ts';
import { describePostgres, dropTestDatabases, freshDatabase, sql } from '../helpers/postgres.ts';

const stores: PostgresStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await dropTestDatabases();
});

async function openFresh(options: Partial<PostgresStoreOptions> = {}, health?: StoreHealthListener): Promise<{ store: PostgresStore; url: string }> {
  const url = await freshDatabase();
  const store = await PostgresStore.open({ url, ...options }, health);
  stores.push(store);
  return { store, url };
}

async function rejection(promise: Promise<unknown>): Promise<WorkerError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof WorkerError)) throw new Error(`expected a WorkerError, got ${String(error)}`);
  return error;
}

const key = (idempotencyKey: string, workerId = 'w1', now?: number) => ({
  provider: 'card', idempotencyKey, requestId: `req-${idempotencyKey}-${workerId}`, payloadDigest: `digest-${idempotencyKey}`, workerId,
  ...(now === undefined ? {} : { now }),
});

describePostgres('PostgreSQL store: atomic units', () => {
  it('commit every write of a unit together, or none when it throws', async () => {
    const { store, url } = await openFresh();
    const result = await store.atomic(async (tx) => {
      await tx.markSeen('req-a', Date.now() + 60_000);
      return tx.begin(key('k-a'));
    });
    expect(result).toEqual({ kind: 'new' });

    const thrown = new Error('the caller gave up');
    await expect(
      store.atomic(async (tx) => {
        await tx.markSeen('req-b', Date.now() + 60_000);
        await tx.begin(key('k-b'));
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(await sql(url, 'SELECT request_id FROM seen_requests ORDER BY 1')).toEqual([{ request_id: 'req-a' }]);
    expect(await sql(url, 'SELECT idempotency_key FROM idempotency ORDER BY 1')).toEqual([{ idempotency_key: 'k-a' }]);
  });

  it('do not commit a unit one of whose statements failed, even when the caller swallowed the error', async () => {
    const { store, url } = await openFresh();
    let seen: unknown;
    const error = await rejection(
      store.atomic(async (tx) => {
        await tx.markSeen('req-c', Date.now() + 60_000);
        // PostgreSQL text cannot hold NUL: the statement fails and the transaction is aborted.
        seen = await tx.begin({ ...key('k-c'), provider: 'nul\u0000provider' }).catch((e: unknown) => e);
        return 'carried on';
      }),
    );
    expect(seen).toBeInstanceOf(WorkerError);
    expect((seen as WorkerError).code).toBe('STORE_FAILED');
    expect(error.code).toBe('STORE_FAILED');
    expect(error.message).toMatch(/rolled back/);
    expect(await sql(url, 'SELECT count(*)::int AS n FROM seen_requests')).toEqual([{ n: 0 }]);
    // the pool's connection is still usable
    expect(await store.begin(key('k-c'))).toEqual({ kind: 'new' });
  });

  it('claim answers a recorded request id without claiming its key', async () => {
    const { store, url } = await openFresh();
    const expiresAt = Date.now() + 60_000;
    const claim = { requestId: 'req-d', expiresAt, begin: key('k-d') };
    expect(await store.claim(claim)).toEqual({ kind: 'begun', begun: { kind: 'new' } });
    await store.atomic(async (tx) => {
      await tx.complete({ provider: 'card', idempotencyKey: 'k-d', reply: 'approved' });
      await tx.recordAnswer({ requestId: 'req-d', expiresAt, reply: 'approved', final: true });
    });
    await sql(url, "DELETE FROM idempotency WHERE idempotency_key = 'k-d'");
    expect(await store.claim(claim)).toEqual({ kind: 'answered', reply: Buffer.from('approved') });
    expect(await sql(url, 'SELECT count(*)::int AS n FROM idempotency')).toEqual([{ n: 0 }]);
  });
});

describePostgres('PostgreSQL store: begin', () => {
  it('inserts again when the entry it lost to is abandoned between its insert and its read', async () => {
    const { store, url } = await openFresh();
    // T1 holds an uncommitted entry for the key: the store's insert waits for it.
    const t1 = new pg.Client({ connectionString: url });
    const t2 = new pg.Client({ connectionString: url });
    await Promise.all([t1.connect(), t2.connect()]);
    try {
      await t1.query('BEGIN');
      await t1.query("INSERT INTO idempotency VALUES ('card', 'k-race', 'req-first', 'digest-k-race', 'in-progress', 'w-first', 1, NULL, NULL)");
      const begun = store.begin(key('k-race', 'w-second'));
      await waitForLockWait(url, 'INSERT INTO idempotency');
      // T2 queues for an exclusive table lock: the store's read, after its insert, will queue behind it.
      await t2.query('BEGIN');
      const locked = t2.query('LOCK TABLE idempotency IN ACCESS EXCLUSIVE MODE');
      await t1.query('COMMIT'); // the insert finds the key taken and does nothing
      await locked; // granted once that insert's transaction ended
      await t2.query("DELETE FROM idempotency WHERE idempotency_key = 'k-race'"); // the first holder abandons
      await t2.query('COMMIT');
      expect(await begun).toEqual({ kind: 'new' });
    } finally {
      await Promise.all([t1.end(), t2.end()]);
    }
    expect(await sql(url, 'SELECT worker_id FROM idempotency')).toEqual([{ worker_id: 'w-second' }]);
  });
});

/** Waits until a session of `url`'s database waits for a lock while running a statement containing `statement`. */
async function waitForLockWait(url: string, statement: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await sql(url, "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1", [
      `%${statement}%`,
    ]);
    if (rows.length > 0) return;
    if (Date.now() > deadline) throw new Error(`no session waited for a lock running ${statement}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describePostgres('PostgreSQL store: purge', () => {
  const HOUR = 60 * 60 * 1_000;

  it('never deletes an in-progress entry within its lease, even with a retention shorter than the lease', async () => {
    const { store } = await openFresh({ retentionMs: 0, leaseMs: 60_000 });
    const now = 10 * HOUR;
    await store.begin(key('k-live', 'w1', now - 30_000));
    await store.begin(key('k-done', 'w1', now - 30_000));
    await store.complete({ provider: 'card', idempotencyKey: 'k-done', reply: 'ok', now: now - 20_000 });
    expect(await store.purge(now)).toEqual({ entries: 1, requests: 0 });
    expect((await store.begin(key('k-live', 'w2', now))).kind).toBe('in-progress');
    // once its lease ran out (started more than max(retention, lease) ago) it goes
    expect(await store.purge(now + 30_001)).toEqual({ entries: 1, requests: 0 });
    expect((await store.begin(key('k-live', 'w2', now + 30_001))).kind).toBe('new');
  });

  it('keeps in-progress and completed entries for the retention when it is longer than the lease', async () => {
    const { store } = await openFresh({ retentionMs: HOUR, leaseMs: 60_000 });
    const now = 10 * HOUR;
    await store.begin(key('k-old', 'w1', now - 2 * HOUR));
    await store.begin(key('k-recent', 'w1', now - HOUR / 2));
    await store.begin(key('k-completed', 'w1', now - 2 * HOUR));
    await store.complete({ provider: 'card', idempotencyKey: 'k-completed', reply: 'ok', now: now - HOUR / 2 });
    await store.markSeen('req-gone', now - 1 - 5 * 60_000); // kept until now - 1
    await store.markSeen('req-kept', now - 5 * 60_000); // kept until now
    expect(await store.purge(now)).toEqual({ entries: 1, requests: 1 });
    expect((await store.begin(key('k-recent', 'w2', now))).kind).toBe('in-progress');
    expect((await store.begin(key('k-completed', 'w2', now))).kind).toBe('completed');
    expect((await store.markSeen('req-kept', now)).seenBefore).toBe(true);
  });

  it('deletes any number of rows, batch after batch', async () => {
    const { store, url } = await openFresh({ retentionMs: 0 });
    const count = 2 * PURGE_BATCH + 34;
    await sql(url, `INSERT INTO idempotency SELECT 'card', 'k' || i, 'r' || i, 'd', 'completed', 'w', 1, 2, 'x' FROM generate_series(1, ${count}) i`);
    await sql(url, `INSERT INTO seen_requests (request_id, keep_until) SELECT 'r' || i, 5 FROM generate_series(1, ${count}) i`);
    expect(await store.purge(10)).toEqual({ entries: count, requests: count });
    expect(await sql(url, 'SELECT (SELECT count(*) FROM idempotency)::int AS e, (SELECT count(*) FROM seen_requests)::int AS s')).toEqual([{ e: 0, s: 0 }]);
  });

  it('skips a row another transaction holds, without waiting for it', async () => {
    const { store, url } = await openFresh({ retentionMs: 0, statementTimeoutMs: 60_000 });
    await sql(url, "INSERT INTO idempotency VALUES ('card', 'k-held', 'r1', 'd', 'completed', 'w', 1, 2, 'x'), ('card', 'k-free', 'r2', 'd', 'completed', 'w', 1, 2, 'x')");
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM idempotency WHERE idempotency_key = 'k-held' FOR UPDATE");
      expect(await store.purge(10)).toEqual({ entries: 1, requests: 0 });
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    expect(await store.purge(10)).toEqual({ entries: 1, requests: 0 });
  });
});

describePostgres('PostgreSQL store: failures that are not lasting', () => {
  it('a statement timed out behind a row lock is STORE_FAILED, but the store is not failing', async () => {
    const failures: WorkerError[] = [];
    const { store, url } = await openFresh({ statementTimeoutMs: 200 }, { onFailure: (error) => failures.push(error) });
    await store.begin(key('k-locked'));
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM idempotency WHERE idempotency_key = 'k-locked' FOR UPDATE");
      const error = await rejection(store.complete({ provider: 'card', idempotencyKey: 'k-locked', reply: 'ok' }));
      expect(error.code).toBe('STORE_FAILED');
      expect(error.message).toMatch(/statement timeout.*57014/);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    expect(failures).toEqual([]);
    expect(store.failure).toBeUndefined();
    expect((await store.complete({ provider: 'card', idempotencyKey: 'k-locked', reply: 'ok' })).alreadyCompleted).toBe(false);
  });

  it('classifies driver errors: contention clears by itself; everything else lasts (unreachable, read-only, no rights…)', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    // 25006: a node turned read-only by a failover; 42501: a grant revoked; 42P01: a table gone.
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '08006', '08001', '57P01', '57P02', '57P03', '53100', '53300', '58030', 'XX001', '28P01', '3D000', '25006', '42501', '42P01', '23505']) {
      expect([code, isLastingFailure(withCode(code))]).toEqual([code, true]);
    }
    expect(isLastingFailure(new WorkerError('IDEMPOTENCY_NOT_HELD', 'not held'))).toBe(false);
    for (const code of ['40001', '40P01', '55P03', '57014']) {
      expect([code, isLastingFailure(withCode(code))]).toEqual([code, false]);
    }
    expect(isLastingFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isLastingFailure(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isLastingFailure(new Error('Query read timeout'))).toBe(true);
    // every pooled connection busy: contention, not an outage
    expect(isLastingFailure(new Error('timeout exceeded when trying to connect'))).toBe(false);
  });
});

describePostgres('PostgreSQL store: its pool', () => {
  it('a connection checked out of the pool, before its user listens for errors, survives the server ending its session', async () => {
    const url = await freshDatabase();
    const pool = createPool(parsePostgresStoreOptions({ url }), 1);
    try {
      // As a waiting caller gets it: the pool's idle listener is gone, the caller's not yet there.
      const client = await pool.connect();
      const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
      // The server ends that session (57P01 "terminating connection due to administrator command",
      // as at a fast shutdown): an `error` event on the client, which must not be uncaught.
      await sql(url, 'SELECT pg_terminate_backend($1)', [pid]);
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      // The pool goes on with a new connection.
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describePostgres('PostgreSQL store: options, secrets, close', () => {
  it('refuses bad options by name (STORE_BAD_OPTIONS), never quoting the URL', async () => {
    const error = await rejection(PostgresStore.open({ url: 'mysql://root:hunter2@db/x', poolSize: 0 }));
    expect(error.code).toBe('STORE_BAD_OPTIONS');
    expect(error.message).toMatch(/url: must be a postgres:\/\/ URL/);
    expect(error.message).toMatch(/poolSize/);
    expect(error.message).not.toContain('hunter2');
  });

  it('keeps the password out of the error of a refused login and of its cause', async () => {
    const url = new URL(await freshDatabase());
    url.password = 'Wrong-Secret-93f1';
    const error = await rejection(PostgresStore.open({ url: url.toString() }));
    expect(error.code).toBe('STORE_FAILED');
    expect(error.message).toContain(maskPostgresUrl(url.toString()));
    expect(error.message).toMatch(/password authentication failed.*28P01/);
    const texts = [error.message, error.stack ?? '', String((error.cause as Error).message), String((error.cause as Error).stack)];
    for (const text of texts) expect(text).not.toContain('Wrong-Secret-93f1');
    expect(maskPostgresUrl('postgres://paygate:p%40ss@db:5432/x')).toBe('postgres://paygate:***@db:5432/x');
  });

  it('refuses a password among the URL\'s query parameters (node-postgres would use it, and no mask covers it)', async () => {
    const url = new URL(await freshDatabase());
    url.password = '';
    url.searchParams.set('password', 'Query-Secret-7c2e');
    const error = await rejection(PostgresStore.open({ url: url.toString() }));
    expect(error.code).toBe('STORE_BAD_OPTIONS');
    expect(error.message).toMatch(/query parameter/);
    expect(error.message).not.toContain('Query-Secret-7c2e');
    expect(maskPostgresUrl('postgres://paygate@db/x?sslmode=require&application_name=pay')).toBe('postgres://paygate@db/x?sslmode=***&application_name=***');
  });

  it('fails every call with STORE_FAILED once closed; closing twice is harmless', async () => {
    const { store } = await openFresh();
    await store.close();
    await store.close();
    expect((await rejection(store.begin(key('k')))).code).toBe('STORE_FAILED');
    expect((await rejection(store.atomic(async () => 1))).code).toBe('STORE_FAILED');
    expect((await rejection(store.probe())).code).toBe('STORE_FAILED');
  });
});

describePostgres('PostgreSQL store: this host\'s clock against the database\'s', () => {
  // The host's clock is moved with fake dates (only Date: sockets and timers stay real), which is
  // what a host whose clock runs ahead looks like to the database.
  afterEach(() => {
    vi.useRealTimers();
  });
  const runAhead = (ms: number): void => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + ms);
  };

  it('refuses to open on a host whose clock is off by more than maxClockSkewMs', async () => {
    const url = await freshDatabase();
    runAhead(10_000);
    const error = await rejection(PostgresStore.open({ url }));
    expect(error.code).toBe('STORE_CLOCK_SKEW');
    expect(error.message).toMatch(/ms ahead of the idempotency database's, more than the 1000 ms/);
  });

  it('stops claiming when the clock drifts while running (seen by a purge), and serves again once a probe finds it right', async () => {
    const failures: string[] = [];
    let recovered = 0;
    const { store } = await openFresh({}, { onFailure: (error) => failures.push(error.code), onRecovery: () => (recovered += 1) });
    runAhead(-8_000);
    expect((await rejection(store.purge())).code).toBe('STORE_CLOCK_SKEW');
    expect(store.failure?.code).toBe('STORE_CLOCK_SKEW');
    expect((await rejection(store.claim({ requestId: 'req-skew', expiresAt: Date.now() + 60_000, begin: key('k-skew') }))).code).toBe('STORE_CLOCK_SKEW');
    expect((await rejection(store.probe())).code).toBe('STORE_CLOCK_SKEW');
    vi.useRealTimers();
    await store.probe();
    expect([store.failure, recovered, failures[0]]).toEqual([undefined, 1, 'STORE_CLOCK_SKEW']);
    expect(await store.claim({ requestId: 'req-skew', expiresAt: Date.now() + 60_000, begin: key('k-skew') })).toEqual({ kind: 'begun', begun: { kind: 'new' } });
  });

  it('the bound must stay below the lease\'s margin: min(5 s, lease / 4)', async () => {
    const error = await rejection(PostgresStore.open({ url: 'postgres://u@127.0.0.1:1/x', leaseMs: 8_000, maxClockSkewMs: 2_000 }));
    expect([error.code, error.message]).toEqual(['STORE_BAD_OPTIONS', expect.stringMatching(/maxClockSkewMs: must be below .* 2000 ms/)]);
  });
});
