/**
 * A client-set header on its way into the audit trail, end to end on real brokers: worker →
 * events queue → events consumer → SQLite feed. A `correlation-id` holding a character XML cannot
 * carry, or a card number written in a form only the feed's scan used to know (dots), neither
 * stalls the events pipeline nor costs the request its audit record: the worker writes both as a
 * record can hold them, and the request after them is stored too.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FEED } from '../../src/audit/events.ts';
import { startEventsConsumer, type EventsConsumer } from '../../src/feed/events-consumer.ts';
import { openSqliteFeedStore, type FeedStore } from '../../src/feed/index.ts';
import { loadIdentity, TrustStore } from '../../src/wire/index.ts';
import { parseTestBrokers } from '../helpers/brokers.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { makeTempDir, makeTestPki } from '../helpers/pki.ts';
import { until } from '../feed/consumer-support.ts';
import { freshEventsQueue } from './events-reader.ts';
import { nodeAs, requestDoc, startHarness, type Harness } from './harness.ts';

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('client-set correlation ids in the audit trail on $name', (descriptor) => {
  let h: Harness;
  let store: FeedStore;
  let consumer: EventsConsumer;
  const deadLetters: string[] = [];
  const storeErrors: string[] = [];

  beforeAll(async () => {
    const pki = await makeTestPki(); // the harness's own (one PKI per test file)
    const queue = freshEventsQueue();
    h = await startHarness({ broker: descriptor, worker: { events: { queue, recipient: pki.feed.certPem } } });
    store = openSqliteFeedStore({ path: join(makeTempDir('feed-store'), 'feed.sqlite') });
    consumer = await startEventsConsumer({
      store, queue, stomp: { nodes: [nodeAs(h.broker.descriptor, 'feed')], connectTimeoutMs: 3_000 },
      identity: loadIdentity(pki.feed.certPem, pki.feed.keyPem), trust: new TrustStore([pki.ca.certPem]), retryDelayMs: 10, maxRetryDelayMs: 50,
    });
    consumer.on('dead-letter', ({ reason }) => deadLetters.push(reason));
    consumer.on('store-error', ({ error }) => storeErrors.push(String(error)));
  });

  afterAll(async () => {
    await consumer?.stop();
    store?.close();
    await h?.close();
  });

  it('stores the record of U+FFFF, a dotted card number and a cut astral character in correlation-id, and the next request', async () => {
    const astral = `${'a'.repeat(255)}😀`; // cut at 256 UTF-16 units: the pair must not be split
    const sent: [string, string][] = [
      ['x\uFFFF', 'x\uFFFF'], // the reply echoes the client's text; only card numbers are masked
      ['4111.1111.1111.1111', '4111.11**.****.1111'],
      [astral, astral],
    ];
    for (const [correlationId, echoed] of sent) {
      await h.send(h.seal(requestDoc()), { correlationId });
      expect((await h.reply(echoed)).status).toBe('approved');
    }
    const last = requestDoc();
    await h.send(h.seal(last), { correlationId: String(last.id) });
    await h.reply(String(last.id));
    await until(consumer, (s) => s.acked + s.deadLettered >= 4);

    expect({ deadLetters, storeErrors }).toEqual({ deadLetters: [], storeErrors: [] });
    const records = store.page(AUDIT_FEED).entries.map((e) => JSON.parse(e.content) as { correlation_id: string });
    expect(records.map((r) => r.correlation_id)).toEqual(['x\uFFFD', '4111.11**.****.1111', 'a'.repeat(255), String(last.id)]);
    // The correlation ids only: the records' hex digests read as card numbers now and then.
    expect(findPans(records.map((r) => r.correlation_id).join('\n'), { thorough: true })).toEqual([]);
  });
});
