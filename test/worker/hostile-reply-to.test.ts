/**
 * No message may cost the worker its consuming connection, and a reply goes only where a reply
 * belongs. On every broker of PAYGATE_TEST_BROKERS: 100 captured (already answered) requests are
 * replayed with hostile `reply-to` values — bogus names (`/queue/x`, `nonsense`), RabbitMQ's
 * route into a request queue (`/reply-queue/paygate.card`), the request queue itself, another
 * client's live reply queue, and the reply queue of a client that has gone — while two SDK
 * storefronts (src/client `createGateway`) and that other client make payments. Every honest
 * request is answered, each operation reaches the provider once, the worker's consuming
 * connection is never lost, the bogus ones are dead-lettered `BAD_REPLY_TO` and the others are
 * delivered harmlessly (the first answer again, sealed to its signer) or refused by the broker
 * at the cost of the publishing connection only. On the embedded broker, a reply queue that is
 * full (the broker answers ERROR) costs the publishing connection only, and after
 * `maxReplyAttempts` such failures the request is dead-lettered `REPLY_UNDELIVERABLE`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/client/index.ts';
import { StompConnection, type StompMessage } from '../../src/stomp/index.ts';
import { requestHeaders, type RequestDocumentInput } from '../../src/wire/index.ts';
import { counter, counting } from '../fixtures/counting-provider.ts';
import { parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor } from '../helpers/brokers.ts';
import { Inbox } from '../integration/support.ts';
import { authorizePayload, nodeAs, requestDoc, startHarness, TEST_PAN, until, WAIT_MS, type Harness } from './harness.ts';

const CAPTURED = 100;
const HONEST_PER_GATEWAY = 20;
const VICTIM_REQUESTS = 10;

/**
 * The `reply-to` a worker receives for a reply queue of a connection logged in as `role`: that
 * connection sends one message with its reply queue to a probe queue, the operator reads it.
 */
async function serverSideReplyTo(h: Harness, connection: StompConnection, replyTo: string): Promise<string> {
  const probe = `${h.queuePrefix}probe${randomUUID().slice(0, 8)}`;
  const inbox = new Inbox();
  const subscription = h.operator.subscribe(probe, inbox.handler, { ack: 'auto' });
  await subscription.ready;
  await connection.send(probe, 'probe', { headers: { 'reply-to': replyTo }, receipt: true });
  const message = await inbox.next(WAIT_MS);
  await subscription.unsubscribe();
  return message.headers['reply-to'] as string;
}

/** A client of its own (a raw connection as `storefront-2`) that sends sealed requests and collects its replies. */
async function otherClient(h: Harness): Promise<{ connection: StompConnection; replyTo: string; serverReplyTo: string; replies: Map<string, StompMessage[]> }> {
  const connection = await StompConnection.connect({ nodes: [nodeAs(h.broker.descriptor, 'storefront-2')], connectTimeoutMs: 3_000 });
  const replies = new Map<string, StompMessage[]>();
  const queue = connection.replyQueue((message) => {
    const id = message.headers['correlation-id'] ?? '';
    replies.set(id, [...(replies.get(id) ?? []), message]);
  });
  return { connection, replyTo: queue.replyTo, serverReplyTo: await serverSideReplyTo(h, connection, queue.replyTo), replies };
}

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('hostile reply-to values on $name', (descriptor: BrokerDescriptor) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ broker: descriptor, worker: { prefetch: 16 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it(`${CAPTURED} replays with hostile reply-to during honest payments: all honest answered, one call each, the consuming connection never lost`, async () => {
    counter.reset();
    // The captured traffic: requests answered once, their exact bodies kept.
    const captured = Array.from({ length: CAPTURED }, (_, i) => requestDoc({ idempotency_key: `captured-${i}` }));
    const bodies = captured.map((doc) => h.seal(doc));
    await Promise.all(captured.map((doc, i) => h.send(bodies[i] as string, { correlationId: doc.id })));
    for (const doc of captured) expect((await h.reply(doc.id)).status).toBe('approved');

    const victim = await otherClient(h);
    const gone = await StompConnection.connect({ nodes: [nodeAs(h.broker.descriptor, 'storefront-2')], connectTimeoutMs: 3_000 });
    const goneReplyTo = await serverSideReplyTo(h, gone, gone.replyQueue(() => undefined).replyTo);
    await gone.close();

    const bad = ['/queue/x', 'nonsense', '/reply-queue/paygate.card', h.queue()];
    const allowed = [victim.serverReplyTo, goneReplyTo];
    const targets = [...bad, ...allowed];
    const gateways = await Promise.all(
      (['storefront', 'storefront-2'] as const).map((role) =>
        createGateway({
          brokers: { nodes: [nodeAs(h.broker.descriptor, role)], connectTimeoutMs: 3_000 },
          identity: { cert: h.pki.client.certPem, key: h.pki.client.keyPem },
          gatewayCertificates: [h.pki.gateway.certPem],
          trust: h.pki.ca.certPem,
          providers: [counting] as const,
          queuePrefix: h.queuePrefix,
          defaultTimeoutMs: 20_000,
        }),
      ),
    );
    try {
      const deadLettersBefore = h.events.deadLetter.length;
      const replays = captured.map((doc, i) => {
        const replyTo = targets[i % targets.length] as string;
        const headers = { ...requestHeaders({ replyTo, correlationId: doc.id, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 }), redelivered: 'true', redeliveryCounter: '1' };
        return h.client.send(h.queue(), bodies[i] as string, { headers, receipt: true });
      });
      const honest = gateways.flatMap((gateway, g) =>
        Array.from({ length: HONEST_PER_GATEWAY }, (_, i) =>
          gateway.request('counting', 'authorize', authorizePayload({ order: `honest-${g}-${i}` }) as never, { idempotencyKey: `honest-${g}-${i}` }),
        ),
      );
      const victimDocs = Array.from({ length: VICTIM_REQUESTS }, (_, i) => requestDoc({ idempotency_key: `victim-${i}` }));
      const victimSends = victimDocs.map((doc) =>
        victim.connection.send(h.queue(), h.seal(doc), {
          headers: requestHeaders({ replyTo: victim.replyTo, correlationId: doc.id, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 }),
          receipt: true,
        }),
      );
      await Promise.all([...replays, ...victimSends]);

      // Every honest request answered, approved.
      const answers = await Promise.all(honest);
      expect(answers.map((a) => a.status)).toEqual(Array(2 * HONEST_PER_GATEWAY).fill('approved'));
      await until(() => victimDocs.every((doc) => victim.replies.has(doc.id)), 20_000);
      for (const doc of victimDocs) expect(h.openReply((victim.replies.get(doc.id) as StompMessage[])[0] as StompMessage).status).toBe('approved');

      // The bogus ones dead-lettered, nothing sent to them.
      const badCount = captured.filter((_, i) => i % targets.length < bad.length).length;
      // ActiveMQ refuses a SEND to a temp queue that is gone (ERROR) and never redelivers a NACKed
      // message: those replays are dead-lettered REPLY_UNDELIVERABLE at once. Elsewhere the reply is dropped.
      const goneCount = descriptor.name === 'activemq' ? captured.filter((_, i) => targets[i % targets.length] === goneReplyTo).length : 0;
      await until(() => h.events.deadLetter.length - deadLettersBefore >= badCount + goneCount, 20_000);
      const newLetters = h.events.deadLetter.slice(deadLettersBefore);
      expect(newLetters.filter((e) => e.reason === 'BAD_REPLY_TO')).toHaveLength(badCount);
      expect(newLetters.filter((e) => e.reason === 'REPLY_UNDELIVERABLE')).toHaveLength(goneCount);
      // The replays to the other client's live queue: delivered there (the first answer again, sealed to its signer), harmless.
      const toVictim = captured.filter((_, i) => targets[i % targets.length] === victim.serverReplyTo);
      await until(() => toVictim.every((doc) => victim.replies.has(doc.id)), 20_000);
      for (const doc of toVictim) expect(h.openReply((victim.replies.get(doc.id) as StompMessage[])[0] as StompMessage)).toMatchObject({ status: 'approved', request_id: doc.id });
      await until(() => h.worker.inFlight === 0, 20_000);

      // Never executed twice: one provider call per operation, replays none.
      expect(counter.duplicates).toEqual([]);
      expect(counter.total).toBe(CAPTURED + 2 * HONEST_PER_GATEWAY + VICTIM_REQUESTS);
      // The consuming connection was never lost (a refused reply can only cost the publishing one).
      expect(h.worker.connectionLosses.consume).toBe(0);
      expect(h.events.error.filter((e) => e.stage === 'connection')).toEqual([]);
      // Each ERROR cost the publishing connection only: one or two connections per refused reply
      // (a concurrent try, then the serial retry that proves the failure its own).
      expect(h.worker.connectionLosses.publish).toBeGreaterThanOrEqual(goneCount);
      expect(h.worker.connectionLosses.publish).toBeLessThanOrEqual(2 * goneCount);
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.close(2_000)));
      await victim.connection.close();
    }
  }, 90_000);
});

describe('a full reply queue (embedded broker, a small queue limit)', () => {
  let h: Harness;
  const LIMIT = 64 * 1024;

  beforeAll(async () => {
    const embedded = await startEmbeddedBroker({ maxQueueBytes: LIMIT } as Parameters<typeof startEmbeddedBroker>[0]);
    const [base] = parseTestBrokers('embedded');
    const broker = { descriptor: { ...(base as BrokerDescriptor), host: embedded.host, port: embedded.port }, stop: () => embedded.stop() };
    h = await startHarness({ startedBroker: broker, worker: { maxReplyAttempts: 3 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('costs the publishing connection only; after maxReplyAttempts the request is dead-lettered REPLY_UNDELIVERABLE; honest traffic goes on', async () => {
    counter.reset();
    // A client whose reply queue is full: it holds one message unacknowledged and the rest wait.
    const slow = await StompConnection.connect({ nodes: [nodeAs(h.broker.descriptor, 'storefront-2')], connectTimeoutMs: 3_000 });
    try {
      const held = slow.subscribe('/temp-queue/slow', () => undefined, { ack: 'client-individual', prefetch: 1 });
      await held.ready;
      const serverReplyTo = await serverSideReplyTo(h, slow, '/temp-queue/slow');
      // Filled as replies fill it, by a login with the worker's right to answer into reply queues.
      const filler = await StompConnection.connect({ nodes: [nodeAs(h.broker.descriptor, 'worker')], connectTimeoutMs: 3_000 });
      await filler.send(serverReplyTo, 'x', { receipt: true }); // taken by the held subscription
      await filler.send(serverReplyTo, 'x'.repeat(LIMIT - 2_048), { receipt: true }); // waits: no reply fits beside it
      await filler.close();

      const doc: RequestDocumentInput = requestDoc({ idempotency_key: 'to-a-full-queue' });
      const body = h.seal(doc);
      const headers = requestHeaders({ replyTo: serverReplyTo, correlationId: doc.id, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
      const lettersBefore = h.deadLetters.messages.length;
      await h.client.send(h.queue(), body, { headers, receipt: true });
      // Honest requests meanwhile.
      const honest = await Promise.all(Array.from({ length: 10 }, (_, i) => h.roundTrip(requestDoc({ idempotency_key: `beside-full-${i}` }))));
      expect(honest.map((r) => r.status)).toEqual(Array(10).fill('approved'));

      const letter = await h.deadLetters.next(20_000);
      expect(h.deadLetters.messages.length).toBe(lettersBefore + 1);
      expect(letter.headers['paygate-dlq-reason']).toBe('REPLY_UNDELIVERABLE');
      expect(letter.body.equals(Buffer.from(body))).toBe(true); // it opened: ciphertext, kept
      expect(counter.calls('to-a-full-queue')).toBe(1); // answered once, resent from the record
      expect(h.events.error.filter((e) => e.stage === 'reply' && e.code === 'STOMP_OPERATION_FAILED')).toHaveLength(3);
      // Each counted attempt costs the publisher one or two connections: a concurrent try (its
      // failure is not yet known to be its own) and the serial retry that proves it.
      expect(h.worker.connectionLosses.consume).toBe(0);
      expect(h.worker.connectionLosses.publish).toBeGreaterThanOrEqual(3);
      expect(h.worker.connectionLosses.publish).toBeLessThanOrEqual(6);
      expect(JSON.stringify(h.events)).not.toContain(TEST_PAN);
    } finally {
      await slow.close();
    }
  }, 60_000);
});
