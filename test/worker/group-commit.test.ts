/**
 * Group commit (src/worker/group-commit.ts): the operations of one event-loop turn share one
 * transaction, each settles only after the commit, a failing one is rolled back alone, and a
 * failed commit fails them all.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GroupCommitStore } from '../../src/worker/group-commit.ts';
import { IdempotencyStore } from '../../src/worker/idempotency-store.ts';
import { makeTempDir } from '../helpers/pki.ts';

const opened: IdempotencyStore[] = [];
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
});

function openStore(): IdempotencyStore {
  const store = IdempotencyStore.open({ path: join(makeTempDir('group-commit'), 'store.sqlite') });
  opened.push(store);
  return store;
}

const begin = (key: string, digest = 'd1') => ({ provider: 'card', idempotencyKey: key, requestId: `r-${key}`, payloadDigest: digest, workerId: 'w1' });

describe('GroupCommitStore', () => {
  it('commits every operation of one turn in one transaction, and resolves each with its own result', async () => {
    const store = openStore();
    const transaction = vi.spyOn(store, 'transactionAsync');
    const grouped = new GroupCommitStore(store);
    const results = await Promise.all([
      grouped.markSeen('req-1', Date.now() + 30_000).then((seen) => seen.seenBefore),
      grouped.markSeen('req-1', Date.now() + 30_000).then((seen) => seen.seenBefore),
      grouped.begin(begin('k1')),
      grouped.begin(begin('k2')),
      grouped.begin(begin('k1')),
    ]);
    expect(transaction).toHaveBeenCalledTimes(1);
    expect(results).toEqual([false, true, { kind: 'new' }, { kind: 'new' }, expect.objectContaining({ kind: 'in-progress', workerId: 'w1' })]);
    // A later turn is a new batch.
    const completed = await grouped.complete({ provider: 'card', idempotencyKey: 'k1', reply: 'reply-1' });
    expect(completed.alreadyCompleted).toBe(false);
    expect(transaction).toHaveBeenCalledTimes(2);
    expect(store.begin(begin('k1'))).toMatchObject({ kind: 'completed' });
  });

  it('settles nothing before the commit: the results are on disk when a promise resolves', async () => {
    const store = openStore();
    const grouped = new GroupCommitStore(store);
    const claimed = grouped.begin(begin('k-durable'));
    expect(grouped.pending).toBe(1);
    await claimed;
    expect(grouped.pending).toBe(0);
    const other = IdempotencyStore.open({ path: store.options.path });
    opened.push(other);
    expect(other.begin({ ...begin('k-durable'), workerId: 'w2' })).toMatchObject({ kind: 'in-progress', workerId: 'w1' });
  });

  it('rolls back a failing operation alone: the others of its batch commit', async () => {
    const store = openStore();
    const grouped = new GroupCommitStore(store);
    const [notHeld, claimed] = await Promise.allSettled([
      grouped.abandon({ provider: 'card', idempotencyKey: 'never-begun', workerId: 'w1' }),
      grouped.begin(begin('k-kept')),
    ]);
    expect(notHeld).toMatchObject({ status: 'rejected', reason: { code: 'IDEMPOTENCY_NOT_HELD' } });
    expect(claimed).toEqual({ status: 'fulfilled', value: { kind: 'new' } });
    expect(store.begin({ ...begin('k-kept'), workerId: 'w2' })).toMatchObject({ kind: 'in-progress' });
  });

  it('claim: the request id\'s recorded answer and the idempotency claim in one operation; headers play no part', async () => {
    const store = openStore();
    const transaction = vi.spyOn(store, 'transactionAsync');
    const grouped = new GroupCommitStore(store);
    const expiresAt = Date.now() + 30_000;
    const first = await grouped.claim({ requestId: 'req-c', expiresAt, begin: begin('k-claim') });
    expect(first).toEqual({ kind: 'begun', begun: { kind: 'new' } });
    expect(transaction).toHaveBeenCalledTimes(1);
    // Seen but not answered (a duplicate in flight, or a worker died): begin again, which finds the entry in progress.
    const again = await grouped.claim({ requestId: 'req-c', expiresAt, begin: begin('k-claim') });
    expect(again).toMatchObject({ kind: 'begun', begun: { kind: 'in-progress', requestId: 'r-k-claim' } });
    // Once answered: the answer, and the key is not touched.
    await grouped.recordAnswer({ requestId: 'req-c', expiresAt, reply: 'the first answer', final: true });
    const replay = await grouped.claim({ requestId: 'req-c', expiresAt, begin: begin('k-other') });
    expect(replay).toEqual({ kind: 'answered', reply: Buffer.from('the first answer') });
    expect(store.begin(begin('k-other'))).toEqual({ kind: 'new' });
  });

  it('atomic: several store calls commit together with the batch, or not at all when one throws', async () => {
    const store = openStore();
    const grouped = new GroupCommitStore(store);
    const expiresAt = Date.now() + 30_000;
    const failed = grouped.atomic(async (s) => {
      await s.recordAnswer({ requestId: 'req-a', expiresAt, reply: 'a', final: true });
      await s.abandon({ provider: 'card', idempotencyKey: 'never-begun', workerId: 'w1' });
    });
    const kept = grouped.atomic((s) => s.recordAnswer({ requestId: 'req-b', expiresAt, reply: 'b', final: true }));
    await expect(failed).rejects.toMatchObject({ code: 'IDEMPOTENCY_NOT_HELD' });
    expect(await kept).toEqual({ reply: Buffer.from('b'), ours: true });
    expect(store.answerOf('req-a')).toBeUndefined();
    expect(store.answerOf('req-b')).toEqual(Buffer.from('b'));
  });

  it('close waits for the operations asked for before it, then refuses the next ones', async () => {
    const store = IdempotencyStore.open({ path: join(makeTempDir('group-commit'), 'store.sqlite') });
    const failures: string[] = [];
    const grouped = new GroupCommitStore(store, { onFailure: (error) => failures.push(error.code) });
    const queued = [grouped.begin(begin('k-before-close')), grouped.markSeen('req-before-close', Date.now() + 30_000)];
    await grouped.close();
    expect(await Promise.all(queued)).toEqual([{ kind: 'new' }, { seenBefore: false }]);
    expect(failures).toEqual([]);
    await expect(grouped.begin(begin('k-after-close'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
  });

  it('a failed commit rejects every operation of the batch with STORE_FAILED', async () => {
    const store = openStore();
    const grouped = new GroupCommitStore(store);
    const batch = [grouped.begin(begin('k-a')), grouped.markSeen('req-x', Date.now())];
    store.close();
    const settled = await Promise.allSettled(batch);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as { code: string }).code : 'fulfilled'))).toEqual(['STORE_FAILED', 'STORE_FAILED']);
  });
});
