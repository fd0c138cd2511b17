/**
 * Exactly-once through worker crashes: 2,000 card authorizations through `paygate gateway` while a worker is
 * SIGKILLed every 2 seconds. Every request gets one answer (the SDK resolves each once; a
 * redelivered request answered again arrives as a `late-reply` and is dropped), and the card
 * sandbox's ledger shows exactly one charge per idempotency key: the redeliveries of requests
 * a killed worker held were reconciled, never charged again.
 *
 * The storefront here does what docs/sdk.md asks of one: an outcome the SDK calls unknown is
 * retried with the same key: an `unknown` reply (a key a killed worker claimed, until its lease
 * expires), or a TIMEOUT (no reply within 30 s: the pool is down to no ready worker for seconds
 * at a time). Kills do not move a request toward the dead-letter queue: the broker counts a
 * message handed back by a consumer that went away apart from a failed delivery (NACK), and
 * dead-letters only after `maxReturns` (100) such returns. The count of each is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTestBrokers, type BrokerDescriptor } from '../helpers/brokers.ts';
import { StompConnection } from '../../src/stomp/index.ts';
import { chargesByKey, GatewayProcess, newTag, poolPids, runLoad, startWorld, type GatewayWorld } from './support.ts';

const REQUESTS = Number(process.env.PAYGATE_KILL_REQUESTS ?? 2_000);
let world: GatewayWorld;
let gateway: GatewayProcess | undefined;

beforeAll(async () => {
  world = await startWorld(parseTestBrokers('embedded')[0] as BrokerDescriptor);
}, 60_000);
afterAll(async () => {
  gateway?.signal('SIGKILL');
  await world?.close();
});

describe('paygate gateway: a worker SIGKILLed every 2 s under load', () => {
  it(`answers all ${REQUESTS} requests once and charges each key once`, async () => {
    // A short lease (above the card call's 2 s timeout) so that a key whose worker died before
    // reaching the sandbox is taken over within seconds instead of a minute.
    world.writeConfig(['workers: 2', 'http: {port: 0}', 'drain_grace: 5s', 'restart: {backoff_initial: 100ms, backoff_max: 250ms, max_restarts: 200, within: 60s}'].join('\n'), { lease: '3s' });
    gateway = new GatewayProcess(world.configPath);
    const statusUrl = await gateway.running();
    const client = await world.client(30_000);
    let late = 0;
    let reconnects = 0;
    client.on('late-reply', () => (late += 1));
    // The SDK's own connection: under CPU starvation a missed heart-beat can cost it (and its reply queue).
    client.on('reconnected', () => (reconnects += 1));
    const tag = newTag('kill');
    const killed: number[] = [];
    let progress = 0;
    const reporter = process.env.PAYGATE_KILL_TRACE
      ? setInterval(() => {
          const recent = gateway?.lines.filter((l) => l.level !== 'info').slice(-5).map((l) => JSON.stringify(l).slice(0, 400));
          console.error(`worker-kill: ${progress} answered, ${killed.length} killed; exit ${gateway?.child.exitCode}; stderr ${gateway?.stderr.slice(-300)}\n${recent?.join('\n')}`);
        }, 5_000)
      : undefined;
    const killer = setInterval(() => {
      void poolPids(statusUrl).then((pids) => {
        const victim = pids[killed.length % Math.max(1, pids.length)];
        if (victim === undefined) return;
        killed.push(victim);
        process.kill(victim, 'SIGKILL');
      }, () => undefined);
    }, 2_000);
    let result;
    const t0 = Date.now();
    try {
      result = await runLoad(client, { count: REQUESTS, concurrency: 32, tag, retryUnknown: true, onAnswered: (n) => (progress = n) });
    } finally {
      clearInterval(killer);
      clearInterval(reporter);
    }
    const tally = new Map<string, number>();
    for (const status of result.outcomes.values()) tally.set(status, (tally.get(status) ?? 0) + 1);
    console.error('worker-kill outcomes', Object.fromEntries(tally), 'killed', killed.length, 'unknown retried', result.unknownRetries, 'timeouts retried', result.timeoutRetries, 'ms', Date.now() - t0);
    expect(result.failures).toEqual([]);
    expect(result.outcomes.size).toBe(REQUESTS);
    expect([...result.outcomes.values()].every((status) => status === 'approved')).toBe(true);
    const charges = chargesByKey(world.sandbox, tag);
    expect(charges.size).toBe(REQUESTS);
    expect([...charges.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const deadLettered = await drainCount(`${world.queuePrefix}card.dlq`);
    const workerErrors = new Map<string, number>();
    for (const line of gateway.lines.filter((l) => l.msg === 'worker error')) {
      const what = `${String(line.stage)}:${String(line.code)}`;
      workerErrors.set(what, (workerErrors.get(what) ?? 0) + 1);
    }
    console.error('worker-kill: worker errors', Object.fromEntries(workerErrors));
    // The kills happened and the pool came back each time.
    expect(killed.length).toBeGreaterThanOrEqual(2);
    await gateway.waitFor((l) => l.msg === 'worker process died; restarting', 10_000);
    const metrics = await (await fetch(`${statusUrl}/metrics`)).text();
    expect(Number(/^paygate_worker_restarts_total\{cause="killed"\} (\d+)$/m.exec(metrics)?.[1])).toBe(killed.length);
    console.error(`worker-kill: ${REQUESTS} answered, ${killed.length} workers killed, ${late} late duplicate replies dropped by the SDK, ${result.timeoutRetries} timeouts retried, ${deadLettered} request messages dead-lettered, ${reconnects} SDK reconnects`);
    gateway.signal('SIGTERM');
    expect((await gateway.exited).code).toBe(0);
  }, 420_000);
});

/** How many messages wait on `destination` (consumed: the suite's broker is its own). */
async function drainCount(destination: string): Promise<number> {
  const connection = await StompConnection.connect({ nodes: [world.node('operator')] });
  let count = 0;
  const subscription = connection.subscribe(destination, () => void (count += 1), { ack: 'auto' });
  await subscription.ready;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await connection.close();
  return count;
}
