// Scale-out end to end: two gateway hosts (two `paygate gateway` process groups, each with its own
// folder, config, log and status port, the same gateway certificate and key, 2 workers each)
// share one PostgreSQL idempotency store and serve the same three providers from a three-node
// RabbitMQ cluster (quorum queues), while the shop's SDK (all three nodes listed) sends 5,000
// requests, 10 % of them sent again with the same key after their final answer. Mid-run the node
// the shop is connected to is SIGKILLed (and stays down until the end), then one whole host is
// SIGKILLed and started again on the same folder and config. Every request must be answered or
// reconciled (retry with the same key, `status`), none charged twice, every retry answered as the
// first time. The sandboxes' fault rates stay at 0: the run is about the hosts and the broker (the
// chaos run covers failing providers). The test holds the cluster's lock from before it starts
// until its node is back, so that no other test kills a node meanwhile (two down would lose the
// quorum). The figures go to stderr. Its folder is kept when it fails, or always with
// PAYGATE_SCALE_KEEP=1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { tally } from '../../bench/chaos/tally.ts';
import { testPasscode } from '../helpers/brokers.ts';
import { makeTestPki } from '../helpers/pki.ts';
import {
  acquireClusterLock, CLUSTER_LOCK_WAIT_MS, CLUSTER_NODES, CLUSTER_SKIP_REASON, CLUSTER_WAIT_MS, clusterNodeOf, killNode, queueStatus, restartNode,
  waitForClusterHealthy, type ClusterNode,
} from '../helpers/rabbitmq-cluster.ts';
import { waitUntil } from '../helpers/timing.ts';
import { dropTestDatabases, freshDatabase, TEST_POSTGRES_URL } from '../helpers/postgres.ts';
import { startSandboxes, trailQueues, type Sandboxes } from './audit-trail-world.ts';
import { calledAgain, callFigures } from './scale-out-calls.ts';
import { firstFinal, outcomeCounts, recordAttempts, type Attempt } from './scale-out-attempts.ts';
import { answeredBy, logSummary, poolPids, waitIdle } from './scale-out-watch.ts';
import { retryMismatches, runScaleWorkload } from './scale-out-workload.ts';
import { startHost, startWatchedShop, type GatewayHost, type WatchedShop } from './scale-out-world.ts';

const REQUESTS = 5_000;
const IN_FLIGHT = 32;
const RETRY_SHARE = 0.1;
/** The shop's node is killed once this share of the requests was sent… */
const NODE_KILL_AT = 0.3;
/** …and one gateway host at this one. */
const HOST_KILL_AT = 0.6;
const WORKERS_PER_HOST = 2;
/** The run takes 35–45 s: a hang fails within the CI budget. */
const TEST_TIMEOUT_MS = 200_000;
/** Two gateway hosts, the sandboxes and the shop up. */
const SETUP_TIMEOUT_MS = 90_000;
/** Both hosts stopped (drained), then the killed node restarted and the cluster whole. */
const TEARDOWN_TIMEOUT_MS = 60_000 + 2 * CLUSTER_WAIT_MS;
/**
 * For a condition that holds within seconds on an idle machine (a deadline for failures, not a
 * pace); well below the test's timeout, so that the test reports what it waited for.
 */
const SETTLE_MS = 60_000;

const SKIP_REASON = [
  ...(CLUSTER_NODES === undefined ? [CLUSTER_SKIP_REASON] : []),
  ...(TEST_POSTGRES_URL === undefined ? ['PAYGATE_TEST_POSTGRES_URL is unset (bash scripts/postgres.sh start prints it)'] : []),
].join('; ');

const say = (line: string): void => void process.stderr.write(`scale-out: ${line}\n`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const login = (name: string): { login: string; passcode: string } => ({ login: name, passcode: testPasscode(name) });

/** What happened at a fault, for the figures. */
interface Fault {
  readonly what: string;
  readonly at: number;
  /** When the part came back (the shop reconnected, the host served again). */
  back?: number;
  backWhat?: string;
}

describe.skipIf(SKIP_REASON !== '')(`two gateway hosts, one PostgreSQL store, a three-node RabbitMQ cluster${SKIP_REASON === '' ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  const nodes = CLUSTER_NODES ?? [];
  let dir: string | undefined;
  let sandboxes: Sandboxes;
  const hosts: GatewayHost[] = [];
  let shop: WatchedShop;
  let killed: ClusterNode | undefined;
  /** The request queues' names as RabbitMQ has them (`paygate.t…-`, then the provider). */
  let queuePrefix: string;
  let failed = false;
  const stops: (() => Promise<unknown>)[] = [];
  let release: (() => void) | undefined;

  // First of all: the cluster to this test alone, and whole.
  beforeAll(async () => {
    release = await acquireClusterLock();
    await waitForClusterHealthy();
  }, CLUSTER_LOCK_WAIT_MS + CLUSTER_WAIT_MS + 10_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'paygate-scale-out-'));
    const pki = await makeTestPki({ algo: 'ec' });
    const started = await startSandboxes(pki, stops);
    sandboxes = started.sandboxes;
    const queues = trailQueues();
    queuePrefix = queues.prefix.replace(/^\/queue\//, '');
    const storeUrl = await freshDatabase();
    stops.push(() => dropTestDatabases());
    for (const name of ['a', 'b']) {
      const host = await startHost({
        name, root: dir, brokers: nodes, worker: login('worker'), brokerOrder: 'random', pki,
        endpoints: started.endpoints, queues, storeUrl, workers: WORKERS_PER_HOST,
        // Every worker and client of the deployment declares the queues alike (docs/rabbitmq-cluster.md).
        extra: { broker_queue_type: 'quorum' },
      });
      hosts.push(host);
      stops.push(() => host.gateway.stop());
    }
    shop = await startWatchedShop(nodes, login('storefront'), pki, queues, { queueType: 'quorum' });
    stops.push(() => shop.close());
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (failed || process.env.PAYGATE_SCALE_KEEP !== undefined) say(`kept ${dir}`);
    else if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    // The cluster is shared with later tests: the killed node rejoins, whatever happened here
    // (a node that cannot fails the file); then the lock goes back.
    try {
      if (killed !== undefined) {
        await restartNode(killed.index);
        await waitForClusterHealthy();
      }
    } finally {
      release?.();
    }
  }, TEARDOWN_TIMEOUT_MS);

  it('answers or reconciles every request, charges nobody twice and answers every retry as the first time, through a node kill and a host kill', async () => {
    onTestFailed(() => {
      failed = true;
    });
    const [hostA, hostB] = hosts as [GatewayHost, GatewayHost];
    const pidsBefore = await poolPids(hostA.gateway);
    const attempts: Attempt[] = [];
    const observed = recordAttempts(shop.shop, attempts);
    const faults: Fault[] = [];
    const pending: Promise<void>[] = [];
    // Awaited after the run; handled at once, so that a fault failing early is not an unhandled rejection.
    const inBackground = (fault: Promise<void>): void => {
      fault.catch(() => undefined);
      pending.push(fault);
    };
    const begin = performance.now();

    const killShopNode = async (): Promise<void> => {
      const on = shop.node();
      killed = clusterNodeOf(on, nodes);
      if (killed === undefined) throw new Error(`the shop is on ${String(on)}, not on a node of the cluster`);
      const fault: Fault = { what: `SIGKILL of RabbitMQ node ${killed.index} (${on}), the shop's`, at: performance.now() };
      faults.push(fault);
      await killNode(killed.index);
      await waitUntil(() => shop.connects.some((c) => c.at > fault.at && c.reconnected), 'the shop reconnected to another node', SETTLE_MS);
      const again = shop.connects.find((c) => c.at > fault.at && c.reconnected);
      Object.assign(fault, { back: again?.at, backWhat: `the shop reconnected to ${again?.node}` });
    };
    const killHost = async (): Promise<void> => {
      // What its workers last reported holding (a state report may be a moment old).
      const held = ((await hostA.gateway.health()).workers?.processes ?? []).reduce((sum, p) => sum + (p.inFlight ?? 0), 0);
      const fault: Fault = { what: `SIGKILL of gateway host ${hostA.name} (supervisor pid ${hostA.gateway.pid} and its workers, holding ${held} request(s))`, at: performance.now() };
      faults.push(fault);
      await hostA.gateway.kill();
      await hostA.gateway.restart();
      Object.assign(fault, { back: performance.now(), backWhat: `host ${hostA.name} serving again (supervisor pid ${hostA.gateway.pid})` });
    };

    const run = await runScaleWorkload(observed, {
      requests: REQUESTS, inFlight: IN_FLIGHT, seed: 17, keyPrefix: `scale-${Date.now().toString(36)}`, retryShare: RETRY_SHARE,
      onSent: (count) => {
        if (count === Math.floor(REQUESTS * NODE_KILL_AT)) inBackground(killShopNode());
        if (count === Math.floor(REQUESTS * HOST_KILL_AT)) inBackground(killHost());
      },
    });
    await Promise.all(pending);
    await waitIdle(hosts.map((h) => h.gateway), SETTLE_MS);
    const pidsAfter = await poolPids(hostA.gateway);
    const served = { a: await answeredBy(hostA.gateway), b: await answeredBy(hostB.gateway) };
    const live = nodes.find((node) => node.index !== killed?.index) as ClusterNode;
    const queueTypes = Object.fromEntries(
      await Promise.all(['card', 'paypal', 'giftcard'].map(async (provider) => [provider, (await queueStatus(`${queuePrefix}${provider}`, live.index))?.type] as const)),
    );
    const result = tally(run.sent, sandboxes);
    const calls = callFigures(run.sent, sandboxes);
    const mismatches = retryMismatches(run.retried);

    say(`${run.sent.length} requests + ${run.retried.length} retries with the same key in ${seconds(run.elapsedMs)} (${((run.sent.length + run.retried.length) / (run.elapsedMs / 1000)).toFixed(1)} requests/s), ${IN_FLIGHT} in flight, ${attempts.length} attempts in all`);
    say(`answered at once ${result.counts.answered}, reconciled ${result.counts.reconciled} (via retry ${result.reconciledVia.retry}, via status ${result.reconciledVia.status}), unknown ${result.counts.unknown}, lost ${result.counts.lost}, phantom ${result.counts.phantom}; charged twice ${result.chargedTwice}; movements under no key of the run ${result.orphans}; not approved ${JSON.stringify(result.notApproved)}`);
    say(`retries with the same key: ${run.retried.length}, answered differently: ${mismatches.length}; provider calls for the keys sent: ${JSON.stringify(calls)}; request queues: ${JSON.stringify(queueTypes)}`);
    for (const fault of faults) {
      const first = firstFinal(attempts, (a) => a.startedAt >= fault.at);
      const caught = attempts.filter((a) => a.startedAt < fault.at && a.endedAt >= fault.at);
      say(`at +${seconds(fault.at - begin)}: ${fault.what}; ${fault.backWhat ?? 'never back'} after ${fault.back === undefined ? '-' : seconds(fault.back - fault.at)}; first final answer to a request sent after it ${first === undefined ? 'never' : `after ${seconds(first.endedAt - fault.at)}`}; attempts in flight at that moment: ${caught.length} (${outcomeCounts(caught).join(', ')})`);
    }
    say(`the shop's connection: ${shop.connects.map((c) => `${c.node} ${c.at < begin ? 'before the run' : `at +${seconds(c.at - begin)}`}`).join(', ')}`);
    say(`host a answered ${served.a} since its restart, host b ${served.b}; attempts not answered at once: ${outcomeCounts(attempts.filter((a) => !a.final)).join(', ')}`);
    for (const host of hosts) say(`host ${host.name} log, warn and above: ${JSON.stringify(logSummary(host.logPath))}`);
    for (const line of [...result.examples, ...mismatches].slice(0, 20)) say(`  ${line}`);

    // The request queues are replicated (quorum): they outlived the node.
    expect(queueTypes).toEqual({ card: 'quorum', paypal: 'quorum', giftcard: 'quorum' });
    // Both faults happened as meant.
    expect(faults.map((f) => f.back !== undefined)).toEqual([true, true]);
    expect(shop.node(), 'the shop is on a live node').not.toBe(`${killed?.host}:${killed?.port}`);
    expect(Object.values(pidsAfter).some((pid) => Object.values(pidsBefore).includes(pid)), 'host a runs new worker processes').toBe(false);
    // Both hosts served: b throughout, a after its restart.
    expect(served.a).toBeGreaterThan(0);
    expect(served.b).toBeGreaterThan(0);
    // Every request answered or reconciled, none charged twice, none approved without money moving.
    expect(run.sent).toHaveLength(REQUESTS);
    expect({ ...result.counts, answered: 0, reconciled: 0, chargedTwice: result.chargedTwice, orphans: result.orphans }).toEqual({
      answered: 0, reconciled: 0, unknown: 0, lost: 0, phantom: 0, chargedTwice: 0, orphans: 0,
    });
    expect(result.counts.answered + result.counts.reconciled).toBe(REQUESTS);
    // No provider reached twice for one key (the ledgers cannot tell: the sandboxes dedupe by key too).
    expect(calledAgain(calls)).toEqual([]);
    // The retries: about a tenth of the requests, each answered as the first time.
    expect(run.retried.length).toBeGreaterThan(REQUESTS * RETRY_SHARE * 0.5);
    expect(mismatches).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
