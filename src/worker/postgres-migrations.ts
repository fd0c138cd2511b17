/**
 * The schema of the PostgreSQL idempotency store, as versioned migrations.
 *
 * A shared database outlives any one paygate version and is opened by several hosts at once, so
 * its schema is never created or changed as a side effect of first use: every change is a
 * numbered migration, recorded in `schema_migrations(version, name, applied_at)` once applied.
 * Each migration runs in ONE transaction (PostgreSQL's DDL is transactional: it applies whole or
 * not at all) under `pg_advisory_xact_lock`, and re-reads the version once it holds the lock: of
 * several hosts starting at once, one migrates and the others find it done.
 *
 * The store runs them at open (`migrate: true`, the default) or refuses to open a database that
 * is behind (`migrate: false`, for operators who migrate with `paygate db migrate` first); in
 * both modes a database AHEAD of this version (written by a newer paygate) is refused.
 */
import { WorkerError } from './errors.ts';
import { maskPostgresUrl, passwordOf, storeFailure } from './postgres-errors.ts';
import { parsePostgresStoreOptions } from './postgres-options.ts';
import { createPool } from './postgres-pool.ts';

/** One schema change. */
export interface PostgresMigration {
  /** 1, 2, 3…: applied in this order, each once. */
  readonly version: number;
  /** What it does, recorded with it. */
  readonly name: string;
  readonly sql: string;
}

/**
 * Every migration, in order. Never edit one that was released: add the next. Version 1 is the
 * schema of docs/idempotency.md ("Tables") with PostgreSQL types (BIGINT epoch ms, BYTEA
 * replies), and the indexes `purge` walks: completed entries by completion, in-progress ones by
 * start (partial indexes: each holds only the rows its purge looks at), seen ids by keep-until.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'idempotency, seen_requests and store_probe',
    sql: `
CREATE TABLE idempotency (
  provider TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  request_id TEXT NOT NULL,
  payload_digest TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in-progress', 'completed')),
  worker_id TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  completed_at BIGINT,
  reply BYTEA,
  PRIMARY KEY (provider, idempotency_key)
);
CREATE INDEX idempotency_completed_at ON idempotency (completed_at) WHERE state = 'completed';
CREATE INDEX idempotency_started_at ON idempotency (started_at) WHERE state = 'in-progress';
CREATE TABLE seen_requests (
  request_id TEXT PRIMARY KEY,
  keep_until BIGINT NOT NULL,
  reply BYTEA,
  reply_final BOOLEAN NOT NULL DEFAULT false,
  reply_failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX seen_requests_keep_until ON seen_requests (keep_until);
CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at BIGINT NOT NULL);
`,
  },
];

/** The schema version this paygate reads and writes. */
export const POSTGRES_SCHEMA_VERSION: number = POSTGRES_MIGRATIONS.at(-1)?.version ?? 0;

/** The advisory lock every migrating host takes ('paygate' read as an ASCII number): one migration at a time per database. */
export const POSTGRES_MIGRATION_LOCK = '31632371444970597';

/**
 * What the migrations need of a connection: node-postgres's pool and pooled client have it. Said
 * structurally, so that this module's declarations need no `pg` types (a devDependency).
 */
export interface SqlConnection {
  query(text: string, values?: unknown[]): Promise<{ readonly rows: unknown[] }>;
}
/** A pool that lends {@link SqlConnection}s. */
export interface SqlPool {
  connect(): Promise<SqlConnection & { release(error?: Error): void }>;
}

/** The version recorded in the database; 0 when it has no `schema_migrations` table (a fresh database). */
export async function schemaVersion(db: SqlConnection): Promise<number> {
  const table = await db.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS exists");
  if ((table.rows[0] as { exists?: boolean } | undefined)?.exists !== true) return 0;
  const max = await db.query('SELECT max(version) AS version FROM schema_migrations');
  return (max.rows[0] as { version?: number | null } | undefined)?.version ?? 0;
}

/** `STORE_SCHEMA_UNSUPPORTED` when the database was migrated by a newer paygate. */
function refuseAhead(version: number): void {
  if (version > POSTGRES_SCHEMA_VERSION) {
    throw new WorkerError(
      'STORE_SCHEMA_UNSUPPORTED',
      `the PostgreSQL idempotency store is at schema version ${version}, newer than this paygate's (${POSTGRES_SCHEMA_VERSION}): run the paygate version that migrated it, or a newer one`,
    );
  }
}

/**
 * Refuses a database that is not at this paygate's version (`migrate: false`): behind is
 * `STORE_SCHEMA_OUTDATED` (run `paygate db migrate`), ahead `STORE_SCHEMA_UNSUPPORTED`.
 * Creates nothing.
 */
export async function checkSchema(db: SqlConnection): Promise<number> {
  const version = await schemaVersion(db);
  refuseAhead(version);
  if (version < POSTGRES_SCHEMA_VERSION) {
    throw new WorkerError(
      'STORE_SCHEMA_OUTDATED',
      `the PostgreSQL idempotency store is at schema version ${version}, this paygate needs ${POSTGRES_SCHEMA_VERSION}: run \`paygate db migrate\` (or open it with migrate: true)`,
    );
  }
  return version;
}

/**
 * Applies `migration` unless another host did first; one transaction under the migration lock.
 * Returns the version found once the lock was held (what this host migrated from).
 */
async function applyOne(client: SqlConnection, migration: PostgresMigration): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK})`);
    // Under the lock: no other host creates it at the same moment.
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const version = await schemaVersion(client);
    refuseAhead(version);
    if (version < migration.version) {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    await client.query('COMMIT');
    return version;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined); // a broken connection rolls back on its own
    throw error;
  }
}

/**
 * Brings the database to {@link POSTGRES_SCHEMA_VERSION}: a no-op (and no lock taken) when it is
 * there already. `from` is the version this call found under the lock: when another host
 * migrated first, `from` = `to`. @throws WorkerError `STORE_SCHEMA_UNSUPPORTED`; driver errors as
 * they are.
 */
export async function applyMigrations(pool: SqlPool): Promise<{ from: number; to: number }> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    let from = await schemaVersion(client);
    refuseAhead(from);
    let first = true;
    for (const migration of POSTGRES_MIGRATIONS) {
      if (migration.version <= from) continue;
      const found = await applyOne(client, migration);
      if (first) from = found;
      first = false;
    }
    return { from, to: POSTGRES_SCHEMA_VERSION };
  } catch (error) {
    broken = error;
    throw error;
  } finally {
    client.release(broken instanceof WorkerError ? undefined : (broken as Error | undefined));
  }
}

/**
 * Migrates the database `url` names (`paygate db migrate`) and says from which version to which.
 * @throws WorkerError `STORE_FAILED` (unreachable, refused login… the password masked),
 * `STORE_SCHEMA_UNSUPPORTED`, `STORE_BAD_OPTIONS` (not a postgres:// URL).
 */
export async function migratePostgres(url: string): Promise<{ from: number; to: number }> {
  const options = parsePostgresStoreOptions({ url });
  const pool = createPool(options, 1);
  try {
    return await applyMigrations(pool);
  } catch (error) {
    throw storeFailure(`migrating ${maskPostgresUrl(url)}`, error, passwordOf(url));
  } finally {
    await pool.end().catch(() => undefined);
  }
}
