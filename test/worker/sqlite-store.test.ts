/**
 * What only the SQLite engine of the idempotency store has, on real files: its options, WAL,
 * and the upgrade of a file made by an older version. The behaviour both engines share is
 * tested on each in idempotency-store.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WORKER_ERROR_CODES, WorkerError } from '../../src/worker/errors.ts';
import { IdempotencyStore, parseIdempotencyOptions } from '../../src/worker/idempotency-store.ts';

const root = mkdtempSync(join(tmpdir(), 'paygate-idem-'));
let counter = 0;
const open: IdempotencyStore[] = [];

/** A fresh database path in the suite's temp folder. */
function freshPath(): string {
  counter += 1;
  return join(root, `run-${counter}`, 'idempotency.sqlite');
}

function openStore(path: string, options: { leaseMs?: number; retentionMs?: number; replayMarginMs?: number } = {}): IdempotencyStore {
  const store = IdempotencyStore.open({ path, ...options });
  open.push(store);
  return store;
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof WorkerError ? error.code : `not a WorkerError: ${String(error)}`;
  }
  return undefined;
}

afterEach(() => {
  for (const store of open.splice(0)) store.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('options', () => {
  it('fills in the defaults in one place', () => {
    expect(parseIdempotencyOptions({ path: '/x/y.sqlite' })).toEqual({
      path: '/x/y.sqlite',
      retentionMs: 7 * 24 * 60 * 60 * 1_000,
      leaseMs: 60_000,
      replayMarginMs: 300_000,
      busyTimeoutMs: 5_000,
    });
  });

  it('refuses invalid options with STORE_BAD_OPTIONS naming the path', () => {
    expect(codeOf(() => IdempotencyStore.open({ path: '' }))).toBe('STORE_BAD_OPTIONS');
    expect(() => parseIdempotencyOptions({ path: '/x', leaseMs: 0 })).toThrow(/leaseMs/);
    expect(() => parseIdempotencyOptions({ path: '/x', retentionMs: -1 })).toThrow(/retentionMs/);
    expect(() => parseIdempotencyOptions({ path: '/x', extra: 1 } as never)).toThrow(WorkerError);
  });

  it('opens the file in WAL mode and fails with STORE_FAILED where it cannot', () => {
    const path = freshPath();
    openStore(path);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    expect(existsSync(`${path}-wal`)).toBe(true);

    const file = join(root, 'a-file');
    writeFileSync(file, 'not a folder');
    expect(codeOf(() => IdempotencyStore.open({ path: join(file, 'store.sqlite') }))).toBe('STORE_FAILED');
  });
});

describe('upgrades', () => {
  it('migrates a file made before answers were recorded: its seen ids are kept, twice opening is harmless', () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(`CREATE TABLE seen_requests (request_id TEXT PRIMARY KEY, keep_until INTEGER NOT NULL) WITHOUT ROWID;
              INSERT INTO seen_requests VALUES ('req-old', 99999);`);
    old.close();
    const [first, second] = [openStore(path), openStore(path)];
    expect(first.markSeen('req-old', 1)).toEqual({ seenBefore: true });
    first.recordAnswer({ requestId: 'req-old', expiresAt: 1, reply: 'answer', final: true });
    expect(second.answerOf('req-old')).toEqual(Buffer.from('answer'));
    const reader = new Database(path, { readonly: true });
    const columns = (reader.prepare('PRAGMA table_info(seen_requests)').all() as { name: string }[]).map((c) => c.name);
    reader.close();
    expect(columns).toEqual(['request_id', 'keep_until', 'reply', 'reply_final', 'reply_failures']);
  });
});

describe('error codes', () => {
  it('are unique', () => {
    expect(new Set(WORKER_ERROR_CODES).size).toBe(WORKER_ERROR_CODES.length);
  });
});
