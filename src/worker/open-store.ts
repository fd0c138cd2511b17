/**
 * Opens the worker's idempotency store on the engine its options name: `path` → SQLite (one
 * file per host, the single-machine default), `url` → PostgreSQL (one database that every
 * gateway host shares). The PostgreSQL client is loaded only when a `url` is given.
 */
import { z } from 'zod';
import { GroupCommitStore } from './group-commit.ts';
import { idempotencyOptionsSchema, type IdempotencyStoreOptions } from './idempotency-store.ts';
import { parsePostgresStoreOptions, postgresStoreOptionsSchema, type PostgresStoreOptions } from './postgres-options.ts';
import type { StoreHealthListener, WorkerStore } from './store-engine.ts';

/** Either engine's options: SQLite's have a `path`, PostgreSQL's a `url`. */
export const storeOptionsSchema = z.union([idempotencyOptionsSchema, postgresStoreOptionsSchema]);

/** The options {@link openWorkerStore} accepts (defaults may be left out). */
export type StoreOptions = IdempotencyStoreOptions | PostgresStoreOptions;
/** Options with every default filled in. */
export type ResolvedStoreOptions = z.output<typeof storeOptionsSchema>;

/** Whether the options name the PostgreSQL engine. */
export function isPostgresOptions(options: StoreOptions): options is PostgresStoreOptions {
  return 'url' in options;
}

/**
 * Opens the store (SQLite: the file checked and created when new; PostgreSQL: the pool, and the
 * migrations run unless `migrate: false`). @throws WorkerError `STORE_BAD_OPTIONS`,
 * `STORE_FAILED`, `STORE_CORRUPT`, `STORE_MISSING`, `STORE_SCHEMA_UNSUPPORTED`…
 */
export async function openWorkerStore(options: StoreOptions, health: StoreHealthListener = {}): Promise<WorkerStore> {
  if (!isPostgresOptions(options)) return GroupCommitStore.open(options, health);
  // Bad options are refused before the PostgreSQL client is loaded.
  const resolved = parsePostgresStoreOptions(options);
  const { PostgresStore } = await import('./postgres-store.ts');
  return PostgresStore.open(resolved, health);
}
