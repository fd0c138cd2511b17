/**
 * The options of the SQLite engine of the idempotency store (`idempotency-store.ts`) and their
 * defaults, in one place. The retention settings are the PostgreSQL engine's too
 * (`postgres-options.ts`).
 */
import { z } from 'zod';
import { WorkerError } from './errors.ts';

const ms = z.number().int().nonnegative();
const DAY = 24 * 60 * 60 * 1_000;

/** The store's options and their defaults, in one place. */
export const idempotencyOptionsSchema = z.strictObject({
  /** The SQLite file, shared by every worker process of the host; its folder is created (mode 0700) when missing. */
  path: z.string().min(1),
  /** How long a completed entry (and a stale in-progress one) is kept, counted from completion (or start); `purge` deletes older ones. */
  retentionMs: ms.default(7 * DAY),
  /** How long an in-progress entry is presumed to belong to a live worker; after it, `begin` reports `leaseExpired: true`. */
  leaseMs: z.number().int().positive().default(60_000),
  /** How long a seen request id is kept beyond its `expires_at` (covers clock skew between senders and workers). */
  replayMarginMs: ms.default(5 * 60_000),
  /** How long a call waits for another process's write lock before failing with STORE_FAILED. */
  busyTimeoutMs: ms.default(5_000),
});

/** The options `IdempotencyStore.open` accepts (defaults may be left out). */
export type IdempotencyStoreOptions = z.input<typeof idempotencyOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedIdempotencyStoreOptions = z.output<typeof idempotencyOptionsSchema>;

/** Validate the options and fill in every default; `STORE_BAD_OPTIONS` names the paths. */
export function parseIdempotencyOptions(options: IdempotencyStoreOptions): ResolvedIdempotencyStoreOptions {
  const parsed = idempotencyOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`).join('; ');
    throw new WorkerError('STORE_BAD_OPTIONS', `invalid idempotency store options: ${paths}`);
  }
  return parsed.data;
}
