/**
 * The clock check of the PostgreSQL engine. Every worker judges a lease with its own clock
 * against the `started_at` another host wrote with ITS clock, and a holder's handler is stopped
 * only min(5 s, lease / 4) before its lease runs out. A host whose clock runs ahead by more than
 * that margin could find a live holder's lease expired, and take its key over while the first
 * provider call is still in flight. So each host compares its clock with the database's (one
 * clock every host reaches) and refuses to work beyond `maxClockSkewMs`.
 */
import { WorkerError } from './errors.ts';

/** What the check needs of a connection (node-postgres's pool has it). */
interface ClockSource {
  query(text: string): Promise<{ readonly rows: unknown[] }>;
}

/**
 * The database's clock minus this host's (ms), judged at the middle of the round trip, and the
 * round trip's half (the measurement's uncertainty).
 */
export async function clockSkew(db: ClockSource): Promise<{ skewMs: number; uncertaintyMs: number }> {
  const before = Date.now();
  const { rows } = await db.query('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now');
  const after = Date.now();
  const databaseNow = Number((rows[0] as { now: unknown } | undefined)?.now);
  if (!Number.isFinite(databaseNow)) throw new Error('the database did not tell its time');
  return { skewMs: databaseNow - (before + after) / 2, uncertaintyMs: (after - before) / 2 };
}

/** @throws WorkerError `STORE_CLOCK_SKEW` when this host's clock is off by more than `maxSkewMs` (beyond the measurement's uncertainty). */
export async function checkClock(db: ClockSource, maxSkewMs: number): Promise<void> {
  const { skewMs, uncertaintyMs } = await clockSkew(db);
  if (Math.abs(skewMs) - uncertaintyMs <= maxSkewMs) return;
  const direction = skewMs < 0 ? 'ahead of' : 'behind';
  throw new WorkerError(
    'STORE_CLOCK_SKEW',
    `this host's clock is ${Math.round(Math.abs(skewMs))} ms ${direction} the idempotency database's, more than the ${maxSkewMs} ms the leases tolerate: synchronise it (NTP)`,
  );
}
