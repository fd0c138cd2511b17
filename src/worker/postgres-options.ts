/**
 * The options of the PostgreSQL engine of the idempotency store and their defaults, in one
 * place. The retention settings are the SQLite engine's (`idempotency-store.ts`), so a config
 * moves from one engine to the other by changing `path` into `url`.
 */
import { z } from 'zod';
import { WorkerError } from './errors.ts';

const ms = z.number().int().nonnegative();
const DAY = 24 * 60 * 60 * 1_000;

/** Query parameters that carry a secret: refused, so that the only secret of a URL is its password part, which every message masks. */
const SECRET_PARAMETERS = ['password', 'sslpassword'];

/** Whether `url` names a secret among its query parameters (which node-postgres would use). */
export function hasSecretParameter(url: string): boolean {
  try {
    const names = [...new URL(url).searchParams.keys()].map((name) => name.toLowerCase());
    return names.some((name) => SECRET_PARAMETERS.includes(name));
  } catch {
    return false;
  }
}

/** A `postgres://` or `postgresql://` connection URL (user, password, host, port, database). */
const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/./, 'must be a postgres:// URL')
  .refine((url) => !hasSecretParameter(url), 'must not carry a password as a query parameter: put it in the user:password part');

/**
 * The largest clock difference between a worker and the database that the lease tolerates: a
 * holder's handler is stopped min(5 s, lease / 4) before its lease runs out
 * (`handlerBudgetMs`), and another host judges the lease by its own clock.
 */
export const maxClockSkewBoundMs = (leaseMs: number): number => Math.min(5_000, Math.floor(leaseMs / 4));

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
  /**
   * How far this host's clock may be from the database's (checked at open, by each purge and
   * each probe): hosts judge each other's leases by their own clocks. Beyond it the store
   * refuses to open (`STORE_CLOCK_SKEW`), or stops claiming until the clock is right again.
   * Must stay below min(5 s, lease / 4); by default 1 s, or half that bound for a short lease.
   */
  maxClockSkewMs: z.number().int().positive().optional(),
})
  .superRefine((options, ctx) => {
    if (options.maxClockSkewMs !== undefined && options.maxClockSkewMs >= maxClockSkewBoundMs(options.leaseMs)) {
      ctx.addIssue({ code: 'custom', path: ['maxClockSkewMs'], message: `must be below min(5 s, leaseMs / 4) = ${maxClockSkewBoundMs(options.leaseMs)} ms` });
    }
  })
  .transform((options) => ({
    ...options,
    maxClockSkewMs: options.maxClockSkewMs ?? Math.max(1, Math.min(1_000, Math.floor(maxClockSkewBoundMs(options.leaseMs) / 2))),
  }));

/** The options the PostgreSQL engine accepts (defaults may be left out). */
export type PostgresStoreOptions = z.input<typeof postgresStoreOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedPostgresStoreOptions = z.output<typeof postgresStoreOptionsSchema>;

/**
 * Validate the options and fill in every default; `STORE_BAD_OPTIONS` names the paths (never a
 * value: the URL holds a password).
 */
export function parsePostgresStoreOptions(options: PostgresStoreOptions): ResolvedPostgresStoreOptions {
  const parsed = postgresStoreOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`).join('; ');
    throw new WorkerError('STORE_BAD_OPTIONS', `invalid PostgreSQL idempotency store options: ${paths}`);
  }
  return parsed.data;
}
