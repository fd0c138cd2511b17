/**
 * The idempotency store's checks at open: a store that is damaged or gone must stop the worker
 * at start with a named error, never be served from (every claim would fail and every request
 * time out) nor silently replaced by an empty one (every retry of a completed key would call the
 * provider again).
 *
 * - A marker file beside the store (`<path>.created`) is written once the store has been
 *   created. The store missing, or zero bytes long, while its marker exists means it was lost:
 *   `STORE_MISSING`. Starting afresh on purpose = deleting the marker (docs/idempotency.md).
 *   A store from before markers existed gets one at its first open (after passing its checks).
 * - `PRAGMA quick_check` at every open (it reads every page, so its time grows with the file;
 *   docs/idempotency.md gives the figures): any finding, or a file SQLite cannot read as a
 *   database, is `STORE_CORRUPT`.
 * - The schema version in `user_version`: a store written by a newer paygate is refused
 *   (`STORE_SCHEMA_UNSUPPORTED`) rather than written with assumptions it breaks.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { WorkerError } from './errors.ts';

/** The schema this code reads and writes (`PRAGMA user_version`; 0 = a store made before versions were kept). */
export const STORE_SCHEMA_VERSION = 1;

/** SQLite's result codes for a file that is not, or no longer, a readable database. */
const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_VTAB']);

/** The marker of the store at `path`: it exists once that store was created. */
export function markerPathOf(path: string): string {
  return `${path}.created`;
}

/**
 * Before opening: refuses a store that is gone while its marker says it existed.
 * @throws WorkerError `STORE_MISSING`
 */
export function checkStorePresent(path: string): void {
  const marker = markerPathOf(path);
  if (!existsSync(marker)) return;
  const size = existsSync(path) ? statSync(path).size : undefined;
  if (size !== undefined && size > 0) return;
  const what = size === undefined ? 'is missing' : 'is empty (0 bytes)';
  throw new WorkerError(
    'STORE_MISSING',
    `the idempotency store ${path} ${what}, but its marker ${marker} says it was created before: the answers it held are lost, and serving from a new store would call providers again for requests already completed. Restore the file from a backup; or, to start afresh on purpose, delete ${marker}`,
  );
}

/** Whether `error` says that the file is not a readable database. */
export function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CORRUPTION_CODES.has(code);
}

/** `STORE_CORRUPT` for `path`, naming what SQLite found. */
export function corruptStore(path: string, finding: string, cause?: unknown): WorkerError {
  return new WorkerError(
    'STORE_CORRUPT',
    `the idempotency store ${path} is damaged (${finding.slice(0, 300)}): restore it from a backup (or, to start afresh on purpose, move it and its marker ${markerPathOf(path)} away)`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * After opening, before the schema is touched: the integrity check and the schema version.
 * @throws WorkerError `STORE_CORRUPT`, `STORE_SCHEMA_UNSUPPORTED`
 */
export function checkStoreReadable(db: SqliteDatabase, path: string): void {
  const findings = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
  const problems = findings.map((row) => row.quick_check).filter((text) => text !== 'ok');
  if (problems.length > 0) throw corruptStore(path, `${problems.length} finding(s), first: ${problems[0] ?? ''}`);
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > STORE_SCHEMA_VERSION) {
    throw new WorkerError(
      'STORE_SCHEMA_UNSUPPORTED',
      `the idempotency store ${path} has schema version ${version}, newer than this paygate's ${STORE_SCHEMA_VERSION}: run the paygate version that wrote it`,
    );
  }
}

/**
 * Once the schema is in place: records the schema version and writes the marker (a checkpoint
 * first, so that the file itself is never zero bytes long while its marker exists).
 */
export function sealStore(db: SqliteDatabase, path: string): void {
  if ((db.pragma('user_version', { simple: true }) as number) < STORE_SCHEMA_VERSION) db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`);
  const marker = markerPathOf(path);
  if (existsSync(marker)) return;
  // Another process's reader may keep pages in the WAL: then a later open writes the marker.
  const [done] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  if (done === undefined || done.busy !== 0 || done.checkpointed < done.log) return;
  writeFileSync(marker, `paygate idempotency store ${path}\ncreated ${new Date().toISOString()}\ndelete this file only to start afresh with an empty store on purpose\n`, { mode: 0o600 });
}
