/**
 * The worker's idempotency store on real SQLite files (no mocks): the four `begin` outcomes,
 * durability across a reopen and a SIGKILL, one winner per key between processes, replay
 * protection and retention.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WORKER_ERROR_CODES, WorkerError } from '../../src/worker/errors.ts';
import { IdempotencyStore, parseIdempotencyOptions } from '../../src/worker/idempotency-store.ts';
import type { BeginInput } from '../../src/worker/idempotency-store.ts';

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

function request(overrides: Partial<BeginInput> = {}): BeginInput {
  return { provider: 'card', idempotencyKey: 'ord-1001-auth', requestId: 'req-1', payloadDigest: 'digest-a', workerId: 'w1', now: 1_000, ...overrides };
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

describe('begin', () => {
  it('gives new, then in-progress to everyone else, then the stored reply once completed', () => {
    const store = openStore(freshPath());
    expect(store.begin(request())).toEqual({ kind: 'new' });
    expect(store.begin(request({ requestId: 'req-2', workerId: 'w2', now: 1_500 }))).toEqual({
      kind: 'in-progress',
      since: 1_000,
      workerId: 'w1',
      requestId: 'req-1',
      leaseExpired: false,
    });
    expect(store.complete({ provider: 'card', idempotencyKey: 'ord-1001-auth', reply: 'status: approved\n', now: 2_000 })).toEqual({
      reply: Buffer.from('status: approved\n'),
      alreadyCompleted: false,
    });
    expect(store.begin(request({ requestId: 'req-3', workerId: 'w3', now: 3_000 }))).toEqual({
      kind: 'completed',
      reply: Buffer.from('status: approved\n'),
      requestId: 'req-1',
      completedAt: 2_000,
    });
  });

  it('reports conflict for the same key with a different payload digest, in progress or completed', () => {
    const store = openStore(freshPath());
    store.begin(request());
    expect(store.begin(request({ payloadDigest: 'digest-b', requestId: 'req-2' }))).toEqual({ kind: 'conflict', requestId: 'req-1' });
    store.complete({ provider: 'card', idempotencyKey: 'ord-1001-auth', reply: 'r' });
    expect(store.begin(request({ payloadDigest: 'digest-b', requestId: 'req-3' })).kind).toBe('conflict');
    expect(store.begin(request({ requestId: 'req-4' })).kind).toBe('completed');
  });

  it('keys by provider and idempotency key together', () => {
    const store = openStore(freshPath());
    expect(store.begin(request()).kind).toBe('new');
    expect(store.begin(request({ provider: 'giftcard', payloadDigest: 'other' })).kind).toBe('new');
    expect(store.begin(request({ idempotencyKey: 'ord-1001-capture', payloadDigest: 'other' })).kind).toBe('new');
    expect(store.begin(request()).kind).toBe('in-progress');
  });

  it('marks the lease expired once leaseMs has passed since the start', () => {
    const store = openStore(freshPath(), { leaseMs: 10_000 });
    store.begin(request({ now: 1_000 }));
    expect(store.begin(request({ now: 10_999 }))).toMatchObject({ kind: 'in-progress', leaseExpired: false });
    expect(store.begin(request({ now: 11_000 }))).toMatchObject({ kind: 'in-progress', leaseExpired: true });
  });
});

describe('take-over of a dead holder\'s entry', () => {
  it('moves the entry to the new holder only while the old one still holds it since the same moment', () => {
    const store = openStore(freshPath(), { leaseMs: 10_000 });
    store.begin(request({ now: 1_000 }));
    const held = store.begin(request({ requestId: 'req-2', workerId: 'w2', now: 12_000 }));
    expect(held).toMatchObject({ kind: 'in-progress', workerId: 'w1', since: 1_000, leaseExpired: true });
    const key = { provider: 'card', idempotencyKey: 'ord-1001-auth' };
    // A stale view (wrong holder or start time) takes nothing.
    expect(store.takeOver({ ...key, fromWorkerId: 'w9', since: 1_000, workerId: 'w2', requestId: 'req-2', now: 12_000 })).toBe(false);
    expect(store.takeOver({ ...key, fromWorkerId: 'w1', since: 999, workerId: 'w2', requestId: 'req-2', now: 12_000 })).toBe(false);
    expect(store.takeOver({ ...key, fromWorkerId: 'w1', since: 1_000, workerId: 'w2', requestId: 'req-2', now: 12_000 })).toBe(true);
    // Of two reconcilers racing, the second finds the holder changed.
    expect(store.takeOver({ ...key, fromWorkerId: 'w1', since: 1_000, workerId: 'w3', requestId: 'req-3', now: 12_001 })).toBe(false);
    // The new holder's lease starts now; it may abandon or complete the entry as its own.
    expect(store.begin(request({ requestId: 'req-4', workerId: 'w4', now: 12_500 }))).toMatchObject({ kind: 'in-progress', workerId: 'w2', requestId: 'req-2', since: 12_000, leaseExpired: false });
    expect(codeOf(() => store.abandon({ ...key, workerId: 'w1' }))).toBe('IDEMPOTENCY_NOT_HELD');
    store.abandon({ ...key, workerId: 'w2' });
    expect(store.begin(request({ now: 13_000 })).kind).toBe('new');
  });

  it('never takes a completed entry', () => {
    const store = openStore(freshPath(), { leaseMs: 10_000 });
    store.begin(request({ now: 1_000 }));
    store.complete({ provider: 'card', idempotencyKey: 'ord-1001-auth', reply: 'stored', now: 2_000 });
    expect(store.takeOver({ provider: 'card', idempotencyKey: 'ord-1001-auth', fromWorkerId: 'w1', since: 1_000, workerId: 'w2', requestId: 'req-2', now: 20_000 })).toBe(false);
    expect(store.begin(request({ now: 20_000 })).kind).toBe('completed');
  });
});

describe('durability', () => {
  it('returns a completed reply byte for byte after the file is reopened', () => {
    const path = freshPath();
    const reply = Buffer.concat([Buffer.from('paygate: 1\nkind: reply\nstatus: approved\n'), Buffer.from([0x00, 0xff, 0xfe, 0x80])]);
    const first = openStore(path);
    first.begin(request());
    first.complete({ provider: 'card', idempotencyKey: 'ord-1001-auth', reply, now: 5_000 });
    first.close();

    const second = openStore(path);
    const outcome = second.begin(request({ requestId: 'req-redelivered', workerId: 'w2' }));
    expect(outcome.kind).toBe('completed');
    if (outcome.kind !== 'completed') return;
    expect(outcome.reply.equals(reply)).toBe(true);
    expect(outcome.completedAt).toBe(5_000);
  });

  it('shows an entry in progress after a close without complete (simulated restart)', () => {
    const path = freshPath();
    const first = openStore(path);
    first.begin(request());
    first.close();
    const second = openStore(path, { leaseMs: 1_000 });
    expect(second.begin(request({ workerId: 'w2', now: 9_000 }))).toEqual({
      kind: 'in-progress',
      since: 1_000,
      workerId: 'w1',
      requestId: 'req-1',
      leaseExpired: true,
    });
  });

  it('shows an entry in progress after its worker died by SIGKILL', async () => {
    const path = freshPath();
    openStore(path).close(); // create the schema first, so that the child only begins
    const child = fork(new URL('./race-worker.ts', import.meta.url).pathname, ['crash', path, 'killed-key', 'w-doomed'], {
      execArgv: ['--import', 'tsx'],
      stdio: 'inherit',
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    const store = openStore(path);
    expect(store.begin(request({ idempotencyKey: 'killed-key', payloadDigest: 'digest-crash', workerId: 'w2' }))).toMatchObject({
      kind: 'in-progress',
      workerId: 'w-doomed',
      requestId: 'req-crash',
    });
  });
});

describe('complete and abandon', () => {
  it('keeps the first reply when a second worker completes the same entry', () => {
    const store = openStore(freshPath());
    store.begin(request());
    store.complete({ provider: 'card', idempotencyKey: 'ord-1001-auth', reply: 'first' });
    expect(store.complete({ provider: 'card', idempotencyKey: 'ord-1001-auth', reply: 'second' })).toEqual({
      reply: Buffer.from('first'),
      alreadyCompleted: true,
    });
  });

  it('refuses to complete or abandon a key nobody holds', () => {
    const store = openStore(freshPath());
    expect(codeOf(() => store.complete({ provider: 'card', idempotencyKey: 'never-begun', reply: 'x' }))).toBe('IDEMPOTENCY_NOT_HELD');
    expect(codeOf(() => store.abandon({ provider: 'card', idempotencyKey: 'never-begun', workerId: 'w1' }))).toBe('IDEMPOTENCY_NOT_HELD');
  });

  it('lets a retry proceed after its holder abandons, and only its holder', () => {
    const store = openStore(freshPath());
    store.begin(request());
    expect(codeOf(() => store.abandon({ provider: 'card', idempotencyKey: 'ord-1001-auth', workerId: 'w2' }))).toBe('IDEMPOTENCY_NOT_HELD');
    expect(store.begin(request({ workerId: 'w2' })).kind).toBe('in-progress');
    store.abandon({ provider: 'card', idempotencyKey: 'ord-1001-auth', workerId: 'w1' });
    expect(store.begin(request({ workerId: 'w2', payloadDigest: 'digest-b' })).kind).toBe('new');
  });

  it('cannot abandon a completed entry', () => {
    const store = openStore(freshPath());
    store.begin(request());
    store.complete({ provider: 'card', idempotencyKey: 'ord-1001-auth', reply: 'r' });
    expect(codeOf(() => store.abandon({ provider: 'card', idempotencyKey: 'ord-1001-auth', workerId: 'w1' }))).toBe('IDEMPOTENCY_NOT_HELD');
    expect(store.begin(request()).kind).toBe('completed');
  });
});

describe('replay protection and retention', () => {
  it('says false the first time a request id is seen and true afterwards, until its expiry plus the margin', () => {
    const path = freshPath();
    const store = openStore(path, { replayMarginMs: 1_000 });
    expect(store.seenRequest('req-1', 10_000)).toBe(false);
    expect(store.seenRequest('req-1', 10_000)).toBe(true);
    expect(store.seenRequest('req-2', 10_000)).toBe(false);
    store.close();
    const reopened = openStore(path, { replayMarginMs: 1_000 });
    expect(reopened.seenRequest('req-1', 10_000)).toBe(true);
    expect(reopened.purge(10_999)).toEqual({ entries: 0, requests: 0 }); // still inside expiry + margin
    expect(reopened.seenRequest('req-1', 10_000)).toBe(true);
    expect(reopened.purge(11_001)).toEqual({ entries: 0, requests: 2 });
    expect(reopened.seenRequest('req-1', 10_000)).toBe(false);
  });

  it('purges completed entries only once they are older than the retention', () => {
    const store = openStore(freshPath(), { retentionMs: 100_000 });
    store.begin(request({ idempotencyKey: 'old' }));
    store.complete({ provider: 'card', idempotencyKey: 'old', reply: 'r', now: 2_000 });
    store.begin(request({ idempotencyKey: 'young' }));
    store.complete({ provider: 'card', idempotencyKey: 'young', reply: 'r', now: 50_000 });
    store.begin(request({ idempotencyKey: 'running', now: 60_000 }));

    expect(store.purge(101_999)).toEqual({ entries: 0, requests: 0 });
    expect(store.begin(request({ idempotencyKey: 'old' })).kind).toBe('completed');
    expect(store.purge(102_001)).toEqual({ entries: 1, requests: 0 });
    expect(store.begin(request({ idempotencyKey: 'old', now: 102_002 })).kind).toBe('new');
    expect(store.begin(request({ idempotencyKey: 'young' })).kind).toBe('completed');
    expect(store.begin(request({ idempotencyKey: 'running' })).kind).toBe('in-progress');
    expect(store.purge(160_001)).toEqual({ entries: 2, requests: 0 }); // "young", and "running" abandoned long ago
    expect(store.begin(request({ idempotencyKey: 'old' })).kind).toBe('in-progress'); // begun again at 102_002
  });

  it('fails with STORE_FAILED once closed; closing twice is harmless', () => {
    const store = openStore(freshPath());
    store.close();
    store.close();
    expect(codeOf(() => store.begin(request()))).toBe('STORE_FAILED');
    expect(codeOf(() => store.seenRequest('r', 1))).toBe('STORE_FAILED');
  });
});

describe('answers recorded per request id', () => {
  it('records the first final answer and gives it back, whoever asks; a later one is not recorded (and is told so)', () => {
    const store = openStore(freshPath(), { replayMarginMs: 1_000 });
    expect(store.markSeen('req-a', 10_000)).toEqual({ seenBefore: false });
    expect(store.markSeen('req-a', 10_000)).toEqual({ seenBefore: true });
    expect(store.recordAnswer({ requestId: 'req-a', expiresAt: 10_000, reply: 'approved once', final: true })).toEqual({ reply: Buffer.from('approved once'), ours: true });
    expect(store.recordAnswer({ requestId: 'req-a', expiresAt: 10_000, reply: 'another', final: true })).toEqual({ reply: Buffer.from('approved once'), ours: false });
    expect(store.recordAnswer({ requestId: 'req-a', expiresAt: 10_000, reply: 'unknown', final: false })).toEqual({ reply: Buffer.from('approved once'), ours: false });
    expect(store.markSeen('req-a', 10_000)).toEqual({ seenBefore: true, answer: Buffer.from('approved once') });
    // An id never seen may be answered directly (recorded as seen at the same time).
    store.recordAnswer({ requestId: 'req-b', expiresAt: 10_000, reply: 'b', final: true });
    expect(store.seenRequest('req-b', 10_000)).toBe(true);
    expect(store.purge(11_001)).toEqual({ entries: 0, requests: 2 });
    expect(store.answerOf('req-a')).toBeUndefined();
  });

  it('an unknown answer is replaced by a final one, never the other way round', () => {
    const store = openStore(freshPath());
    expect(store.recordAnswer({ requestId: 'req-u', expiresAt: 10_000, reply: 'unknown', final: false }).ours).toBe(true);
    expect(store.recordAnswer({ requestId: 'req-u', expiresAt: 10_000, reply: 'unknown again', final: false })).toEqual({ reply: Buffer.from('unknown'), ours: false });
    expect(store.recordAnswer({ requestId: 'req-u', expiresAt: 10_000, reply: 'approved', final: true })).toEqual({ reply: Buffer.from('approved'), ours: true });
    expect(store.answerOf('req-u')).toEqual(Buffer.from('approved'));
  });

  it('counts failed reply attempts per request id, kept as long as the id', () => {
    const store = openStore(freshPath(), { replayMarginMs: 1_000 });
    expect(store.replyFailed('req-f', 10_000)).toBe(1);
    expect(store.replyFailed('req-f', 10_000)).toBe(2);
    store.recordAnswer({ requestId: 'req-f', expiresAt: 10_000, reply: 'x', final: true });
    expect(store.replyFailed('req-f', 10_000)).toBe(3);
    expect(store.markSeen('req-f', 10_000)).toEqual({ seenBefore: true, answer: Buffer.from('x') });
    expect(store.purge(11_001).requests).toBe(1);
    expect(store.replyFailed('req-f', 10_000)).toBe(1);
  });

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

describe('several worker processes on one file', () => {
  it('gives exactly one new per key to two processes racing for 200 keys', async () => {
    const path = freshPath();
    openStore(path).close();
    const script = new URL('./race-worker.ts', import.meta.url).pathname;
    const children = ['wa', 'wb'].map((id) =>
      fork(script, ['race', path, '200', id], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    type Report = { won: number[]; kinds: Record<string, number> };
    // Each racer says it is ready, then sends its report; exiting before the report fails the test.
    const racers = children.map((child) => {
      let ready!: () => void;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const report = new Promise<Report>((resolve, reject) => {
        child.on('message', (message: { ready?: true } | Report) => ('ready' in message ? ready() : resolve(message as Report)));
        child.once('exit', (code) => reject(new Error(`a racer exited with ${code} before reporting`)));
      });
      report.catch(() => undefined); // awaited below
      return { isReady, report };
    });
    await Promise.race([Promise.all(racers.map((r) => r.isReady)), Promise.all(racers.map((r) => r.report))]);
    const startAt = Date.now() + 200;
    for (const child of children) child.send(startAt);
    const [a, b] = (await Promise.all(racers.map((r) => r.report))) as [Report, Report];

    expect(a.won.length + b.won.length).toBe(200);
    expect(new Set([...a.won, ...b.won]).size).toBe(200);
    // every key was tried by both: the loser saw the winner's entry, never a conflict or an error
    expect((a.kinds['in-progress'] ?? 0) + (b.kinds['in-progress'] ?? 0)).toBe(200);
    expect(Object.keys({ ...a.kinds, ...b.kinds }).sort()).toEqual(['in-progress', 'new']);

    const raw = new Database(path, { readonly: true });
    const owners = raw.prepare('SELECT idempotency_key AS key, worker_id AS worker FROM idempotency').all() as Array<{ key: string; worker: string }>;
    raw.close();
    expect(owners).toHaveLength(200);
    const wonBy = new Map<string, string>([...a.won.map((i) => [`key-${i}`, 'wa'] as const), ...b.won.map((i) => [`key-${i}`, 'wb'] as const)]);
    expect(owners.every(({ key, worker }) => wonBy.get(key) === worker)).toBe(true);
  });
});

describe('error codes', () => {
  it('are unique', () => {
    expect(new Set(WORKER_ERROR_CODES).size).toBe(WORKER_ERROR_CODES.length);
  });
});
