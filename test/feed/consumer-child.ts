/**
 * An events consumer in a process of its own (test/feed/consumer-kill.test.ts). Argument: a JSON
 * object {node, queue, store, feedCert, feedKey, ca, mode}. Prints `ready` once subscribed, then
 * one line of JSON stats after each batch's ACKs. Mode `kill-after-commit`: SIGKILLs itself
 * when its first batch is committed, before any of the batch's ACKs is sent (the consumer emits
 * `batch` between the two).
 */
import { readFileSync } from 'node:fs';
import { startEventsConsumer } from '../../src/feed/events-consumer.ts';
import { openSqliteFeedStore } from '../../src/feed/index.ts';
import type { StompOptions } from '../../src/stomp/index.ts';
import { loadIdentity, TrustStore } from '../../src/wire/index.ts';

interface ChildArgs {
  node: StompOptions['nodes'][number];
  queue: string;
  store: string;
  feedCert: string;
  feedKey: string;
  ca: string;
  mode: 'kill-after-commit' | 'run';
}

const args = JSON.parse(process.argv[2] as string) as ChildArgs;
const store = openSqliteFeedStore({ path: args.store });
const consumer = await startEventsConsumer({
  store,
  stomp: { nodes: [args.node] },
  queue: args.queue,
  identity: loadIdentity(readFileSync(args.feedCert, 'utf8'), readFileSync(args.feedKey, 'utf8')),
  trust: new TrustStore([readFileSync(args.ca, 'utf8')]),
});
if (args.mode === 'kill-after-commit') consumer.once('batch', () => process.kill(process.pid, 'SIGKILL'));
consumer.on('acked', () => process.stdout.write(`${JSON.stringify(consumer.stats)}\n`));
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void consumer.stop().then(() => {
    store.close();
    process.exit(0);
  });
});
