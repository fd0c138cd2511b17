// Failover. Two nodes; the active one stops mid-stream; the client
// moves on to the other, its subscription comes back, and no send the broker acknowledged (a
// RECEIPT) is lost.
//
// - Two embedded brokers on two ephemeral ports (always). The stopped one had a data folder:
//   messages it acknowledged but had not delivered yet stay in its store, and are drained after
//   a restart, so "not lost" is checked exactly: received ∪ left on the stopped node ⊇ acknowledged.
// - For each external broker named in PAYGATE_TEST_BROKERS: two TCP proxies in front of it stand
//   for two nodes of a cluster sharing its queues; the active proxy closes (connections dropped,
//   port closed), so every acknowledged send must reach the consumer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStompError } from '../../src/stomp/index.ts';
import type { StompMessage, StompOptions } from '../../src/stomp/index.ts';
import { isExternal, parseTestBrokers, startEmbeddedBroker } from '../helpers/brokers.ts';
import type { BrokerDescriptor, EmbeddedBrokerHandle } from '../helpers/brokers.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/timing.ts';
import { Connections, nodeOf, queueHeaders, sleep, unique } from './support.ts';

const TOTAL = 60;
const STOP_AFTER = 20;
const connections = new Connections();
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  await connections.closeAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Scenario {
  /** [active, standby]. */
  readonly nodes: StompOptions['nodes'];
  /** Stops the active node. */
  stopActive(): Promise<void>;
  /**
   * Messages of `queue` still held by the stopped node (drained after the stream), taken until
   * `enough(taken)` holds or a generous deadline passes.
   */
  leftovers(queue: string, enough: (taken: readonly string[]) => boolean): Promise<string[]>;
}

/** Sends with a receipt until the broker confirms it, retrying on a lost connection (at least once). */
async function sendConfirmed(producer: Awaited<ReturnType<Connections['open']>>, queue: string, body: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await producer.send(queue, body, { receipt: true, headers: { ...queueHeaders(), persistent: 'true' } });
      return;
    } catch (err) {
      if (!isStompError(err) || attempt >= 50) throw err;
      await sleep(50);
    }
  }
}

async function runFailover(scenario: Scenario): Promise<void> {
  const queue = unique('queue', 'failover');
  const options: StompOptions = {
    nodes: scenario.nodes,
    randomStart: false, // the first node is the active one
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    receiptTimeoutMs: 3_000,
  };
  const [consumer, producer] = [await connections.open(options), await connections.open(options)];
  const active = consumer.node;
  const received = new Map<string, string>(); // body → node it came from
  const subscription = consumer.subscribe(
    queue,
    (m) => {
      received.set(m.text(), consumer.node ?? '?');
      // A slow consumer, so that the active node holds a backlog when it stops. A stale ack
      // (after the failover) fails; the message stays with the stopped node.
      setTimeout(() => m.ack().catch(() => undefined), 20);
    },
    { headers: queueHeaders(), prefetch: 1 },
  );
  await subscription.ready;
  const acknowledged: string[] = [];
  let stopping: Promise<void> | undefined;
  for (let i = 0; i < TOTAL; i += 1) {
    await sendConfirmed(producer, queue, `m${i}`);
    acknowledged.push(`m${i}`);
    if (i === STOP_AFTER) stopping = scenario.stopActive(); // mid-stream: the sends go on
  }
  await stopping;
  // Failing, these waits end at their deadline and the assertions below say what is missing.
  const last = `m${TOTAL - 1}`;
  await waitUntil(() => received.has(last), 'the last message', 10_000).catch(() => undefined);

  expect(consumer.node).not.toBe(active); // the client moved on
  expect(producer.node).not.toBe(active);
  expect(received.get(last)).toBe(consumer.node); // its subscription came back there
  const accounted = (left: readonly string[]) => acknowledged.every((b) => received.has(b) || left.includes(b));
  const left = accounted([]) ? [] : await scenario.leftovers(queue, accounted);
  // What is neither received nor left on the stopped node may still be on its way from the new one.
  await waitUntil(() => accounted(left), 'every acknowledged send received or left on the stopped node', 10_000).catch(() => undefined);
  expect(acknowledged.filter((b) => !received.has(b) && !left.includes(b))).toEqual([]); // no acknowledged send lost
}

describe('failover between two embedded brokers', () => {
  it('the client moves to the other broker, re-subscribes, and loses no acknowledged send', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'paygate-failover-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startEmbeddedBroker({ dataDir });
    const second = await startEmbeddedBroker();
    let firstStopped = false;
    cleanups.push(async () => {
      await second.stop();
      if (!firstStopped) await first.stop();
    });
    const descriptor: BrokerDescriptor & { port: number } = { ...parseTestBrokers('embedded')[0]!, port: first.port };
    await runFailover({
      nodes: [nodeOf(descriptor, first), nodeOf(descriptor, second)],
      stopActive: async () => {
        firstStopped = true;
        await first.stop();
      },
      leftovers: async (queue, enough) => drainRestarted(dataDir, descriptor, queue, enough),
    });
  });
});

/** Restarts a stopped embedded broker on its data folder and takes what is left in `queue`, until `enough`. */
async function drainRestarted(
  dataDir: string,
  descriptor: BrokerDescriptor & { port: number },
  queue: string,
  enough: (taken: readonly string[]) => boolean,
): Promise<string[]> {
  const restarted: EmbeddedBrokerHandle = await startEmbeddedBroker({ dataDir });
  try {
    const drain = await connections.open({ nodes: [nodeOf(descriptor, restarted)] });
    const bodies: string[] = [];
    const take = (m: StompMessage): void => {
      bodies.push(m.text());
      m.ack().catch(() => undefined); // the broker is about to stop anyway
    };
    await drain.subscribe(queue, take, { headers: queueHeaders() }).ready;
    await waitUntil(() => enough(bodies), 'the stopped node to hand over what it kept', 10_000).catch(() => undefined);
    await drain.close();
    return bodies;
  } finally {
    await restarted.stop();
  }
}

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS).filter(isExternal))('failover between two proxies in front of $name', (broker) => {
  it('the client moves to the other node, re-subscribes, and every acknowledged send arrives', async () => {
    const [a, b] = [await TcpProxy.start(broker.host, broker.port), await TcpProxy.start(broker.host, broker.port)];
    cleanups.push(() => a.close(), () => b.close());
    await runFailover({
      nodes: [nodeOf(broker, a), nodeOf(broker, b)],
      stopActive: () => a.close(),
      leftovers: async () => [], // one broker behind both nodes: nothing can be left elsewhere
    });
  });
});
