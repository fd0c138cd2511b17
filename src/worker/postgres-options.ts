/**
 * The options of the PostgreSQL engine of the idempotency store and their defaults, in one
 * place. The retention settings are the SQLite engine's (`idempotency-store.ts`), so a config
 * moves from one engine to the other by changing `path` into `url`.
 */
import { z } from 'zod';

const ms = z.number().int().nonnegative();
const DAY = 24 * 60 * 60 * 1_000;

/** A `postgres://` or `postgresql://` connection URL (user, password, host, port, database). */
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\/./, 'must be a postgres:// URL');

export const postgresStoreOptionsSchema = z.strictObject({
  /** The database every gateway host shares: `postgres://user:password@host:port/database`. */
  url: postgresUrl,
  /** Connections each worker process keeps open at most (the pool's size). */
  poolSize: z.number().int().positive().default(8),
  /** How long opening a connection may take before the operation fails with `STORE_FAILED`. */
  connectTimeoutMs: z.number().int().positive().default(5_000),
  /** How long one statement may run (server side) before it fails with `STORE_FAILED`. */
  statementTimeoutMs: z.number().int().positive().default(5_000),
  /** Run the versioned migrations at open (the default); false: refuse a database not migrated to this version (`paygate db migrate` first). */
  migrate: z.boolean().default(true),
  /** As in the SQLite engine: how long a completed entry (and a stale in-progress one) is kept. */
  retentionMs: ms.default(7 * DAY),
  /** As in the SQLite engine: how long an in-progress entry is presumed to belong to a live worker. */
  leaseMs: z.number().int().positive().default(60_000),
  /** As in the SQLite engine: how long a seen request id is kept beyond its `expires_at`. */
  replayMarginMs: ms.default(5 * 60_000),
});

/** The options the PostgreSQL engine accepts (defaults may be left out). */
export type PostgresStoreOptions = z.input<typeof postgresStoreOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedPostgresStoreOptions = z.output<typeof postgresStoreOptionsSchema>;
