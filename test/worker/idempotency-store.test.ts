/**
 * The idempotency store's suite, run on every engine of `PAYGATE_TEST_STORES` (SQLite files and
 * PostgreSQL databases, real ones; no mocks) through the interface the worker uses: the four
 * `begin` outcomes, take-over, durability across a reopen and a SIGKILL, one winner per key
 * between processes, atomic units, the claim, replay protection and retention. What only one
 * engine has (SQLite's file checks, PostgreSQL's migrations) is tested beside it
 * (sqlite-store.test.ts, postgres-*.test.ts).
 */
import { fork } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { BeginInput } from '../../src/worker/idempotency-store.ts';
import type { WorkerStore } from '../../src/worker/store-engine.ts';
import { freshStoreLocation, openStoreAt, storeOptionsAt, testStoreEngines, type StoreLocation, type TestStoreEngine, type TestTimings } from '../helpers/stores.ts';

const opened: WorkerStore[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

function request(overrides: Partial<BeginInput> = {}): BeginInput {
  return { provider: 'card', idempotencyKey: 'ord-1001-auth', requestId: 'req-1', payloadDigest: 'digest-a', workerId: 'w1', now: 1_000, ...overrides };
}

const KEY = { provider: 'card', idempotencyKey: 'ord-1001-auth' };

/** The code of the WorkerError `action` rejects with. */
async function codeOf(action: Promise<unknown>): Promise<string | undefined> {
  try {
    await action;
  } catch (error) {
    return (error as { code?: string }).code ?? `no code: ${String(error)}`;
  }
  return undefined;
}

/** Runs race-worker.ts in a child process; resolves with the child (for IPC) once spawned. */
function forkRaceWorker(args: string[]): ReturnType<typeof fork> {
  return fork(new URL('./race-worker.ts', import.meta.url).pathname, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

describe.each(testStoreEngines())('idempotency store on %s', (engine: TestStoreEngine) => {
  /** A store at a new location (or at `location`, to open it again). */
  async function openStore(timings: TestTimings = {}, location?: StoreLocation): Promise<{ store: WorkerStore; location: StoreLocation }> {
    const where = location ?? (await freshStoreLocation(engine));
    const store = await openStoreAt(where, timings);
    opened.push(store);
    return { store, location: where };
  }

  describe('begin', () => {
    it('gives new, then in-progress to everyone else, then the stored reply once completed', async () => {
      const { store } = await openStore();
      expect(store.engine).toBe(engine);
      expect(await store.begin(request())).toEqual({ kind: 'new' });
      expect(await store.begin(request({ requestId: 'req-2', workerId: 'w2', now: 1_500 }))).toEqual({
        kind: 'in-progress', since: 1_000, workerId: 'w1', requestId: 'req-1', leaseExpired: false,
      });
      expect(await store.complete({ ...KEY, reply: 'status: approved\n', now: 2_000 })).toEqual({ reply: Buffer.from('status: approved\n'), alreadyCompleted: false });
      expect(await store.begin(request({ requestId: 'req-3', workerId: 'w3', now: 3_000 }))).toEqual({
        kind: 'completed', reply: Buffer.from('status: approved\n'), requestId: 'req-1', completedAt: 2_000,
      });
    });

    it('reports conflict for the same key with a different payload digest, in progress or completed', async () => {
      const { store } = await openStore();
      await store.begin(request());
      expect(await store.begin(request({ payloadDigest: 'digest-b', requestId: 'req-2' }))).toEqual({ kind: 'conflict', requestId: 'req-1' });
      await store.complete({ ...KEY, reply: 'r' });
      expect((await store.begin(request({ payloadDigest: 'digest-b', requestId: 'req-3' }))).kind).toBe('conflict');
      expect((await store.begin(request({ requestId: 'req-4' }))).kind).toBe('completed');
    });

    it('keys by provider and idempotency key together', async () => {
      const { store } = await openStore();
      expect((await store.begin(request())).kind).toBe('new');
      expect((await store.begin(request({ provider: 'giftcard', payloadDigest: 'other' }))).kind).toBe('new');
      expect((await store.begin(request({ idempotencyKey: 'ord-1001-capture', payloadDigest: 'other' }))).kind).toBe('new');
      expect((await store.begin(request())).kind).toBe('in-progress');
    });

    it('marks the lease expired once leaseMs has passed since the start', async () => {
      const { store } = await openStore({ leaseMs: 10_000 });
      expect(store.timings.leaseMs).toBe(10_000);
      await store.begin(request({ now: 1_000 }));
      expect(await store.begin(request({ now: 10_999 }))).toMatchObject({ kind: 'in-progress', leaseExpired: false });
      expect(await store.begin(request({ now: 11_000 }))).toMatchObject({ kind: 'in-progress', leaseExpired: true });
    });

    it('gives exactly one new to 50 claims of one key made at once', async () => {
      const { store } = await openStore();
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => store.begin(request({ requestId: `req-${i}`, workerId: `w${i}` }))));
      expect(outcomes.filter((o) => o.kind === 'new')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'in-progress')).toHaveLength(49);
    });
  });

  describe('take-over of a dead holder\'s entry', () => {
    it('moves the entry to the new holder only while the old one still holds it since the same moment', async () => {
      const { store } = await openStore({ leaseMs: 10_000 });
      await store.begin(request({ now: 1_000 }));
      const held = await store.begin(request({ requestId: 'req-2', workerId: 'w2', now: 12_000 }));
      expect(held).toMatchObject({ kind: 'in-progress', workerId: 'w1', since: 1_000, leaseExpired: true });
      // A stale view (wrong holder or start time) takes nothing.
      expect(await store.takeOver({ ...KEY, fromWorkerId: 'w9', since: 1_000, workerId: 'w2', requestId: 'req-2', now: 12_000 })).toBe(false);
      expect(await store.takeOver({ ...KEY, fromWorkerId: 'w1', since: 999, workerId: 'w2', requestId: 'req-2', now: 12_000 })).toBe(false);
      expect(await store.takeOver({ ...KEY, fromWorkerId: 'w1', since: 1_000, workerId: 'w2', requestId: 'req-2', now: 12_000 })).toBe(true);
      // Of two reconcilers racing, the second finds the holder changed.
      expect(await store.takeOver({ ...KEY, fromWorkerId: 'w1', since: 1_000, workerId: 'w3', requestId: 'req-3', now: 12_001 })).toBe(false);
      // The new holder's lease starts now; it may abandon or complete the entry as its own.
      expect(await store.begin(request({ requestId: 'req-4', workerId: 'w4', now: 12_500 }))).toMatchObject({ kind: 'in-progress', workerId: 'w2', requestId: 'req-2', since: 12_000, leaseExpired: false });
      expect(await codeOf(store.abandon({ ...KEY, workerId: 'w1' }))).toBe('IDEMPOTENCY_NOT_HELD');
      await store.abandon({ ...KEY, workerId: 'w2' });
      expect((await store.begin(request({ now: 13_000 }))).kind).toBe('new');
    });

    it('of 20 reconcilers taking over at once, exactly one wins', async () => {
      const { store } = await openStore({ leaseMs: 10_000 });
      await store.begin(request({ now: 1_000 }));
      const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => store.takeOver({ ...KEY, fromWorkerId: 'w1', since: 1_000, workerId: `r${i}`, requestId: `req-r${i}`, now: 20_000 })));
      expect(taken.filter(Boolean)).toHaveLength(1);
    });

    it('never takes a completed entry', async () => {
      const { store } = await openStore({ leaseMs: 10_000 });
      await store.begin(request({ now: 1_000 }));
      await store.complete({ ...KEY, reply: 'stored', now: 2_000 });
      expect(await store.takeOver({ ...KEY, fromWorkerId: 'w1', since: 1_000, workerId: 'w2', requestId: 'req-2', now: 20_000 })).toBe(false);
      expect((await store.begin(request({ now: 20_000 }))).kind).toBe('completed');
    });
  });

  describe('durability', () => {
    it('returns a completed reply byte for byte after the store is reopened', async () => {
      const reply = Buffer.concat([Buffer.from('paygate: 1\nkind: reply\nstatus: approved\n'), Buffer.from([0x00, 0xff, 0xfe, 0x80])]);
      const { store: first, location } = await openStore();
      await first.begin(request());
      await first.complete({ ...KEY, reply, now: 5_000 });
      await first.close();
      const { store: second } = await openStore({}, location);
      const outcome = await second.begin(request({ requestId: 'req-redelivered', workerId: 'w2' }));
      expect(outcome).toMatchObject({ kind: 'completed', completedAt: 5_000 });
      expect(outcome.kind === 'completed' && outcome.reply.equals(reply)).toBe(true);
    });

    it('shows an entry in progress after a close without complete (simulated restart)', async () => {
      const { store: first, location } = await openStore();
      await first.begin(request());
      await first.close();
      const { store: second } = await openStore({ leaseMs: 1_000 }, location);
      expect(await second.begin(request({ workerId: 'w2', now: 9_000 }))).toEqual({ kind: 'in-progress', since: 1_000, workerId: 'w1', requestId: 'req-1', leaseExpired: true });
    });

    it('shows an entry in progress after its worker died by SIGKILL', async () => {
      const { store: setup, location } = await openStore();
      await setup.close(); // the schema exists: the child only begins
      const child = forkRaceWorker(['crash', JSON.stringify(storeOptionsAt(location)), 'killed-key', 'w-doomed']);
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      expect(signal).toBe('SIGKILL');
      const { store } = await openStore({}, location);
      expect(await store.begin(request({ idempotencyKey: 'killed-key', payloadDigest: 'digest-crash', workerId: 'w2' }))).toMatchObject({
        kind: 'in-progress', workerId: 'w-doomed', requestId: 'req-crash',
      });
    });
  });

  describe('complete and abandon', () => {
    it('keeps the first reply when a second worker completes the same entry', async () => {
      const { store } = await openStore();
      await store.begin(request());
      await store.complete({ ...KEY, reply: 'first' });
      expect(await store.complete({ ...KEY, reply: 'second' })).toEqual({ reply: Buffer.from('first'), alreadyCompleted: true });
    });

    it('refuses to complete or abandon a key nobody holds', async () => {
      const { store } = await openStore();
      expect(await codeOf(store.complete({ provider: 'card', idempotencyKey: 'never-begun', reply: 'x' }))).toBe('IDEMPOTENCY_NOT_HELD');
      expect(await codeOf(store.abandon({ provider: 'card', idempotencyKey: 'never-begun', workerId: 'w1' }))).toBe('IDEMPOTENCY_NOT_HELD');
    });

    it('lets a retry proceed after its holder abandons, and only its holder', async () => {
      const { store } = await openStore();
      await store.begin(request());
      expect(await codeOf(store.abandon({ ...KEY, workerId: 'w2' }))).toBe('IDEMPOTENCY_NOT_HELD');
      expect((await store.begin(request({ workerId: 'w2' }))).kind).toBe('in-progress');
      await store.abandon({ ...KEY, workerId: 'w1' });
      expect((await store.begin(request({ workerId: 'w2', payloadDigest: 'digest-b' }))).kind).toBe('new');
    });

    it('cannot abandon a completed entry', async () => {
      const { store } = await openStore();
      await store.begin(request());
      await store.complete({ ...KEY, reply: 'r' });
      expect(await codeOf(store.abandon({ ...KEY, workerId: 'w1' }))).toBe('IDEMPOTENCY_NOT_HELD');
      expect((await store.begin(request())).kind).toBe('completed');
    });
  });

  describe('atomic units and the claim', () => {
    it('atomic: its calls commit together, or none when one throws; other units are not affected', async () => {
      const { store } = await openStore();
      const expiresAt = 30_000;
      const failed = store.atomic(async (tx) => {
        await tx.recordAnswer({ requestId: 'req-a', expiresAt, reply: 'a', final: true });
        await tx.begin(request({ idempotencyKey: 'k-in-failed-unit' }));
        await tx.abandon({ provider: 'card', idempotencyKey: 'never-begun', workerId: 'w1' });
      });
      const kept = store.atomic((tx) => tx.recordAnswer({ requestId: 'req-b', expiresAt, reply: 'b', final: true }));
      expect(await codeOf(failed)).toBe('IDEMPOTENCY_NOT_HELD');
      expect(await kept).toEqual({ reply: Buffer.from('b'), ours: true });
      expect(await store.answerOf('req-a')).toBeUndefined();
      expect((await store.begin(request({ idempotencyKey: 'k-in-failed-unit' }))).kind).toBe('new');
      expect(await store.answerOf('req-b')).toEqual(Buffer.from('b'));
    });

    it('atomic: complete and the answer as the worker stores an outcome, seen by a second store at once', async () => {
      const { store, location } = await openStore();
      await store.begin(request());
      const sent = await store.atomic(async (tx) => {
        const stored = await tx.complete({ ...KEY, reply: 'approved', now: 2_000 });
        return tx.recordAnswer({ requestId: 'req-1', expiresAt: 30_000, reply: stored.reply, final: true });
      });
      expect(sent).toEqual({ reply: Buffer.from('approved'), ours: true });
      const { store: other } = await openStore({}, location);
      expect(await other.markSeen('req-1', 30_000)).toEqual({ seenBefore: true, answer: Buffer.from('approved') });
      expect(await other.begin(request({ requestId: 'req-9', workerId: 'w9' }))).toMatchObject({ kind: 'completed', reply: Buffer.from('approved') });
    });

    it('claim: the request id\'s recorded answer and the idempotency claim in one unit', async () => {
      const { store } = await openStore();
      const expiresAt = 30_000;
      const claimBegin = request({ idempotencyKey: 'k-claim', requestId: 'r-k-claim' });
      expect(await store.claim({ requestId: 'req-c', expiresAt, begin: claimBegin })).toEqual({ kind: 'begun', begun: { kind: 'new' } });
      // Seen but not answered (a duplicate in flight, or a worker died): begin again, which finds the entry in progress.
      expect(await store.claim({ requestId: 'req-c', expiresAt, begin: claimBegin })).toMatchObject({ kind: 'begun', begun: { kind: 'in-progress', requestId: 'r-k-claim' } });
      // A new id for a key in progress (a client's retry): recorded as seen, and begin finds the entry.
      expect(await store.claim({ requestId: 'req-retry', expiresAt, begin: { ...claimBegin, requestId: 'r-retry', workerId: 'w2' } })).toMatchObject({ kind: 'begun', begun: { kind: 'in-progress', requestId: 'r-k-claim', workerId: 'w1' } });
      expect(await store.markSeen('req-retry', expiresAt)).toEqual({ seenBefore: true });
      // …and with another payload: a conflict, the id recorded all the same.
      expect(await store.claim({ requestId: 'req-other', expiresAt, begin: { ...claimBegin, payloadDigest: 'digest-z' } })).toEqual({ kind: 'begun', begun: { kind: 'conflict', requestId: 'r-k-claim' } });
      // Once answered: the answer, and the key is not touched.
      await store.recordAnswer({ requestId: 'req-c', expiresAt, reply: 'the first answer', final: true });
      expect(await store.claim({ requestId: 'req-c', expiresAt, begin: request({ idempotencyKey: 'k-other' }) })).toEqual({ kind: 'answered', reply: Buffer.from('the first answer') });
      expect(await store.begin(request({ idempotencyKey: 'k-other' }))).toEqual({ kind: 'new' });
    });
  });

  describe('replay protection and retention', () => {
    it('a request id is unseen the first time and seen afterwards, until its expiry plus the margin', async () => {
      const { store, location } = await openStore({ replayMarginMs: 1_000 });
      expect(await store.markSeen('req-1', 10_000)).toEqual({ seenBefore: false });
      expect(await store.markSeen('req-1', 10_000)).toEqual({ seenBefore: true });
      expect(await store.markSeen('req-2', 10_000)).toEqual({ seenBefore: false });
      await store.close();
      const { store: reopened } = await openStore({ replayMarginMs: 1_000 }, location);
      expect((await reopened.markSeen('req-1', 10_000)).seenBefore).toBe(true);
      expect(await reopened.purge(10_999)).toEqual({ entries: 0, requests: 0 }); // still inside expiry + margin
      expect((await reopened.markSeen('req-1', 10_000)).seenBefore).toBe(true);
      expect(await reopened.purge(11_001)).toEqual({ entries: 0, requests: 2 });
      expect((await reopened.markSeen('req-1', 10_000)).seenBefore).toBe(false);
    });

    it('purges completed entries only once they are older than the retention, and an in-progress one only long after its lease', async () => {
      const { store } = await openStore({ retentionMs: 100_000, leaseMs: 10_000 });
      await store.begin(request({ idempotencyKey: 'old' }));
      await store.complete({ provider: 'card', idempotencyKey: 'old', reply: 'r', now: 2_000 });
      await store.begin(request({ idempotencyKey: 'young' }));
      await store.complete({ provider: 'card', idempotencyKey: 'young', reply: 'r', now: 50_000 });
      await store.begin(request({ idempotencyKey: 'running', now: 60_000 }));

      expect(await store.purge(101_999)).toEqual({ entries: 0, requests: 0 });
      expect((await store.begin(request({ idempotencyKey: 'old' }))).kind).toBe('completed');
      expect(await store.purge(102_001)).toEqual({ entries: 1, requests: 0 });
      expect((await store.begin(request({ idempotencyKey: 'old', now: 102_002 }))).kind).toBe('new');
      expect((await store.begin(request({ idempotencyKey: 'young' }))).kind).toBe('completed');
      expect((await store.begin(request({ idempotencyKey: 'running' }))).kind).toBe('in-progress');
      expect(await store.purge(160_001)).toEqual({ entries: 2, requests: 0 }); // "young", and "running" abandoned long ago
      expect((await store.begin(request({ idempotencyKey: 'old' }))).kind).toBe('in-progress'); // begun again at 102_002
    });

    it('never purges an entry whose holder\'s lease runs, even with a retention shorter than the lease', async () => {
      const { store } = await openStore({ retentionMs: 1_000, leaseMs: 60_000 });
      await store.begin(request({ idempotencyKey: 'held', now: 10_000 }));
      expect(await store.purge(69_999)).toEqual({ entries: 0, requests: 0 });
      expect(await store.begin(request({ idempotencyKey: 'held', workerId: 'w2', now: 69_999 }))).toMatchObject({ kind: 'in-progress', workerId: 'w1' });
      expect((await store.purge(70_001)).entries).toBe(1);
    });

    it('fails with STORE_FAILED once closed; closing twice is harmless', async () => {
      const { store } = await openStore();
      await store.close();
      await store.close();
      expect(await codeOf(store.begin(request()))).toBe('STORE_FAILED');
      expect(await codeOf(store.markSeen('r', 1))).toBe('STORE_FAILED');
    });
  });

  describe('answers recorded per request id', () => {
    it('records the first final answer and gives it back, whoever asks; a later one is not recorded (and is told so)', async () => {
      const { store } = await openStore({ replayMarginMs: 1_000 });
      expect(await store.markSeen('req-a', 10_000)).toEqual({ seenBefore: false });
      expect(await store.markSeen('req-a', 10_000)).toEqual({ seenBefore: true });
      expect(await store.recordAnswer({ requestId: 'req-a', expiresAt: 10_000, reply: 'approved once', final: true })).toEqual({ reply: Buffer.from('approved once'), ours: true });
      expect(await store.recordAnswer({ requestId: 'req-a', expiresAt: 10_000, reply: 'another', final: true })).toEqual({ reply: Buffer.from('approved once'), ours: false });
      expect(await store.recordAnswer({ requestId: 'req-a', expiresAt: 10_000, reply: 'unknown', final: false })).toEqual({ reply: Buffer.from('approved once'), ours: false });
      expect(await store.markSeen('req-a', 10_000)).toEqual({ seenBefore: true, answer: Buffer.from('approved once') });
      // An id never seen may be answered directly (recorded as seen at the same time).
      await store.recordAnswer({ requestId: 'req-b', expiresAt: 10_000, reply: 'b', final: true });
      expect((await store.markSeen('req-b', 10_000)).seenBefore).toBe(true);
      expect(await store.purge(11_001)).toEqual({ entries: 0, requests: 2 });
      expect(await store.answerOf('req-a')).toBeUndefined();
    });

    it('an unknown answer is replaced by a final one, never the other way round', async () => {
      const { store } = await openStore();
      expect((await store.recordAnswer({ requestId: 'req-u', expiresAt: 10_000, reply: 'unknown', final: false })).ours).toBe(true);
      expect(await store.recordAnswer({ requestId: 'req-u', expiresAt: 10_000, reply: 'unknown again', final: false })).toEqual({ reply: Buffer.from('unknown'), ours: false });
      expect(await store.recordAnswer({ requestId: 'req-u', expiresAt: 10_000, reply: 'approved', final: true })).toEqual({ reply: Buffer.from('approved'), ours: true });
      expect(await store.answerOf('req-u')).toEqual(Buffer.from('approved'));
    });

    it('of 20 final answers recorded at once for one id, one is kept and every caller is given it', async () => {
      const { store } = await openStore();
      const recorded = await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordAnswer({ requestId: 'req-race', expiresAt: 10_000, reply: `answer-${i}`, final: true })));
      expect(recorded.filter((r) => r.ours)).toHaveLength(1);
      const kept = recorded.find((r) => r.ours)?.reply;
      expect(recorded.every((r) => kept !== undefined && r.reply.equals(kept))).toBe(true);
    });

    it('counts failed reply attempts per request id, kept as long as the id', async () => {
      const { store } = await openStore({ replayMarginMs: 1_000 });
      expect(await store.replyFailed('req-f', 10_000)).toBe(1);
      expect(await store.replyFailed('req-f', 10_000)).toBe(2);
      await store.recordAnswer({ requestId: 'req-f', expiresAt: 10_000, reply: 'x', final: true });
      expect(await store.replyFailed('req-f', 10_000)).toBe(3);
      expect(await store.markSeen('req-f', 10_000)).toEqual({ seenBefore: true, answer: Buffer.from('x') });
      expect((await store.purge(11_001)).requests).toBe(1);
      expect(await store.replyFailed('req-f', 10_000)).toBe(1);
    });
  });

  describe('several worker processes on one store', () => {
    it('gives exactly one new per key to two processes racing for 200 keys', async () => {
      const { store: setup, location } = await openStore();
      await setup.close();
      const children = ['wa', 'wb'].map((id) => forkRaceWorker(['race', JSON.stringify(storeOptionsAt(location)), '200', id]));
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
      // The store agrees: each key is held by the process told it won.
      const { store } = await openStore({}, location);
      const wonBy = new Map<number, string>([...a.won.map((i) => [i, 'wa'] as const), ...b.won.map((i) => [i, 'wb'] as const)]);
      for (let i = 0; i < 200; i += 1) {
        const outcome = await store.begin({ provider: 'card', idempotencyKey: `key-${i}`, requestId: 'req-check', payloadDigest: `digest-${i}`, workerId: 'checker' });
        expect(outcome).toMatchObject({ kind: 'in-progress', workerId: wonBy.get(i) });
      }
    });
  });
});
