/**
 * A request is never ACKed as done without its audit record: the events are SENT after the reply
 * and before the ACK, and a refused events SEND is handled like a refused reply. On a broker that
 * redelivers a NACKed message (embedded, RabbitMQ) the request is NACKed and comes back; after
 * `maxReplyAttempts` (at once on ActiveMQ, which never redelivers a NACKed message) it is
 * dead-lettered `EVENTS_UNDELIVERABLE`, still sealed, and a re-drive from the DLQ to a worker
 * that can send events is answered from the store, with its record.
 *
 * The refusal is the broker's own: on the embedded broker the worker publishes with a login that
 * has every worker right but the events queue's; on the external brokers (whose logins are fixed)
 * its events queue is one no worker right covers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/broker/index.ts';
import { quirksOf, type StompOptions } from '../../src/stomp/index.ts';
import { Worker } from '../../src/worker/index.ts';
import { isExternal, parseTestBrokers, startTestBroker, testUsers, startEmbeddedBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { counter, counting } from '../fixtures/counting-provider.ts';
import { nodeAs, requestDoc, startHarness, until, type Harness } from './harness.ts';
import { EventsReader, freshEventsQueue } from './events-reader.ts';

/** A login with the worker role's rights except the events queues (embedded broker only). */
const NO_EVENTS_LOGIN = 'worker-no-events';

async function brokerFor(descriptor: Parameters<typeof startTestBroker>[0]): Promise<TestBroker> {
  if (isExternal(descriptor)) return startTestBroker(descriptor);
  const users = await testUsers();
  const password = await hashPassword(`${NO_EVENTS_LOGIN}-pass`, { ln: 10 });
  const noEvents = { password, read: ['/queue/paygate.*'], write: ['/queue/paygate.*.dlq'], reply: true };
  const embedded = await startEmbeddedBroker({ users: { ...users, users: { ...users.users, [NO_EVENTS_LOGIN]: noEvents } } });
  return { descriptor: { ...descriptor, host: embedded.host, port: embedded.port }, stop: () => embedded.stop() };
}

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('events before the ACK on $name', (descriptor) => {
  let h: Harness;
  let pki: TestPki;
  let reader: EventsReader;
  let eventsQueue: string;
  let second: Worker | undefined;

  beforeAll(async () => {
    pki = await makeTestPki();
    eventsQueue = freshEventsQueue();
    const broker = await brokerFor(descriptor);
    const node = broker.descriptor;
    // The worker's events SEND is refused by the broker: a login without the right, or a queue no right covers.
    const refused: { queue: string; publisherStomp?: StompOptions } = isExternal(descriptor)
      ? { queue: `/queue/paygate-norights.events-t${randomBytes(4).toString('hex')}` }
      : {
          queue: eventsQueue,
          publisherStomp: { nodes: [{ host: node.host, port: node.port, vhost: '/', login: NO_EVENTS_LOGIN, passcode: `${NO_EVENTS_LOGIN}-pass` }], connectTimeoutMs: 3_000 },
        };
    h = await startHarness({
      startedBroker: broker,
      worker: {
        events: { queue: refused.queue, recipient: pki.feed.certPem },
        maxReplyAttempts: 2,
        ...(refused.publisherStomp === undefined ? {} : { publisherStomp: refused.publisherStomp }),
      },
    });
    reader = await EventsReader.start(node, eventsQueue, pki);
  });
  afterAll(async () => {
    await second?.stop({ graceMs: 2_000 });
    await reader?.close();
    await h?.close();
  });

  it('a refused events SEND requeues the request (dead-letters it once attempts run out); a re-drive is answered from the store with its record', async () => {
    counter.reset();
    const doc = requestDoc();
    const id = doc.id as string;
    const body = h.seal(doc);
    await h.send(body, { correlationId: id });
    await h.reply(id);
    const letter = await h.deadLetters.next();
    expect(letter.headers['paygate-dlq-reason']).toBe('EVENTS_UNDELIVERABLE');
    expect(letter.body.equals(Buffer.from(body))).toBe(true); // still sealed: an operator can re-drive it

    const eventsErrors = h.events.error.filter((event) => event.stage === 'events');
    const redelivers = quirksOf(isExternal(descriptor) ? descriptor.name : 'embedded').nack === 'requeue';
    if (redelivers) {
      // First attempt NACKed and redelivered (answered again from the store), the second dead-lettered.
      expect(eventsErrors.map((event) => event.requeued)).toEqual([true, false]);
      expect(await h.nthReply(id, 2)).toMatchObject({ status: 'approved' });
    } else {
      expect(eventsErrors.map((event) => event.requeued)).toEqual([false]);
    }
    // Never acknowledged as answered: only the dead letter took it off the queue (reported after its ACK).
    await until(() => h.events.deadLetter.length > 0);
    expect(h.events.processed).toEqual([]);
    expect(h.events.deadLetter).toEqual([{ provider: 'counting', reason: 'EVENTS_UNDELIVERABLE' }]);
    expect(counter.calls(doc.idempotency_key ?? id)).toBe(1);

    // The operator re-drives the dead letter once events can be sent: a worker with the right answers it from the store.
    await h.worker.stop({ graceMs: 2_000 });
    second = await Worker.start({
      stomp: { nodes: [nodeAs(h.broker.descriptor, 'worker')], connectTimeoutMs: 3_000 },
      identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
      trust: [pki.ca.certPem],
      providers: [counting],
      idempotency: { path: h.storePath },
      queuePrefix: h.queuePrefix,
      events: { queue: eventsQueue, recipient: pki.feed.certPem },
    });
    const replies = h.allReplies.get(id)?.length ?? 0;
    await h.send(letter.body, { correlationId: id });
    await until(() => (h.allReplies.get(id)?.length ?? 0) > replies);
    const received = await reader.waitFor((r) => r.audit.request_id === id);
    expect(received.audit).toMatchObject({ outcome: { status: 'approved' }, replayed_from_store: true });
    expect(received.payment).toMatchObject({ request_id: id, status: 'approved' });
    expect(counter.calls(doc.idempotency_key ?? id)).toBe(1);
  });
});
