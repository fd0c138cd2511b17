/**
 * Retention on PostgreSQL: deletes what is past it, as the SQLite engine does (docs/idempotency.md,
 * "Retention"), with two differences that a shared database calls for:
 *
 * - an in-progress entry is deleted only when it started more than max(retention, lease) ago, so
 *   a purge never removes an entry whose holder's lease could still run (with a retention shorter
 *   than the lease, a live holder's entry would otherwise vanish and its key count as new);
 * - it deletes in bounded batches, each one statement that commits on its own, so it never holds
 *   many row locks for long; rows another transaction has locked right now (a take-over, a
 *   complete) are skipped (`SKIP LOCKED`) and left for the next purge. A row is locked before it
 *   is deleted, and its condition is checked again on the version it locked: an entry taken over
 *   (a new start time) or completed meanwhile is not deleted.
 *
 * Every worker of every host purges; several purging at once skip each other's rows.
 */
import type { PurgeResult } from './idempotency-store.ts';
import type { Query, Statement } from './postgres-query.ts';
import type { StoreTimings } from './store-engine.ts';

/** Rows one batch deletes at most. */
export const PURGE_BATCH = 500;

const batchDelete = (name: string, table: string, key: string, where: string): Statement => ({
  name,
  text: `DELETE FROM ${table} WHERE (${key}) IN (
           SELECT ${key} FROM ${table} WHERE ${where} LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED)
         RETURNING 1 AS deleted`,
});

const COMPLETED = batchDelete('paygate-purge-completed', 'idempotency', 'provider, idempotency_key', "state = 'completed' AND completed_at < $1");
const STALE = batchDelete('paygate-purge-stale', 'idempotency', 'provider, idempotency_key', "state = 'in-progress' AND started_at < $1");
const SEEN = batchDelete('paygate-purge-seen', 'seen_requests', 'request_id', 'keep_until < $1');

/** Runs `statement` batch after batch until one deletes less than a full batch; returns the rows deleted. */
async function drain(query: Query, statement: Statement, cutoff: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = (await query(statement, [cutoff])).length;
    total += deleted;
    if (deleted < PURGE_BATCH) return total;
  }
}

/** Deletes what is past retention at `now` (see the module comment). */
export async function purgeExpired(query: Query, timings: StoreTimings, now: number): Promise<PurgeResult> {
  const completed = await drain(query, COMPLETED, now - timings.retentionMs);
  const stale = await drain(query, STALE, now - Math.max(timings.retentionMs, timings.leaseMs));
  const requests = await drain(query, SEEN, now);
  return { entries: completed + stale, requests };
}
