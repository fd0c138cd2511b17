import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NotSentError, TimeoutError } from '../../src/client/errors.ts';
import { PendingRequests, type LateReply, type RegisterOptions } from '../../src/client/pending-requests.ts';

const opts = (id: string, extra: Partial<RegisterOptions> = {}): RegisterOptions => ({
  timeoutMs: 1_000,
  requestId: `req-${id}`,
  idempotencyKey: `key-${id}`,
  ...extra,
});

/** Shuffles deterministically (a fixed LCG), so a failure reproduces. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('PendingRequests (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('matches 1,000 in-flight replies by correlation id, settled out of order', async () => {
    const table = new PendingRequests<{ id: string }>();
    const ids = Array.from({ length: 1_000 }, (_, i) => `c-${i}`);
    const waits = ids.map((id) => table.register(id, opts(id)));
    expect(table.size).toBe(1_000);
    for (const id of shuffled(ids)) expect(table.settle(id, { id })).toBe(true);
    expect(table.size).toBe(0);
    const replies = await Promise.all(waits);
    replies.forEach((reply, i) => expect(reply.id).toBe(ids[i]));
  });

  it('an unknown id is reported as a late reply and delivered to nobody', async () => {
    const table = new PendingRequests<string>();
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    const wait = table.register('mine', opts('mine'));
    expect(table.settle('stranger', 'not yours')).toBe(false);
    expect(late).toEqual([{ correlationId: 'stranger', expired: false }]);
    expect(table.settle('mine', 'yours')).toBe(true);
    await expect(wait).resolves.toBe('yours');
    // A second reply to the same id is late too.
    expect(table.settle('mine', 'again')).toBe(false);
  });

  it('times out with TimeoutError (outcome unknown); the late reply becomes an event', async () => {
    const table = new PendingRequests<string>();
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    const wait = table.register('c1', opts('c1', { timeoutMs: 500 }));
    const other = table.register('c2', opts('c2', { timeoutMs: 5_000 }));
    const failed = expect(wait).rejects.toMatchObject({
      code: 'TIMEOUT', reason: 'timeout', outcome: 'unknown', requestId: 'req-c1', idempotencyKey: 'key-c1',
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(table.has('c1')).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    await failed;
    await expect(wait).rejects.toBeInstanceOf(TimeoutError);
    expect(table.size).toBe(1);
    expect(table.settle('c1', 'too late')).toBe(false);
    expect(late).toEqual([{ correlationId: 'c1', expired: true }]);
    expect(table.settle('c2', 'on time')).toBe(true);
    await expect(other).resolves.toBe('on time');
  });

  it('counts dropped replies of a waiting request; its TimeoutError says how many', async () => {
    const table = new PendingRequests<string>();
    const wait = table.register('c1', opts('c1', { timeoutMs: 500 }));
    const failed = expect(wait).rejects.toMatchObject({ reason: 'timeout', rejectedReplies: 2 });
    expect(table.noteRejected('c1')).toBe(true);
    expect(table.noteRejected('c1')).toBe(true);
    expect(table.noteRejected('stranger')).toBe(false);
    expect(table.rejectedOf('c1')).toBe(2);
    expect(table.has('c1')).toBe(true); // a dropped reply settles nothing
    await vi.advanceTimersByTimeAsync(500);
    await failed;
    expect(table.rejectedOf('c1')).toBe(0);
  });

  it('late() reports a reply nobody takes, remembering whether the id was ours', async () => {
    const table = new PendingRequests<string>();
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    const wait = table.register('c1', opts('c1', { timeoutMs: 100 }));
    const failed = expect(wait).rejects.toMatchObject({ reason: 'timeout', rejectedReplies: 0 });
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    table.late('c1');
    table.late('never-ours');
    expect(late).toEqual([{ correlationId: 'c1', expired: true }, { correlationId: 'never-ours', expired: false }]);
  });

  it('abort while waiting rejects with TimeoutError reason aborted (outcome unknown), and remembers the id', async () => {
    const table = new PendingRequests<string>();
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    const controller = new AbortController();
    const wait = table.register('c1', opts('c1', { signal: controller.signal }));
    controller.abort(new Error('user left'));
    await expect(wait).rejects.toMatchObject({ code: 'TIMEOUT', reason: 'aborted', outcome: 'unknown' });
    await expect(wait).rejects.toHaveProperty('cause.message', 'user left');
    expect(table.size).toBe(0);
    table.settle('c1', 'late');
    expect(late[0]?.expired).toBe(true);
  });

  it('an already-aborted signal is refused with NotSentError and registers nothing', async () => {
    const table = new PendingRequests();
    const wait = table.register('c1', opts('c1', { signal: AbortSignal.abort() }));
    await expect(wait).rejects.toBeInstanceOf(NotSentError);
    await expect(wait).rejects.toMatchObject({ reason: 'aborted' });
    expect(table.has('c1')).toBe(false);
  });

  it('settling removes the abort listener and the timer', async () => {
    const table = new PendingRequests<string>();
    const controller = new AbortController();
    const wait = table.register('c1', opts('c1', { signal: controller.signal }));
    table.settle('c1', 'ok');
    controller.abort();
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(wait).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a duplicate correlation id and a request over maxInFlight, without registering', async () => {
    const table = new PendingRequests<string>({ maxInFlight: 2 });
    const first = table.register('a', opts('a'));
    await expect(table.register('a', opts('a'))).rejects.toMatchObject({ code: 'NOT_SENT', reason: 'duplicate' });
    const second = table.register('b', opts('b'));
    await expect(table.register('c', opts('c'))).rejects.toMatchObject({ code: 'NOT_SENT', reason: 'overloaded' });
    expect(table.size).toBe(2);
    table.settle('a', 'A');
    table.settle('b', 'B');
    await expect(Promise.all([first, second])).resolves.toEqual(['A', 'B']);
  });

  it('fail() rejects one request with the given error and does not remember it as late', async () => {
    const table = new PendingRequests<string>();
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    const wait = table.register('c1', opts('c1'));
    const error = new NotSentError('unreachable', 'no receipt');
    expect(table.fail('c1', error)).toBe(true);
    await expect(wait).rejects.toBe(error);
    expect(table.fail('c1', error)).toBe(false);
    table.settle('c1', 'x');
    expect(late[0]?.expired).toBe(false);
  });

  it('close() waits for in-flight requests that finish before the deadline', async () => {
    const table = new PendingRequests<string>();
    const wait = table.register('c1', opts('c1', { timeoutMs: 60_000 }));
    let closed = false;
    const closing = table.close(5_000).then(() => {
      closed = true;
    });
    await expect(table.register('c2', opts('c2'))).rejects.toMatchObject({ code: 'NOT_SENT', reason: 'closed' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(closed).toBe(false);
    expect(table.settle('c1', 'done')).toBe(true);
    await closing;
    expect(closed).toBe(true);
    await expect(wait).resolves.toBe('done');
    expect(table.closed).toBe(true);
  });

  it('close() rejects what is still in flight at the deadline with TimeoutError (closed, outcome unknown)', async () => {
    const table = new PendingRequests<string>();
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    const slow = table.register('slow', opts('slow', { timeoutMs: 60_000 }));
    const quick = table.register('quick', opts('quick', { timeoutMs: 60_000 }));
    const slowFailed = expect(slow).rejects.toMatchObject({ code: 'TIMEOUT', reason: 'closed', outcome: 'unknown', idempotencyKey: 'key-slow' });
    const closing = table.close(2_000);
    expect(table.close(2_000)).toBe(closing);
    table.settle('quick', 'ok');
    await vi.advanceTimersByTimeAsync(2_000);
    await closing;
    await slowFailed;
    await expect(quick).resolves.toBe('ok');
    expect(table.size).toBe(0);
    table.settle('slow', 'late');
    expect(late).toEqual([{ correlationId: 'slow', expired: true }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() with nothing in flight resolves at once', async () => {
    const table = new PendingRequests();
    await table.close(10_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('remembers at most rememberMax timed-out ids, oldest forgotten first', async () => {
    const table = new PendingRequests<string>({ rememberMax: 100 });
    const waits = Array.from({ length: 1_000 }, (_, i) => table.register(`c-${i}`, opts(`c-${i}`, { timeoutMs: 10 + i })));
    const settled = Promise.allSettled(waits);
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await settled).every((r) => r.status === 'rejected')).toBe(true);
    expect(table.rememberedCount).toBe(100);
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    table.settle('c-0', 'x');
    table.settle('c-999', 'y');
    table.settle('c-900', 'z');
    expect(late.map((e) => [e.correlationId, e.expired])).toEqual([['c-0', false], ['c-999', true], ['c-900', true]]);
  });

  it('forgets timed-out ids after rememberMs', async () => {
    let now = 0;
    const table = new PendingRequests<string>({ rememberMs: 60_000, now: () => now });
    const wait = table.register('c1', opts('c1', { timeoutMs: 100 }));
    const failed = expect(wait).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    now = 59_999;
    expect(table.rememberedCount).toBe(1);
    now = 60_000 + 100;
    expect(table.rememberedCount).toBe(0);
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    table.settle('c1', 'x');
    expect(late[0]?.expired).toBe(false);
  });
});

describe('PendingRequests (real timers)', () => {
  it('times out, and resolves the others, on the real clock', async () => {
    const table = new PendingRequests<number>();
    const late: LateReply[] = [];
    table.on('late-reply', (event) => late.push(event));
    const slow = table.register('slow', opts('slow', { timeoutMs: 20 }));
    const fast = table.register('fast', opts('fast', { timeoutMs: 600_000 }));
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT', outcome: 'unknown' });
    expect(table.settle('fast', 1)).toBe(true); // the other one still waited
    await expect(fast).resolves.toBe(1);
    expect(table.settle('slow', 2)).toBe(false);
    expect(late).toEqual([{ correlationId: 'slow', expired: true }]);
    await table.close(100);
  });

  it('close() on the real clock rejects the rest at its deadline', async () => {
    const table = new PendingRequests<number>();
    const wait = table.register('c', opts('c', { timeoutMs: 600_000 }));
    const failed = expect(wait).rejects.toMatchObject({ reason: 'closed' });
    // The control: a real timer set just before close(30) and due earlier. Node runs due timers
    // in order of their due time, so it has fired by the time close() gives up, however late.
    let before = false;
    setTimeout(() => (before = true), 25);
    let firedFirst: boolean | undefined;
    void wait.catch(() => (firedFirst = before));
    await table.close(30);
    await failed;
    expect(firedFirst).toBe(true); // close() waited for its deadline
  });
});
