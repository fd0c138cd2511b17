/**
 * The restart policy on its own (a fake clock): per-slot exponential backoff capped at its
 * maximum and reset by a quiet window, pool-wide intensity, and limits changed by a reload
 * without forgetting the history.
 */
import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../src/supervisor/restart-policy.ts';
import { healthOf } from '../../src/supervisor/health.ts';
import { handlerBudgetMs } from '../../src/worker/provider-call.ts';

const SETTINGS = { backoffInitialMs: 100, backoffMaxMs: 1_000, maxRestarts: 5, withinMs: 10_000 };

describe('RestartPolicy', () => {
  it('doubles a slot’s delay at each restart within the window, up to the maximum', () => {
    let now = 0;
    const policy = new RestartPolicy({ ...SETTINGS, maxRestarts: 100 }, () => now);
    const delays = [1, 2, 3, 4, 5].map(() => {
      now += 10;
      const decision = policy.next(0);
      return decision.giveUp ? -1 : decision.delayMs;
    });
    expect(delays).toEqual([100, 200, 400, 800, 1_000]);
    // Another slot has its own backoff.
    expect(policy.next(1)).toEqual({ giveUp: false, delayMs: 100 });
    // After a quiet window the slot starts over.
    now += 10_000;
    expect(policy.next(0)).toEqual({ giveUp: false, delayMs: 100 });
  });

  it('gives up on the restart that exceeds max_restarts within the window, whichever slots died', () => {
    let now = 0;
    const policy = new RestartPolicy(SETTINGS, () => now);
    for (let i = 0; i < 5; i += 1) {
      now += 1_000;
      expect(policy.next(i % 2).giveUp).toBe(false);
    }
    expect(policy.recentRestarts).toBe(5);
    now += 1_000;
    expect(policy.next(0)).toEqual({ giveUp: true, restarts: 6, withinMs: 10_000 });
  });

  it('forgets restarts older than the window', () => {
    let now = 0;
    const policy = new RestartPolicy(SETTINGS, () => now);
    for (let i = 0; i < 5; i += 1) policy.next(0);
    now += 10_001;
    expect(policy.recentRestarts).toBe(0);
    expect(policy.next(0).giveUp).toBe(false);
  });

  it('keeps its history when a reload changes the limits', () => {
    let now = 0;
    const policy = new RestartPolicy(SETTINGS, () => now);
    for (let i = 0; i < 3; i += 1) policy.next(0);
    policy.configure({ ...SETTINGS, maxRestarts: 3 });
    now += 1;
    expect(policy.next(1)).toEqual({ giveUp: true, restarts: 4, withinMs: 10_000 });
  });
});

describe('pool health', () => {
  const worker = (slot: number, state: string, brokerConnected = true) => ({ slot, pid: 100 + slot, workerId: `w${slot}`, state, inFlight: 0, brokerConnected });
  it('ok when every slot serves, degraded when some do, down when none does or the gateway stops', () => {
    const base = { phase: 'running' as const, desired: 2, recentRestarts: 0, reloading: false };
    expect(healthOf({ ...base, workers: [worker(0, 'ready'), worker(1, 'ready')] })).toMatchObject({ status: 'ok', broker: 'connected', workers: { serving: 2 } });
    expect(healthOf({ ...base, workers: [worker(0, 'ready'), worker(1, 'starting', false)] })).toMatchObject({ status: 'degraded', workers: { serving: 1 } });
    expect(healthOf({ ...base, workers: [worker(0, 'ready', false), worker(1, 'ready')] })).toMatchObject({ status: 'degraded', broker: 'partly connected' });
    expect(healthOf({ ...base, workers: [worker(0, 'ready', false)] })).toMatchObject({ status: 'down', broker: 'disconnected' });
    expect(healthOf({ ...base, phase: 'stopping', workers: [worker(0, 'ready'), worker(1, 'ready')] })).toMatchObject({ status: 'down' });
  });

  it('a worker whose store fails writes does not serve: degraded or down, store failing, and why', () => {
    const base = { phase: 'running' as const, desired: 2, recentRestarts: 0, reloading: false };
    const failing = { ...worker(1, 'ready'), storeFailure: { code: 'STORE_FAILED', message: 'begin: idempotency store failure: database or disk is full' } };
    expect(healthOf({ ...base, workers: [worker(0, 'ready'), worker(1, 'ready')] })).toMatchObject({ store: 'ok' });
    expect(healthOf({ ...base, workers: [worker(0, 'ready'), failing] })).toMatchObject({
      status: 'degraded', store: 'failing', storeError: 'STORE_FAILED: begin: idempotency store failure: database or disk is full', workers: { serving: 1 },
    });
    expect(healthOf({ ...base, workers: [{ ...failing, slot: 0 }, failing] })).toMatchObject({ status: 'down', store: 'failing', broker: 'connected' });
  });

  it('workers waiting for their broker: down, broker unreachable, and the last refusal', () => {
    const base = { phase: 'starting' as const, desired: 2, recentRestarts: 0, reloading: false };
    const waiting = (slot: number) => ({ ...worker(slot, 'starting', false), waitingForBroker: { node: '127.0.0.1:61613', code: 'STOMP_CANNOT_CONNECT', message: 'connect ECONNREFUSED 127.0.0.1:61613' } });
    expect(healthOf({ ...base, workers: [waiting(0), waiting(1)] })).toMatchObject({
      status: 'down', broker: 'unreachable', brokerError: '127.0.0.1:61613: STOMP_CANNOT_CONNECT: connect ECONNREFUSED 127.0.0.1:61613',
    });
    expect(healthOf({ ...base, workers: [worker(0, 'starting', false)] })).not.toHaveProperty('brokerError');
  });
});

describe('the handler budget', () => {
  it('ends before the lease: a quarter of it is kept as margin, at most 5 s', () => {
    expect(handlerBudgetMs(3_000)).toBe(2_250);
    expect(handlerBudgetMs(60_000)).toBe(55_000);
    expect(handlerBudgetMs(8)).toBe(6);
  });
});
