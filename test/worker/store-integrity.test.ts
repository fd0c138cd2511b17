/**
 * The idempotency store refuses, at open, to serve from a store that is damaged, lost or too
 * new, on real files: truncated to zero bytes, deleted, pages overwritten with garbage, a header
 * that is not SQLite's, a schema version from the future. And the documented way to start afresh
 * on purpose (deleting the marker) works.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerError } from '../../src/worker/errors.ts';
import { IdempotencyStore } from '../../src/worker/idempotency-store.ts';
import { markerPathOf, STORE_SCHEMA_VERSION } from '../../src/worker/store-integrity.ts';

const root = mkdtempSync(join(tmpdir(), 'paygate-store-integrity-'));
let counter = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

function freshPath(): string {
  counter += 1;
  return join(root, `run-${counter}`, 'idempotency.sqlite');
}

/** Creates a store at `path` holding `entries` completed keys (replies of ~1 KiB: several pages), then closes it. */
function storeWith(path: string, entries: number): void {
  const store = IdempotencyStore.open({ path });
  for (let i = 0; i < entries; i += 1) {
    const key = { provider: 'card', idempotencyKey: `key-${i}` };
    store.begin({ ...key, requestId: `req-${i}`, payloadDigest: 'd', workerId: 'w1', now: 1_000 });
    store.complete({ ...key, reply: `reply ${i} ${'x'.repeat(1_000)}`, now: 2_000 });
  }
  store.close();
}

function openError(path: string): WorkerError {
  try {
    IdempotencyStore.open({ path }).close();
  } catch (error) {
    if (error instanceof WorkerError) return error;
    throw error;
  }
  throw new Error('the store opened');
}

describe('idempotency store: checks at open', () => {
  it('a new store gets its marker and the schema version, and reopens', () => {
    const path = freshPath();
    storeWith(path, 1);
    expect(existsSync(markerPathOf(path))).toBe(true);
    expect(statSync(path).size).toBeGreaterThan(0);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION);
    raw.close();
    const store = IdempotencyStore.open({ path });
    expect(store.begin({ provider: 'card', idempotencyKey: 'key-0', requestId: 'again', payloadDigest: 'd', workerId: 'w2' }).kind).toBe('completed');
    store.close();
  });

  it('a store truncated to zero bytes is STORE_MISSING, not silently re-created', () => {
    const path = freshPath();
    storeWith(path, 3);
    truncateSync(path, 0);
    const error = openError(path);
    expect(error.code).toBe('STORE_MISSING');
    expect(error.message).toContain('is empty (0 bytes)');
    expect(error.message).toContain(`delete ${markerPathOf(path)}`);
    expect(statSync(path).size).toBe(0); // nothing was written over it
  });

  it('a deleted store is STORE_MISSING; deleting the marker starts afresh on purpose', () => {
    const path = freshPath();
    storeWith(path, 3);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
    expect(openError(path).code).toBe('STORE_MISSING');
    expect(existsSync(path)).toBe(false);
    rmSync(markerPathOf(path));
    const store = IdempotencyStore.open({ path });
    expect(store.begin({ provider: 'card', idempotencyKey: 'key-0', requestId: 'r', payloadDigest: 'd', workerId: 'w' }).kind).toBe('new');
    store.close();
    expect(existsSync(markerPathOf(path))).toBe(true);
  });

  it('data pages overwritten with garbage are STORE_CORRUPT', () => {
    const path = freshPath();
    storeWith(path, 200);
    const size = statSync(path).size;
    const pageSize = 4_096;
    expect(size / pageSize).toBeGreaterThan(20);
    const fd = openSync(path, 'r+');
    // Pages 3 to 10: b-tree pages of the tables (page 1, the header, is left intact).
    writeSync(fd, randomBytes(8 * pageSize), 0, 8 * pageSize, 2 * pageSize);
    closeSync(fd);
    const error = openError(path);
    expect(error.code).toBe('STORE_CORRUPT');
    expect(error.message).toMatch(/is damaged/);
  });

  it('a file whose header is not SQLite\'s is STORE_CORRUPT', () => {
    const path = freshPath();
    storeWith(path, 5);
    const fd = openSync(path, 'r+');
    writeSync(fd, randomBytes(100), 0, 100, 0);
    closeSync(fd);
    expect(openError(path).code).toBe('STORE_CORRUPT');
  });

  it('a store with a newer schema version is STORE_SCHEMA_UNSUPPORTED', () => {
    const path = freshPath();
    storeWith(path, 1);
    const raw = new Database(path);
    raw.pragma(`user_version = ${STORE_SCHEMA_VERSION + 1}`);
    raw.close();
    const error = openError(path);
    expect(error.code).toBe('STORE_SCHEMA_UNSUPPORTED');
    expect(error.message).toContain(`schema version ${STORE_SCHEMA_VERSION + 1}`);
  });

  it('a store made before markers and versions is adopted: checked, versioned, marked, its entries kept', () => {
    const path = freshPath();
    storeWith(path, 2);
    rmSync(markerPathOf(path));
    const raw = new Database(path);
    raw.pragma('user_version = 0');
    raw.close();
    const store = IdempotencyStore.open({ path });
    expect(store.begin({ provider: 'card', idempotencyKey: 'key-1', requestId: 'x', payloadDigest: 'd', workerId: 'w' }).kind).toBe('completed');
    store.close();
    expect(readFileSync(markerPathOf(path), 'utf8')).toContain(path);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION);
    check.close();
  });
});
