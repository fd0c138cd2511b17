/**
 * `npm run chaos [-- --broker embedded|rabbitmq] [--requests N] [--seed N] [--in-flight N]
 * [--no-broker-kill] [--keep]`: exactly-once in effect under faults (docs/benchmarks.md, "Chaos").
 * Requests from the SDK through a real gateway (supervisor + worker processes) to the three
 * sandboxes, while workers are SIGKILLed every 2 s, the broker is killed once, and the sandboxes
 * fail 10 % of calls and hang after charging on 2 %. Exit 0 only when no request was lost,
 * none charged twice and none approved without a movement.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PaygateError } from '../../src/errors.ts';
import { brokerOutage, startWorkerKiller } from './faults.ts';
import { movesMoney, pickFlow } from './flows.ts';
import { figuresOf } from './metrics.ts';
import { CHAOS_SETTINGS, parseChaosArgs, type ChaosOptions } from './options.ts';
import { Random } from './random.ts';
import { printReport } from './report.ts';
import { settle, type Step } from './shop.ts';
import { tally, type Sent } from './tally.ts';
import { startWorld, type ChaosWorld } from './world.ts';

const say = (line: string): void => void process.stderr.write(`chaos: ${line}\n`);

/** Sends payments on `inFlight` lanes until `requests` requests were sent; every request's fate. */
async function runWorkload(world: ChaosWorld, options: ChaosOptions, onSent: (count: number) => void): Promise<Sent[]> {
  const sent: Sent[] = [];
  let issued = 0;
  let payment = 0;
  const lane = async (): Promise<void> => {
    while (issued < options.requests) {
      const index = payment++;
      // A generator per payment: the mix does not depend on which lane is faster.
      const random = new Random(options.seed * 1_000_003 + index);
      let stepNo = 0;
      await pickFlow(random).run(async (partial) => {
        if (issued >= options.requests) return undefined;
        issued += 1;
        onSent(issued);
        const step: Step = { ...partial, key: `${world.runId}-${index}-${stepNo++}` };
        const learned = await settle(world.shop, step);
        sent.push({ step, learned });
        return learned;
      }, random);
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, lane));
  return sent;
}

async function main(): Promise<number> {
  const options = parseChaosArgs(process.argv.slice(2));
  say(`${options.requests} requests, ${options.inFlight} in flight, seed ${options.seed}, broker ${options.broker}`);
  const world = await startWorld(options, say);
  let keep = false;
  try {
    const killer = startWorkerKiller(world.gateway, options.seed);
    const outage = brokerOutage(world.broker, options.brokerKill);
    const started = performance.now();
    let lastProgress = started;
    const sent = await runWorkload(world, options, (count) => {
      if (count >= options.requests * CHAOS_SETTINGS.brokerKillAt) outage.trigger();
      if (performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now();
        say(`${count} requests sent, ${((lastProgress - started) / 1000).toFixed(0)} s`);
      }
    });
    const elapsedMs = performance.now() - started;
    const { kills, missed } = await killer.stop();
    outage.trigger(); // a run too short to reach the mark still gets its broker kill, after the traffic
    const brokerLine = await outage.done;
    // Hung calls end at the provider deadline; give late work that long to land in the ledgers.
    await sleep(CHAOS_SETTINGS.settleMs + CHAOS_SETTINGS.providerTimeoutMs);
    const metrics = await world.gateway.metrics().catch(() => '');
    writeFileSync(join(world.dir, 'metrics.txt'), metrics);
    const result = tally(sent, world.sandboxes);
    const failed = result.counts.lost > 0 || result.chargedTwice > 0 || result.counts.phantom > 0;
    keep = failed || options.keep;
    printReport({
      options,
      result,
      elapsedMs,
      requests: sent.length,
      moneyRequests: sent.filter((s) => movesMoney(s.step)).length,
      kills,
      missedKills: missed,
      gateway: figuresOf(metrics),
      brokerLine,
      gatewayProblems: world.gateway.problems,
      dir: world.dir,
      kept: keep,
    });
    return failed ? 1 : 0;
  } finally {
    await world.close(keep);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const text = error instanceof PaygateError ? `${error.code}: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`chaos: ${text}\n`);
    process.exit(2);
  },
);
