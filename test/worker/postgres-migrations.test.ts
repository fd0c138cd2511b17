/**
 * The versioned migrations of the PostgreSQL idempotency store (src/worker/postgres-migrations.ts)
 * on a real server, one fresh database per test: a fresh database reaches the current version,
 * a second run changes nothing, two processes migrating at once migrate once (the second finds
 * the work done under the lock), and a database behind (with `migrate: false`) or ahead of this
 * version is refused with a named error and left as it was.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { WorkerError } from '../../src/worker/errors.ts';
import { migratePostgres, POSTGRES_MIGRATION_LOCK, POSTGRES_SCHEMA_VERSION } from '../../src/worker/postgres-migrations.ts';
import { PostgresStore } from '../../src/worker/postgres-store.ts';
import { describePostgres, dropTestDatabases, freshDatabase, sql } from '../helpers/postgres.ts';
import { BIN, ROOT } from '../integration/request-path-support.ts';

afterAll(dropTestDatabases);

/** The tables of the database, sorted. */
async function tables(url: string): Promise<string[]> {
  const rows = await sql<{ name: string }>(url, "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
  return rows.map((row) => row.name);
}

async function rejection(promise: Promise<unknown>): Promise<WorkerError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof WorkerError)) throw new Error(`expected a WorkerError, got ${String(error)}`);
  return error;
}

describePostgres('PostgreSQL store migrations', () => {
  it('bring a fresh database to the current version, at open or with migratePostgres; a second run changes nothing', async () => {
    const url = await freshDatabase();
    expect(await migratePostgres(url)).toEqual({ from: 0, to: POSTGRES_SCHEMA_VERSION });
    expect(await tables(url)).toEqual(['idempotency', 'schema_migrations', 'seen_requests', 'store_probe']);
    const before = await sql(url, 'SELECT version, name, applied_at FROM schema_migrations ORDER BY version');
    expect(before.map((row) => row.version)).toEqual([1]);

    expect(await migratePostgres(url)).toEqual({ from: 1, to: 1 });
    const store = await PostgresStore.open({ url });
    await store.close();
    expect(await sql(url, 'SELECT version, name, applied_at FROM schema_migrations ORDER BY version')).toEqual(before);

    // open migrates a fresh database by itself (migrate: true is the default)
    const other = await freshDatabase();
    const opened = await PostgresStore.open({ url: other });
    await opened.close();
    expect(await tables(other)).toEqual(['idempotency', 'schema_migrations', 'seen_requests', 'store_probe']);
  });

  it('migrate once when two processes migrate at once: the second finds the work done under the lock', async () => {
    const url = await freshDatabase();
    // Hold the migration lock so that both processes read version 0 and then queue for it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK})`);
    const migrate = (): Promise<{ stdout: string; stderr: string }> =>
      promisify(execFile)(process.execPath, [BIN, 'db', 'migrate', '--url', url], { cwd: ROOT, timeout: 60_000 });
    const runs = [migrate(), migrate()];
    runs.forEach((run) => run.catch(() => undefined)); // awaited below
    const database = new URL(url).pathname.slice(1);
    const waiting = async (): Promise<number> => {
      const [row] = await sql<{ n: number }>(
        url,
        "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = $1",
        [database],
      );
      return row?.n ?? 0;
    };
    const deadline = Date.now() + 30_000;
    while ((await waiting()) < 2) {
      if (Date.now() > deadline) throw new Error('the two migrating processes never both waited for the lock');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await holder.query('COMMIT');
    await holder.end();

    const outputs = (await Promise.all(runs)).map((run) => run.stdout.trim()).sort();
    const shown = url.replace(/:paygate-test-pass@/, ':***@');
    expect(outputs).toEqual([`paygate db migrate: ${shown}: already at schema version 1`, `paygate db migrate: ${shown}: schema version 0 → 1`]);
    expect(await sql(url, 'SELECT version FROM schema_migrations')).toEqual([{ version: 1 }]);
  });

  it('refuse a database behind this version with migrate: false, creating nothing', async () => {
    const url = await freshDatabase();
    const error = await rejection(PostgresStore.open({ url, migrate: false }));
    expect(error.code).toBe('STORE_SCHEMA_OUTDATED');
    expect(error.message).toContain('paygate db migrate');
    expect(await tables(url)).toEqual([]);

    await migratePostgres(url);
    const store = await PostgresStore.open({ url, migrate: false });
    await store.probe();
    await store.close();
  });

  it('refuse a database ahead of this version in both modes, and leave it as it was', async () => {
    const url = await freshDatabase();
    await migratePostgres(url);
    await sql(url, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from a newer paygate')", [POSTGRES_SCHEMA_VERSION + 1]);
    for (const migrate of [true, false]) {
      const error = await rejection(PostgresStore.open({ url, migrate }));
      expect(error.code).toBe('STORE_SCHEMA_UNSUPPORTED');
      expect(error.message).toContain(`schema version ${POSTGRES_SCHEMA_VERSION + 1}`);
    }
    expect((await rejection(migratePostgres(url))).code).toBe('STORE_SCHEMA_UNSUPPORTED');
    expect((await sql(url, 'SELECT version FROM schema_migrations ORDER BY 1')).map((row) => row.version)).toEqual([1, 2]);
  });

  it('roll a failed migration back whole', async () => {
    const url = await freshDatabase();
    // A table in the way: migration 1 fails after creating `idempotency`, and nothing of it stays
    // (neither that table nor schema_migrations, created in the same transaction).
    await sql(url, 'CREATE TABLE seen_requests (x int)');
    const error = await rejection(migratePostgres(url));
    expect(error.code).toBe('STORE_FAILED');
    expect(error.message).toMatch(/relation "seen_requests" already exists/);
    expect(await tables(url)).toEqual(['seen_requests']);
  });
});

