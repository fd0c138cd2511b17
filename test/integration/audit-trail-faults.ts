/**
 * The faults of the audit-trail test: one worker process of the gateway SIGKILLed mid-run (the
 * supervisor must start another in its slot), found and watched through the gateway's
 * `/healthz` as the chaos run does.
 */
import type { GatewayChild, PoolProcess } from '../../bench/chaos/gateway.ts';
import { waitUntil } from '../helpers/timing.ts';

/** Polls `read` until `done(value)`; throws naming `what` after `timeoutMs` (a deadline for a failure, not a pace). */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs: number): Promise<T> {
  let last: T | undefined;
  let ok = false;
  let busy = false;
  const poll = (): void => {
    if (busy) return;
    busy = true;
    read().then(
      (value) => {
        last = value;
        ok = done(value);
        busy = false;
      },
      () => (busy = false),
    );
  };
  await waitUntil(() => {
    poll();
    return ok;
  }, what, timeoutMs).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)?.slice(0, 500)}`);
  });
  return last as T;
}

/** What a worker kill did. */
export interface WorkerKill {
  readonly slot: number;
  readonly killedPid: number;
  readonly newPid: number;
}

/**
 * SIGKILLs one ready worker of the pool and waits until the supervisor has a ready worker
 * with another pid in that slot.
 */
export async function killOneWorker(gateway: GatewayChild, timeoutMs: number): Promise<WorkerKill> {
  const ready = await pollUntil(() => gateway.processes(), (ps) => ps.some((p) => p.state === 'ready'), 'a ready worker to kill', timeoutMs);
  const victim = ready.find((p) => p.state === 'ready') as PoolProcess;
  process.kill(victim.pid, 'SIGKILL');
  const replaced = (ps: PoolProcess[]): PoolProcess | undefined => ps.find((p) => p.slot === victim.slot && p.pid !== victim.pid && p.state === 'ready');
  const after = await pollUntil(() => gateway.processes(), (ps) => replaced(ps) !== undefined, `a new worker in slot ${victim.slot}`, timeoutMs);
  return { slot: victim.slot, killedPid: victim.pid, newPid: (replaced(after) as PoolProcess).pid };
}
