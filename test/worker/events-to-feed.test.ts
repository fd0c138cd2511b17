/**
 * The worker's events reach the feeds: a real worker sends them, the feed server's events
 * consumer (src/feed, logged in with the broker's `feed` role) stores them in a SQLite feed store.
 * A request sent twice with the same bytes and answered the same way is one audit entry and one
 * payment entry (the keys de-duplicate it); a tampered message is one audit entry; the stored
 * content is the record as sent. On the embedded broker and the external ones of
 * PAYGATE_TEST_BROKERS.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FEED, PAYMENTS_FEED, type AuditRecord, type PaymentEvent } from '../../src/audit/events.ts';
import { openSqliteFeedStore, type FeedStore } from '../../src/feed/index.ts';
import { startEventsConsumer, type EventsConsumer } from '../../src/feed/events-consumer.ts';
import { loadIdentity, TrustStore } from '../../src/wire/index.ts';
import { parseTestBrokers } from '../helpers/brokers.ts';
import { derToSmime, smimeToDer } from '../helpers/openssl.ts';
import { makeTempDir, makeTestPki } from '../helpers/pki.ts';
import { nodeAs, requestDoc, startHarness, until, type Harness } from './harness.ts';
import { freshEventsQueue, sha256 } from './events-reader.ts';

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('worker events into the feeds on $name', (descriptor) => {
  let h: Harness;
  let store: FeedStore;
  let consumer: EventsConsumer;

  beforeAll(async () => {
    const pki = await makeTestPki();
    const queue = freshEventsQueue();
    h = await startHarness({ broker: descriptor, worker: { events: { queue, recipient: pki.feed.certPem } } });
    store = openSqliteFeedStore({ path: join(makeTempDir('feed-store'), 'feed.sqlite') });
    consumer = await startEventsConsumer({
      store,
      stomp: { nodes: [nodeAs(h.broker.descriptor, 'feed')], connectTimeoutMs: 3_000 },
      queue,
      identity: loadIdentity(pki.feed.certPem, pki.feed.keyPem),
      trust: new TrustStore([pki.ca.certPem]),
    });
  });
  afterAll(async () => {
    await consumer?.stop();
    store?.close();
    await h?.close();
  });

  const contents = <T>(feed: string): T[] => store.page(feed, { pageSize: 1_000 }).entries.map((entry) => JSON.parse(entry.content) as T);

  it('a payment sent twice is one audit entry and one payment entry; a tampered message one audit entry', async () => {
    const doc = requestDoc();
    const body = h.seal(doc);
    await h.send(body, { correlationId: doc.id });
    await h.reply(doc.id as string);
    await h.send(body, { correlationId: doc.id });
    await h.nthReply(doc.id as string, 2);
    const der = smimeToDer(h.seal(requestDoc()));
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0x01;
    const tampered = derToSmime(der);
    await h.send(tampered);
    // Three events messages: the payment, its replay (same keys), the tampered one.
    await until(() => consumer.stats.acked >= 3);

    const audit = contents<AuditRecord>(AUDIT_FEED);
    expect(audit.map((record) => record.request_body_sha256)).toEqual([sha256(body), sha256(tampered)]);
    expect(audit[0]).toMatchObject({ request_id: doc.id, outcome: { status: 'approved' }, replayed_from_store: false });
    expect(audit[1]).toMatchObject({ request_id: null, outcome: { status: 'dead_lettered', code: 'DECRYPT_FAILED' } });
    const payments = contents<PaymentEvent>(PAYMENTS_FEED);
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ request_id: doc.id, status: 'approved' });
    expect(consumer.stats).toMatchObject({ stored: 3, duplicates: 2, deadLettered: 0 });
    expect(store.verifyChain(AUDIT_FEED)).toEqual({ count: 2 }); // whole: no broken link
  });
});
