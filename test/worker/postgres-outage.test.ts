/**
 * The PostgreSQL store when its server goes away and comes back, on a server of this test's own
 * (test/helpers/postgres.ts `startPostgres`: the shared one stays up for the other suites):
 *
 * - stopped: every operation fails with `STORE_FAILED` (the password nowhere in it), the health
 *   listener hears of it, `failure` says so, and `claim` is refused at once with that failure;
 * - started again: the next probe commits, the listener hears of the recovery, `failure` clears,
 *   and the same store (the same pool: nothing reopened) serves again;
 * - killed (SIGKILL, the connections it had cut mid-transaction): the unit in flight fails, the
 *   broken connections it leaves in the pool never crash the process, and after a restart the
 *   store recovers the same way; what the killed unit did not commit is not there;
 * - frozen (SIGSTOP: a server that stops answering without closing anything, as a hung host or a
 *   lost network looks): operations fail with `STORE_FAILED` within the store's timeouts instead
 *   of hanging, the store is failing, and once the server answers again a probe recovers it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WorkerError } from '../../src/worker/errors.ts';
import { PostgresStore } from '../../src/worker/postgres-store.ts';
import { openStoreWhenReachable } from '../../src/worker/store-wait.ts';
import { describePostgres, sql, startPostgres, type TestPostgres } from '../helpers/postgres.ts';

const key = (idempotencyKey: string) => ({
  provider: 'card', idempotencyKey, requestId: `req-${idempotencyKey}`, payloadDigest: `digest-${idempotencyKey}`, workerId: 'w1',
});

async function rejection(promise: Promise<unknown>): Promise<WorkerError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof WorkerError)) throw new Error(`expected a WorkerError, got ${String(error)}`);
  return error;
}

describePostgres('PostgreSQL store: the server stopped, killed and started again', () => {
  let server: TestPostgres;
  let store: PostgresStore;
  const events: string[] = [];
  const failures: WorkerError[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    store = await PostgresStore.open(
      { url: server.url, connectTimeoutMs: 2_000, statementTimeoutMs: 2_000, poolSize: 4 },
      {
        onFailure: (error) => {
          events.push('failure');
          failures.push(error);
        },
        onRecovery: () => events.push('recovery'),
      },
    );
  });
  afterAll(async () => {
    await store?.close();
    await server?.remove();
  });

  it('fails with STORE_FAILED while stopped, refuses claims at once, and recovers on the first probe after the restart', async () => {
    expect(await store.begin(key('k-before'))).toEqual({ kind: 'new' });
    await server.stop();

    const probe = await rejection(store.probe());
    expect(probe.code).toBe('STORE_FAILED');
    expect(probe.message).toMatch(/ECONNREFUSED|Connection terminated|57P01/);
    expect(probe.message).not.toContain('paygate-test-pass');
    expect(events).toEqual(['failure']);
    expect(store.failure).toBe(probe);
    expect((await rejection(store.begin(key('k-during')))).code).toBe('STORE_FAILED');
    // refused at once, without a round trip: the same failure, no new one reported
    const before = events.length;
    await expect(store.claim({ requestId: 'req-during', expiresAt: Date.now() + 60_000, begin: key('k-during') })).rejects.toBe(store.failure);
    expect(events).toHaveLength(before);

    await server.start();
    await store.probe();
    expect(events.at(-1)).toBe('recovery');
    expect(store.failure).toBeUndefined();
    expect(await store.claim({ requestId: 'req-after', expiresAt: Date.now() + 60_000, begin: key('k-after') })).toEqual({ kind: 'begun', begun: { kind: 'new' } });
    expect((await store.begin(key('k-before'))).kind).toBe('in-progress');
  });

  it('fails the unit in flight when the server is killed, without crashing, and recovers after a restart', async () => {
    events.length = 0;
    const unit = store.atomic(async (tx) => {
      await tx.markSeen('req-killed', Date.now() + 60_000);
      await server.kill();
      return tx.begin(key('k-killed'));
    });
    const error = await rejection(unit);
    expect(error.code).toBe('STORE_FAILED');
    expect(events).toEqual(['failure']);
    // the pool's other connections broke too; each call fails, none crashes the process
    expect((await rejection(store.probe())).code).toBe('STORE_FAILED');
    expect(store.failure).toBeDefined();

    await server.start();
    await store.probe();
    expect(events.at(-1)).toBe('recovery');
    expect(store.failure).toBeUndefined();
    // nothing of the killed unit was committed
    expect(await sql(server.url, "SELECT count(*)::int AS n FROM seen_requests WHERE request_id = 'req-killed'")).toEqual([{ n: 0 }]);
    expect(await store.begin(key('k-killed'))).toEqual({ kind: 'new' });
    expect(failures.every((failure) => !failure.message.includes('paygate-test-pass'))).toBe(true);
  });
});

describePostgres('PostgreSQL store: a server that stops answering', () => {
  let server: TestPostgres;
  let store: PostgresStore;
  const events: string[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    // Short timeouts, so the test's waits are short: a statement 400 ms, a connect 400 ms.
    store = await PostgresStore.open(
      { url: server.url, connectTimeoutMs: 400, statementTimeoutMs: 400, poolSize: 2 },
      { onFailure: () => events.push('failure'), onRecovery: () => events.push('recovery') },
    );
  });
  afterAll(async () => {
    server?.thaw();
    await store?.close();
    await server?.remove();
  });

  it('fails with STORE_FAILED within its timeouts (no hang), refuses claims, and recovers once the server answers', async () => {
    expect(await store.begin(key('k-before-freeze'))).toEqual({ kind: 'new' });
    server.freeze();
    // No answer ever comes: the client's own query timeout (statement + connect) ends the wait.
    const begun = await rejection(store.begin(key('k-frozen')));
    expect(begun.code).toBe('STORE_FAILED');
    expect(events).toEqual(['failure']);
    expect(store.failure).toBeDefined();
    await expect(store.claim({ requestId: 'req-frozen', expiresAt: Date.now() + 60_000, begin: key('k-frozen') })).rejects.toBe(store.failure);
    // A probe meanwhile fails the same way, as the worker's once-a-second probe would.
    expect((await rejection(store.probe())).code).toBe('STORE_FAILED');

    server.thaw();
    // The worker probes until one commits: the connections that timed out are replaced.
    for (let attempt = 1; store.failure !== undefined; attempt += 1) {
      if (attempt > 20) throw new Error(`the store did not recover after ${attempt - 1} probes: ${store.failure.message}`);
      await store.probe().catch(() => undefined);
    }
    expect(events.at(-1)).toBe('recovery');
    expect(await store.claim({ requestId: 'req-thawed', expiresAt: Date.now() + 60_000, begin: key('k-thawed') })).toEqual({ kind: 'begun', begun: { kind: 'new' } });
    expect((await store.begin(key('k-before-freeze'))).kind).toBe('in-progress');
  });
});

describePostgres('PostgreSQL store: a worker starting while the database is down', () => {
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.remove();
  });

  it('waits for the database (each failed attempt reported, no password), then opens a working store', async () => {
    await server.stop();
    const attempts: { code: string; message: string }[] = [];
    let reported!: () => void;
    const firstAttempt = new Promise<void>((resolve) => (reported = resolve));
    const opening = openStoreWhenReachable({ url: server.url, connectTimeoutMs: 1_000 }, {}, {
      onStoreUnreachable: (attempt) => {
        attempts.push(attempt);
        reported();
      },
    });
    await firstAttempt;
    await server.start();
    const store = await opening;
    try {
      expect(attempts[0]).toMatchObject({ code: 'STORE_FAILED', message: expect.stringMatching(/ECONNREFUSED/) });
      expect(attempts.every((a) => !a.message.includes('paygate-test-pass'))).toBe(true);
      expect(await store.claim({ requestId: 'req-late', expiresAt: Date.now() + 60_000, begin: key('k-late') })).toEqual({ kind: 'begun', begun: { kind: 'new' } });
    } finally {
      await store.close();
    }
  });

  it('gives up with the last failure when stopped while waiting; a refused login is not waited for', async () => {
    await server.stop();
    const stop = new AbortController();
    const opening = openStoreWhenReachable({ url: server.url }, {}, { signal: stop.signal, onStoreUnreachable: () => stop.abort() });
    expect((await rejection(opening)).code).toBe('STORE_FAILED');
    await server.start();
    const wrong = new URL(server.url);
    wrong.password = 'not-the-password';
    let waited = 0;
    const refused = await rejection(openStoreWhenReachable({ url: wrong.toString() }, {}, { onStoreUnreachable: () => (waited += 1) }));
    expect([refused.code, waited]).toEqual(['STORE_FAILED', 0]);
    expect(refused.message).toMatch(/28P01/);
  });
});
