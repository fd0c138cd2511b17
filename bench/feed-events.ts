/**
 * Part 3 of the feed benchmark: events through the events queue. Events documents as workers
 * write them (an audit record and a payment event each), sealed with the gateway identity to the
 * feed certificate (RSA-2048 dev PKI), SENT persistent with a receipt to an embedded broker as
 * the `worker` login; the events consumer (`startEventsConsumer`, `feed` login) stores them.
 *
 * Two figures: draining a queue already holding every message (the consumer's own rate), and
 * sending while consuming (send start to last stored). Sealing is done before the clock starts:
 * it is the workers' cost, measured by bench:wire.
 */
import { join } from 'node:path';
import { generateDevPki } from '../src/certs/devca.ts';
import { startEventsConsumer, type EventsConsumer } from '../src/feed/events-consumer.ts';
import { openSqliteFeedStore, type FeedStore } from '../src/feed/index.ts';
import { StompConnection } from '../src/stomp/index.ts';
import { loadIdentity, TrustStore } from '../src/wire/index.ts';
import { eventsDocument, sealEvents, until } from '../test/feed/consumer-support.ts';
import type { TestPki } from '../test/helpers/pki.ts';
import { parseTestBrokers, startTestBroker } from '../test/helpers/brokers.ts';
import { roleNode } from '../test/integration/support.ts';
import { printTable } from './support.ts';

const HEADERS = { persistent: 'true', 'content-type': 'application/pkcs7-mime; smime-type=authEnveloped-data' };

/** Runs part 3 with `count` events per case; stores under `dir`. */
export async function benchEventsQueue(dir: string, count: number): Promise<void> {
  const dev = await generateDevPki({ algo: 'rsa' });
  const pki = { ...dev, dir, spec: { algo: 'rsa' } } as unknown as TestPki; // sealEvents reads only the PEM fields
  const broker = await startTestBroker(parseTestBrokers('embedded')[0]!);
  const sender = await StompConnection.connect({ nodes: [roleNode(broker.descriptor, 'worker')] });
  const rows: string[][] = [];
  try {
    const bodies = Array.from({ length: count }, () => sealEvents(pki, eventsDocument()));
    const sendAll = async (queue: string): Promise<void> => {
      for (let i = 0; i < bodies.length; i += 100) {
        await Promise.all(bodies.slice(i, i + 100).map((body) => sender.send(queue, body, { headers: HEADERS, receipt: true })));
      }
    };
    const stores: FeedStore[] = [];
    const consume = (name: string, queue: string): Promise<EventsConsumer> =>
      startEventsConsumer({
        store: opened(stores, join(dir, `${name}.sqlite`)),
        stomp: { nodes: [roleNode(broker.descriptor, 'feed')] },
        queue,
        identity: loadIdentity(dev.feed.certPem, dev.feed.keyPem),
        trust: new TrustStore([dev.ca.certPem]),
      });

    const drainQueue = '/queue/paygate.feed.events-bench-drain';
    await sendAll(drainQueue);
    let started = performance.now();
    const drainer = await consume('drain', drainQueue);
    await until(drainer, (s) => s.acked + s.deadLettered >= count, 600_000);
    rows.push(['drain a full queue', ...figures(count, performance.now() - started, drainer)]);
    await drainer.stop();

    const liveQueue = '/queue/paygate.feed.events-bench-live';
    const live = await consume('live', liveQueue);
    started = performance.now();
    await sendAll(liveQueue);
    await until(live, (s) => s.acked + s.deadLettered >= count, 600_000);
    rows.push(['send while consuming', ...figures(count, performance.now() - started, live)]);
    await live.stop();
    for (const store of stores) store.close();
  } finally {
    await sender.close();
    await broker.stop();
  }
  printTable(['case', 'events', 'seconds', 'events/s', 'entries/s', 'batches', 'events/batch', 'dead-lettered'], rows);
  console.log('   each event = one audit entry + one payment entry, stored with one appendMany per batch (synchronous=FULL)');
  console.log('   a message the consumer refuses (dead-lettered, e.g. EVENTS_CARD_DATA) counts as done: it left the queue');
}

function figures(count: number, ms: number, consumer: EventsConsumer): string[] {
  const seconds = ms / 1000;
  const { stored, batches, deadLettered } = consumer.stats;
  return [
    String(count), seconds.toFixed(2), (count / seconds).toFixed(0), (stored / seconds).toFixed(0), String(batches), (count / Math.max(1, batches)).toFixed(1), String(deadLettered),
  ];
}

function opened(stores: FeedStore[], path: string): FeedStore {
  const store = openSqliteFeedStore({ path });
  stores.push(store);
  return store;
}
