/**
 * The faults the run injects besides the sandboxes' rates: a worker process SIGKILLed every 2 s
 * (its pid from the gateway's `/healthz`; the supervisor must restart it), and the broker killed
 * once and started again.
 */
import type { ChaosBroker } from './broker.ts';
import type { GatewayChild } from './gateway.ts';
import { CHAOS_SETTINGS } from './options.ts';
import { Random } from './random.ts';

/** The worker killer: `stop()` ends it and resolves with what it did. */
export function startWorkerKiller(gateway: GatewayChild, seed: number): { stop(): Promise<{ kills: number; missed: number }> } {
  const random = new Random(seed ^ 0x5eed);
  let kills = 0;
  let missed = 0;
  let running = true;
  let busy: Promise<void> = Promise.resolve();
  const killOne = async (): Promise<void> => {
    try {
      const ready = (await gateway.processes()).filter((p) => p.state === 'ready');
      const victim = ready[random.below(ready.length)];
      // None ready (all restarting, or the status endpoint busy): this tick kills nothing.
      if (victim === undefined || !running) return void (missed += 1);
      process.kill(victim.pid, 'SIGKILL');
      kills += 1;
    } catch {
      missed += 1;
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(killOne);
  }, CHAOS_SETTINGS.killEveryMs);
  return {
    async stop() {
      running = false;
      clearInterval(timer);
      await busy;
      return { kills, missed };
    },
  };
}

/** The broker outage: `trigger()` once; `done` resolves with what happened (or why it was skipped). */
export function brokerOutage(broker: ChaosBroker, enabled: boolean): { trigger(): void; done: Promise<string> } {
  let resolve: (line: string) => void = () => undefined;
  const done = new Promise<string>((r) => (resolve = r));
  let triggered = false;
  if (!enabled) resolve('broker kill: skipped (--no-broker-kill)');
  return {
    trigger() {
      if (triggered || !enabled) return;
      triggered = true;
      const started = performance.now();
      broker.killAndRestart(CHAOS_SETTINGS.brokerDownMs).then(
        (what) => resolve(`broker kill: ${broker.name}: ${what}; accepting connections again ${((performance.now() - started) / 1000).toFixed(1)} s after the kill`),
        (error: unknown) => resolve(`broker kill: ${broker.name}: FAILED: ${(error as Error).message}`),
      );
    },
    done,
  };
}
