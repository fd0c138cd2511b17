/**
 * `npm run bench:stomp`: plaintext request/reply round trips per second, with p50/p99 latency,
 * at 1, 16 and 64 requests in flight, for every broker in PAYGATE_TEST_BROKERS (the embedded one
 * always). One table at the end; figures are recorded in docs/benchmarks.md, never asserted.
 *
 * Set-up, the same on every broker: stompit clients (noDelay set on the socket: stompit only sets
 * it when heart-beats are on), one responder subscribed to `/queue/paygate.bench.requests` that
 * SENDs each request's body back to its `reply-to`, and one requester that keeps N requests in
 * flight. Replies go to a plain queue, `/queue/paygate.bench.replies` (not a temp queue: the three
 * brokers do temp queues three ways, and this measures the broker, not that code). Stray replies
 * from an earlier, interrupted run are recognised by correlation-id and ignored.
 *
 * The embedded broker runs in its own process (`paygate broker --port 0`), as RabbitMQ and
 * ActiveMQ do, so it does not share the event loop with the clients that measure it.
 * BENCH_SECONDS (default 3) sets the measuring time per depth, after a 0.5 s warm-up.
 */
import { once } from 'node:events';
import { parseTestBrokers } from '../test/helpers/brokers.ts';
import type { BrokerDescriptor } from '../test/helpers/brokers.ts';
import { benchBroker, printTable, SECONDS, startEmbedded } from './support.ts';
import type { Row } from './support.ts';

async function main(): Promise<void> {
  const brokers = parseTestBrokers(process.env.PAYGATE_TEST_BROKERS);
  if (!brokers.some((b) => b.name === 'embedded')) brokers.unshift(parseTestBrokers('embedded')[0] as BrokerDescriptor);
  const rows: Row[] = [];
  const failed: string[] = [];
  for (const broker of brokers) {
    try {
      rows.push(...(await benchOne(broker)));
      console.error(`${broker.name}: done`);
    } catch (error) {
      // One broker down must not cost the figures of the others; the run still exits non-zero.
      failed.push(`${broker.name}: ${(error as Error).message}`);
    }
  }
  console.log(`\nSTOMP request/reply, plaintext, stompit with noDelay, ${SECONDS} s per depth (node ${process.version})\n`);
  printTable(
    ['broker', 'in flight', 'rt/s', 'p50 ms', 'p99 ms'],
    rows.map((r) => [r.broker, String(r.depth), r.rate.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2)]),
  );
  for (const line of failed) console.log(`not measured: ${line}`);
  if (failed.length > 0) process.exitCode = 1;
}

async function benchOne(broker: BrokerDescriptor): Promise<Row[]> {
  if (broker.name !== 'embedded') return benchBroker(broker, broker.port ?? 61613);
  const { child, port } = await startEmbedded();
  try {
    return await benchBroker(broker, port);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

await main();
