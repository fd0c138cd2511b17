// PostgreSQL down for 10 s under load: a real `paygate gateway` (supervisor + 2 workers) whose
// idempotency store is a PostgreSQL server of this test's own, on the embedded broker, answers
// ~1,000 SDK requests over the three sandboxes while that server is stopped (fast shutdown: open
// sessions are ended) and started again 10 s later (the 10 s is the fault's duration, not a measure). Requests caught in the outage must wait or
// get the retryable STORE_FAILED (docs/idempotency.md, "Writes failing while running"), none may
// be lost or charged twice (the shop retries with the same key), and the SAME worker processes
// must serve normally once the server is back: no restart. The figures go to stderr. Its folder is
// kept when it fails, or always with PAYGATE_SCALE_KEEP=1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { settle, type Step } from '../../bench/chaos/shop.ts';
import { tally, type Sent } from '../../bench/chaos/tally.ts';
import { asRole, parseTestBrokers, startTestBroker, type BrokerDescriptor } from '../helpers/brokers.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { waitUntil } from '../helpers/timing.ts';
import { POSTGRES_SKIP_REASON, startPostgres, TEST_POSTGRES_URL, type TestPostgres } from '../helpers/postgres.ts';
import { startSandboxes, trailQueues, type Sandboxes } from './audit-trail-world.ts';
import { calledAgain, callFigures } from './scale-out-calls.ts';
import { firstFinal, outcomeCounts, recordAttempts, type Attempt } from './scale-out-attempts.ts';
import { HealthWatch, logSummary, poolPids, serving, waitIdle } from './scale-out-watch.ts';
import { runScaleWorkload } from './scale-out-workload.ts';
import { startHost, startWatchedShop, type GatewayHost, type WatchedShop } from './scale-out-world.ts';

const REQUESTS = 1_000;
const IN_FLIGHT = 32;
/** The outage starts once this share of the requests was sent. */
const OUTAGE_AT = 0.3;
/** How long PostgreSQL stays down: the fault's duration, not a measurement. */
const OUTAGE_MS = 10_000;
/** Fresh requests sent once every worker serves again: each must be answered at its first attempt. */
const AFTER = 60;
/** The run takes about 20 s (the 10 s outage included): a hang fails within the CI budget. */
const TEST_TIMEOUT_MS = 120_000;
/** PostgreSQL, the embedded broker, the sandboxes, the gateway and the shop up; and all stopped. */
const HOOK_TIMEOUT_MS = 60_000;
/**
 * For a condition that holds within seconds on an idle machine (a deadline for failures, not a
 * pace); well below the test's timeout, so that the test reports what it waited for.
 */
const SETTLE_MS = 45_000;

const say = (line: string): void => void process.stderr.write(`postgres outage: ${line}\n`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

describe.skipIf(TEST_POSTGRES_URL === undefined)(`PostgreSQL stopped for 10 s under load${TEST_POSTGRES_URL === undefined ? ` (skipped: ${POSTGRES_SKIP_REASON})` : ''}`, () => {
  let dir: string;
  let postgres: TestPostgres;
  let sandboxes: Sandboxes;
  let host: GatewayHost;
  let shop: WatchedShop;
  let failed = false;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'paygate-pg-outage-'));
    const [pki, broker] = await Promise.all([makeTestPki({ algo: 'ec' }), startTestBroker(embeddedDescriptor())]);
    stops.push(() => broker.stop());
    postgres = await startPostgres();
    stops.push(() => postgres.remove());
    const started = await startSandboxes(pki, stops);
    sandboxes = started.sandboxes;
    const queues = trailQueues();
    const node = { host: broker.descriptor.host, port: broker.descriptor.port };
    host = await startHost({
      name: 'a', root: dir, brokers: [node], worker: asRole(broker.descriptor, 'worker'), brokerOrder: 'listed', pki,
      endpoints: started.endpoints, queues, storeUrl: postgres.url, workers: 2,
    });
    stops.push(() => host.gateway.stop());
    shop = await startWatchedShop([node], asRole(broker.descriptor, 'storefront'), pki, queues);
    stops.push(() => shop.close());
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (failed || process.env.PAYGATE_SCALE_KEEP !== undefined) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }, HOOK_TIMEOUT_MS);

  it('answers with a retryable STORE_FAILED or waits, charges nobody twice, loses nothing, and serves again with the same workers', async () => {
    onTestFailed(() => {
      failed = true;
    });
    const pidsBefore = await poolPids(host.gateway);
    const supervisorPid = host.gateway.pid;
    const attempts: Attempt[] = [];
    const observed = recordAttempts(shop.shop, attempts);
    const watch = new HealthWatch(host.gateway);
    stops.push(() => watch.stop());
    const outage = { stopBegunAt: 0, stoppedAt: 0, startedAt: 0 };
    let fault: Promise<void> | undefined;
    const keyPrefix = `pgout-${Date.now().toString(36)}`;
    const begin = performance.now();
    const run = await runScaleWorkload(observed, {
      requests: REQUESTS, inFlight: IN_FLIGHT, seed: 11, keyPrefix, retryShare: 0,
      onSent: (count) => {
        if (count !== Math.floor(REQUESTS * OUTAGE_AT)) return;
        fault = (async () => {
          outage.stopBegunAt = performance.now();
          await postgres.stop();
          outage.stoppedAt = performance.now();
          await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
          await postgres.start();
          outage.startedAt = performance.now();
        })();
        fault.catch(() => undefined); // awaited after the run; handled now, so that an early failure is no unhandled rejection
      },
    });
    await fault;
    // Every worker serves again (its probe committed), then fresh requests go out.
    await waitUntil(() => watch.first(outage.startedAt, serving) !== undefined, 'every worker serving again after PostgreSQL is back', SETTLE_MS);
    const healthyAt = watch.first(outage.startedAt, serving)?.at ?? Number.NaN;
    const afterSteps: Step[] = Array.from({ length: AFTER }, (_, i) => ({ provider: 'card', type: 'sale', payload: saleOf(i), key: `${keyPrefix}-after-${i}` }));
    const after: Sent[] = await Promise.all(afterSteps.map(async (step) => ({ step, learned: await settle(observed, step) })));
    await waitIdle([host.gateway], SETTLE_MS);
    await watch.stop();
    const pidsAfter = await poolPids(host.gateway);

    const outageAttempts = attempts.filter((a) => a.endedAt >= outage.stopBegunAt && a.startedAt <= healthyAt);
    const storeFailed = attempts.filter((a) => a.outcome === 'error STORE_FAILED');
    const waited = attempts.filter((a) => a.startedAt < outage.stoppedAt && a.endedAt > outage.startedAt);
    const firstNormal = firstFinal(attempts, (a) => a.endedAt >= outage.startedAt);
    const failingSeen = watch.first(outage.stopBegunAt, (h) => h.store === 'failing');
    const result = tally([...run.sent, ...after], sandboxes);
    const calls = callFigures([...run.sent, ...after], sandboxes);
    const notNormal = after.filter(({ learned }) => learned.kind !== 'final' || learned.status !== 'approved' || learned.via !== 'reply');
    say(`${run.sent.length} requests in ${seconds(run.elapsedMs)} (${(run.sent.length / (run.elapsedMs / 1000)).toFixed(1)} requests/s), ${IN_FLIGHT} in flight, ${attempts.length} attempts in all`);
    say(`PostgreSQL stop begun at +${seconds(outage.stopBegunAt - begin)}, down at +${seconds(outage.stoppedAt - begin)}, started again at +${seconds(outage.startedAt - begin)}; /healthz said store failing at +${failingSeen === undefined ? 'never' : seconds(failingSeen.at - begin)}, every worker serving again ${seconds(healthyAt - outage.startedAt)} after the start`);
    say(`attempts that got STORE_FAILED: ${storeFailed.length} (${storeFailed.filter((a) => a.retryable === true).length} retryable); attempts that waited through the outage: ${waited.length}; attempts in the outage window: ${outageAttempts.length}: ${outcomeCounts(outageAttempts).join(', ')}`);
    say(`first normal answer ${firstNormal === undefined ? 'never' : `${seconds(firstNormal.endedAt - outage.startedAt)} after PostgreSQL was started again`}`);
    say(`verdict: ${JSON.stringify(result.counts)}, charged twice ${result.chargedTwice}, orphan movements ${result.orphans}, reconciled via ${JSON.stringify(result.reconciledVia)}, not approved ${JSON.stringify(result.notApproved)}; provider calls for the keys sent: ${JSON.stringify(calls)}`);
    say(`${AFTER} fresh requests after recovery: ${AFTER - notNormal.length} approved at the first attempt; worker pids before ${JSON.stringify(pidsBefore)}, after ${JSON.stringify(pidsAfter)}`);
    say(`gateway log, warn and above: ${JSON.stringify(logSummary(host.logPath))}`);
    for (const example of result.examples.slice(0, 10)) say(`  ${example}`);

    // The outage was felt (otherwise this test proved nothing) and reported by /healthz.
    expect(outage.stoppedAt, 'PostgreSQL was stopped while requests were in flight').toBeGreaterThan(0);
    expect(storeFailed.length + waited.length, 'requests caught in the outage: refused, or waiting through it').toBeGreaterThan(0);
    expect(failingSeen, '/healthz reported the failing store').toBeDefined();
    // Every error any attempt got is the retryable STORE_FAILED: no other error, no crash.
    expect(attempts.filter((a) => a.outcome.startsWith('error') && (a.outcome !== 'error STORE_FAILED' || a.retryable !== true)).map(shown)).toEqual([]);
    // A wait ends with an answer within the SDK's deadline: a timeout would be a request left hanging.
    expect(attempts.filter((a) => /^(thrown|not-sent|timeout)/.test(a.outcome)).map(shown)).toEqual([]);
    // Once every worker said it serves, nobody got STORE_FAILED any more.
    expect(storeFailed.filter((a) => a.startedAt > healthyAt).map(shown)).toEqual([]);
    // Nothing lost, nothing charged twice, nothing approved without money moving.
    expect({ lost: result.counts.lost, phantom: result.counts.phantom, unknown: result.counts.unknown, chargedTwice: result.chargedTwice }).toEqual({ lost: 0, phantom: 0, unknown: 0, chargedTwice: 0 });
    // No provider reached twice for one key (the ledgers cannot tell: the sandboxes dedupe by key too).
    expect(calledAgain(calls)).toEqual([]);
    expect(notNormal.map(({ step, learned }) => `${step.key}: ${JSON.stringify(learned).slice(0, 200)}`)).toEqual([]);
    // The same processes: the supervisor never restarted a worker, nobody restarted the gateway.
    expect(host.gateway.pid).toBe(supervisorPid);
    expect(pidsAfter).toEqual(pidsBefore);
    // The database's password is in no log line and no health report.
    const password = new URL(postgres.url).password;
    expect(password.length).toBeGreaterThan(0);
    expect(readFileSync(host.logPath, 'utf8').includes(password), 'the PostgreSQL password in gateway.log').toBe(false);
    expect(watch.samples.some((s) => JSON.stringify(s.health ?? {}).includes(password)), 'the PostgreSQL password in /healthz').toBe(false);
  }, TEST_TIMEOUT_MS);
});

/** A card sale of the requests sent after recovery (amounts clear of the sandbox's magic ones). */
function saleOf(i: number): Record<string, unknown> {
  return { amount: { value: 1_025 + 100 * i, currency: 'EUR' }, card: { number: '4111111111111111', exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' } };
}

function shown(attempt: Attempt): string {
  return `${attempt.provider} ${attempt.type} ${attempt.key}: ${attempt.outcome} (retryable ${String(attempt.retryable)})`;
}

/** The embedded broker's descriptor of the test matrix (started in this process, with the test logins). */
function embeddedDescriptor(): BrokerDescriptor {
  const [embedded] = parseTestBrokers('embedded');
  if (embedded === undefined) throw new Error('no embedded broker descriptor');
  return embedded;
}
