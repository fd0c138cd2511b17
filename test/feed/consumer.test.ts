/**
 * The events consumer on real brokers (the embedded one and PAYGATE_TEST_BROKERS' external
 * ones), with real sealed events and a real SQLite store: good events are stored once, refused
 * ones are dead-lettered with their reason and never stored, a failing store gets its batch
 * back, a lost connection loses nothing and doubles nothing.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FEED, PAYMENTS_FEED, type EventsDocument } from '../../src/audit/events.ts';
import { startEventsConsumer, type EventsConsumer, type EventsConsumerOptions } from '../../src/feed/events-consumer.ts';
import type { FeedStore } from '../../src/feed/index.ts';
import { StompConnection } from '../../src/stomp/index.ts';
import { encodeYaml, loadIdentity, TrustStore } from '../../src/wire/index.ts';
import { parseTestBrokers, startTestBroker, type TestBroker, type TestRole } from '../helpers/brokers.ts';
import { derToSmime, openssl, recipientArgs, smimeToDer } from '../helpers/openssl.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { makeForeignPki, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { Inbox, roleNode } from '../integration/support.ts';
import { eventsDocument, sealEvents, until } from './consumer-support.ts';
import { feedStores } from './support.ts';

/** The login the consumer uses (paygate feed's), and the one that sends events (a worker's). */
const CONSUMER_ROLE: TestRole = 'feed';
const SENDER_ROLE: TestRole = 'worker';

const stores = feedStores();

/** `document` with its audit record's amount set to `value` minor units. */
function withAmount(document: EventsDocument, value: number): EventsDocument {
  const [audit] = document.events;
  return { ...document, events: [{ ...audit, record: { ...audit?.record, amount: { value, currency: 'EUR' } } } as EventsDocument['events'][number]] };
}

/** A queue of this test's own: the events queue's name with a suffix. */
const testQueue = (): string => `/queue/paygate.feed.events-t${randomUUID().slice(0, 8)}`;

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('events consumer on $name', (descriptor) => {
  let broker: TestBroker;
  let pki: TestPki;
  let sender: StompConnection;
  const running: EventsConsumer[] = [];

  beforeAll(async () => {
    broker = await startTestBroker(descriptor);
    pki = await makeTestPki();
    sender = await StompConnection.connect({ nodes: [roleNode(broker.descriptor, SENDER_ROLE)] });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  afterAll(async () => {
    await sender?.close();
    await broker?.stop();
  });

  async function consume(store: FeedStore, queue: string, extra: Partial<EventsConsumerOptions> = {}): Promise<EventsConsumer> {
    const consumer = await startEventsConsumer({
      store,
      stomp: { nodes: [roleNode(broker.descriptor, CONSUMER_ROLE)], reconnect: { initialDelayMs: 50, maxDelayMs: 500 } },
      queue,
      identity: loadIdentity(pki.feed.certPem, pki.feed.keyPem),
      trust: new TrustStore([pki.ca.certPem]),
      ...extra,
    });
    running.push(consumer);
    return consumer;
  }

  const send = (queue: string, body: string): Promise<void> =>
    sender.send(queue, body, { headers: { persistent: 'true', 'content-type': 'application/pkcs7-mime; smime-type=authEnveloped-data' }, receipt: true });

  it('stores each event once in its feed, as the common form fixes it, even when a message is sent twice', async () => {
    const { store } = stores.open();
    const queue = testQueue();
    const consumer = await consume(store, queue);
    const paid = eventsDocument();
    const auditOnly = eventsDocument({ payment: false, status: 'declined' });
    await send(queue, sealEvents(pki, paid));
    await send(queue, sealEvents(pki, auditOnly));
    await send(queue, sealEvents(pki, paid)); // a worker's redelivery: sealed again, same keys
    await until(consumer, (s) => s.acked === 3);

    expect(consumer.stats).toMatchObject({ received: 3, stored: 3, duplicates: 2, acked: 3, deadLettered: 0, storeFailures: 0 });
    const audit = store.page(AUDIT_FEED).entries;
    const payments = store.page(PAYMENTS_FEED).entries;
    expect(audit.map((e) => [e.title, e.contentType])).toEqual([
      ['card authorize approved', 'application/json'],
      ['card authorize declined DO_NOT_HONOR', 'application/json'],
    ]);
    expect(audit.map((e) => e.content)).toEqual([JSON.stringify(paid.events[0]?.record), JSON.stringify(auditOnly.events[0]?.record)]);
    expect(payments.map((e) => [e.title, e.content])).toEqual([['card authorize approved', JSON.stringify(paid.events[1]?.record)]]);
    expect(store.verifyChain(AUDIT_FEED)).toEqual({ count: 2 });
    expect(store.verifyChain(PAYMENTS_FEED)).toEqual({ count: 1 });
    // The audit and payment entries of one message were one commit: no message stored half.
    expect(store.feeds().map((f) => [f.name, f.chained, f.lastSeq])).toEqual([
      [AUDIT_FEED, true, 2],
      [PAYMENTS_FEED, true, 1],
    ]);
  });

  it("stores a record's keys in the schema's order whatever order the YAML had", async () => {
    const { store } = stores.open();
    const queue = testQueue();
    const consumer = await consume(store, queue);
    const document = eventsDocument({ payment: false });
    const record = document.events[0]?.record as Record<string, unknown>;
    const reversed = { ...document, events: [{ ...document.events[0], record: Object.fromEntries(Object.entries(record).reverse()) }] };
    await send(queue, sealEvents(pki, encodeYaml(reversed)));
    await until(consumer, (s) => s.acked === 1);
    expect(store.page(AUDIT_FEED).entries[0]?.content).toBe(JSON.stringify(record));
  });

  it('dead-letters tampered, unencrypted, untrusted, wrong-role, invalid and card-bearing events with their reason; nothing is stored', async () => {
    const { store } = stores.open();
    const queue = testQueue();
    const dlq = new Inbox();
    // The feed login may only SEND to the dead-letter queue: an operator reads it.
    const watcher = await StompConnection.connect({ nodes: [roleNode(broker.descriptor, 'operator')] });
    try {
      await watcher.subscribe(`${queue}.dlq`, (m) => (dlq.handler(m), void m.ack()), {}).ready;
      const consumer = await consume(store, queue);
      const der = smimeToDer(sealEvents(pki, eventsDocument()));
      der[der.length - 3] = (der[der.length - 3] as number) ^ 0x01; // inside the GCM tag
      const tampered = derToSmime(der);
      const unsigned = openssl(['cms', '-encrypt', '-aes-256-gcm', ...recipientArgs(pki.feed.certPath, 'rsa')], encodeYaml(eventsDocument())).toString();
      const foreign = await makeForeignPki();
      const cardNumber = '4111 1111 1111 1111';
      const cases: [string, string][] = [
        [tampered, 'tampered'],
        [encodeYaml(eventsDocument()), 'in clear'],
        [unsigned, 'unsigned'],
        [sealEvents(pki, eventsDocument(), foreign.client), 'untrusted'],
        [sealEvents(pki, eventsDocument(), pki.client), 'wrong role'],
        [sealEvents(pki, { paygate_event: 2, events: [] }), 'invalid'],
        [sealEvents(pki, withAmount(eventsDocument({ payment: false }), Number(cardNumber.replaceAll(' ', '')))), 'card in a number'],
      ];
      for (const [body] of cases) await send(queue, body);
      await until(consumer, (s) => s.deadLettered === cases.length);
      await dlq.waitFor(cases.length);

      const reasons = dlq.messages.map((m) => m.headers['paygate-dlq-reason']);
      expect(reasons).toEqual(['DECRYPT_FAILED', 'MALFORMED_MIME', 'UNSIGNED', 'UNTRUSTED_SIGNER', 'WRONG_SIGNER_ROLE', 'EVENTS_DOCUMENT_INVALID', 'EVENTS_CARD_DATA']);
      for (const message of dlq.messages) expect(message.headers.persistent ?? 'true').toBe('true');
      // What never decrypted is withheld (it could be anything, a card number in clear included).
      const inClear = dlq.messages[1];
      expect(inClear?.headers['paygate-dlq-body']).toBe('withheld');
      expect(inClear?.body.length).toBe(0);
      expect(inClear?.headers['paygate-dlq-body-bytes']).toBe(String(Buffer.byteLength(cases[1]?.[0] ?? '')));
      // What decrypted is ciphertext and kept as evidence.
      expect(dlq.messages[6]?.text()).toBe(cases[6]?.[0]);
      expect(dlq.messages[0]?.headers['paygate-dlq-body']).toBe('withheld');
      for (const message of dlq.messages) expect(findPans(JSON.stringify(message.headers) + message.text())).toEqual([]);

      expect(store.feeds()).toEqual([]);
      expect(consumer.stats).toMatchObject({ received: cases.length, stored: 0, acked: 0, deadLettered: cases.length });
    } finally {
      await watcher.close();
    }
  });

  it('an entry the store refuses for good is dead-lettered alone (EVENTS_UNSTORABLE); its batch and the messages after it are stored', async () => {
    // A store that takes records of at most 700 bytes: a 256-character correlation id makes one too long.
    const { store } = stores.open({ maxContentBytes: 700 });
    const queue = testQueue();
    const dlq = new Inbox();
    const watcher = await StompConnection.connect({ nodes: [roleNode(broker.descriptor, 'operator')] });
    try {
      await watcher.subscribe(`${queue}.dlq`, (m) => (dlq.handler(m), void m.ack()), {}).ready;
      const documents = [
        eventsDocument({ payment: false }),
        eventsDocument({ correlationId: 'y'.repeat(256) }),
        eventsDocument({ payment: false, correlationId: 'order 4111.1111.1111.1111' }),
        eventsDocument(),
      ];
      // All four wait on the queue, so the consumer takes them in one batch.
      for (const document of documents) await send(queue, sealEvents(pki, document));
      const consumer = await consume(store, queue, { retryDelayMs: 10, maxRetryDelayMs: 50 });
      await until(consumer, (s) => s.acked + s.deadLettered === 4);
      await dlq.waitFor(1);
      expect(dlq.messages.map((m) => m.headers['paygate-dlq-reason'])).toEqual(['EVENTS_UNSTORABLE']);
      expect(consumer.stats).toMatchObject({ acked: 3, deadLettered: 1, storeFailures: 0 });
      const audit = store.page(AUDIT_FEED).entries.map((e) => JSON.parse(e.content) as { correlation_id: string; redacted?: string[] });
      const sentId = (document: EventsDocument | undefined): unknown => (document?.events[0]?.record as { correlation_id?: unknown } | undefined)?.correlation_id;
      expect(audit.map((r) => [r.correlation_id, r.redacted])).toEqual([
        [sentId(documents[0]), undefined],
        ['order 4111.11**.****.1111', ['correlation_id']],
        [sentId(documents[3]), undefined],
      ]);
      expect(store.page(PAYMENTS_FEED).entries).toHaveLength(1);
      expect(store.verifyChain(AUDIT_FEED)).toEqual({ count: 3 });
    } finally {
      await watcher.close();
    }
  });

  it('a failing store keeps the batch unacknowledged; it comes back and is stored once the store recovers', async () => {
    const { store, path } = stores.open({ busyTimeoutMs: 0 });
    store.append('warm-up', { title: 'schema created', content: '' }, { chained: false });
    const queue = testQueue();
    const consumer = await consume(store, queue, { retryDelayMs: 20, maxRetryDelayMs: 100 });
    // Another connection holds SQLite's write lock: every append fails with FEED_STORE_FAILED.
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    try {
      const documents = [eventsDocument(), eventsDocument(), eventsDocument({ payment: false })];
      for (const document of documents) await send(queue, sealEvents(pki, document));
      await until(consumer, (s) => s.storeFailures >= 2);
      expect(consumer.stats.acked).toBe(0);
      locker.exec('COMMIT');
      await until(consumer, (s) => s.acked === 3);
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
    expect(store.page(AUDIT_FEED).entries).toHaveLength(3);
    expect(store.page(PAYMENTS_FEED).entries).toHaveLength(2);
    expect(store.verifyChain(AUDIT_FEED)).toEqual({ count: 3 });
    expect(consumer.stats.stored).toBe(5);
    // Handed back to the broker where a NACK requeues (so they were delivered again); kept in hand on ActiveMQ.
    if (descriptor.name === 'activemq') expect(consumer.stats.received).toBe(3);
    else expect(consumer.stats.received).toBeGreaterThan(3);
  });

  it('a connection lost between the commit and the ACKs: the messages come back and are not stored twice', async () => {
    const { store } = stores.open();
    const queue = testQueue();
    const proxy = await TcpProxy.start(broker.descriptor.host, broker.descriptor.port);
    try {
      const node = { ...roleNode(broker.descriptor, CONSUMER_ROLE), host: '127.0.0.1', port: proxy.port };
      const consumer = await startEventsConsumer({
        store,
        stomp: { nodes: [node], reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, heartBeat: { outgoingMs: 500, incomingMs: 500 } },
        queue,
        identity: loadIdentity(pki.feed.certPem, pki.feed.keyPem),
        trust: new TrustStore([pki.ca.certPem]),
      });
      running.push(consumer);
      // The first commit cuts the connection before its ACKs leave (emitted after the commit, before the ACKs).
      consumer.once('batch', () => proxy.drop());
      const documents = Array.from({ length: 5 }, () => eventsDocument());
      for (const document of documents) await send(queue, sealEvents(pki, document));
      // Each message is ACKed once in the end; those of the cut batch only on their second delivery.
      await until(consumer, (s) => s.stored === 10 && s.acked === 5);
      expect(consumer.stats.duplicates).toBeGreaterThanOrEqual(2);
      expect(store.page(AUDIT_FEED).entries).toHaveLength(5);
      expect(store.page(PAYMENTS_FEED).entries).toHaveLength(5);
      expect(store.verifyChain(AUDIT_FEED)).toEqual({ count: 5 });
      expect(consumer.stats.received).toBeGreaterThan(5);
    } finally {
      await proxy.close();
    }
  });
});
