// Least privilege on every broker of PAYGATE_TEST_BROKERS (docs/broker-access.md): an attacker
// holding a valid login of another role, or none, tries what captured traffic would suggest.
// Every refusal is observed (an ERROR frame answering the frame), and every "nothing happened"
// is proven by a positive control: the right login then does the same thing, or gets the very
// message the attacker went for. Raw STOMP frames (test/helpers/brokers.ts), not the SDK: the
// attacker does not use our client.
//
// Where a broker cannot confine something, the test asserts what really happens, as documented:
// on RabbitMQ anyone with write on the default exchange (every role that SENDs) can publish into
// any queue by name, so a storefront can inject into another client's reply queue or a DLQ.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRole, openStomp, parseTestBrokers, startTestBroker, stompConnect } from '../helpers/brokers.ts';
import type { BrokerDescriptor, StompFrame, StompHeaders, StompSession, TestBroker, TestRole } from '../helpers/brokers.ts';
import { queueHeaders } from '../integration/support.ts';

const WAIT_MS = 5_000;

type Broker = BrokerDescriptor & { readonly port: number };

/** How each broker words a refusal (its ERROR frame's message or body). */
const REFUSED: Record<BrokerDescriptor['name'], RegExp> = {
  embedded: /^(forbidden: login \S+ may not (SEND|SUBSCRIBE) to |N?ACK of a message this connection does not hold|unknown destination )/,
  // access_refused: no permission; resource_locked: another connection's exclusive queue;
  // "Subscription not found": an ACK/NACK id of another connection.
  rabbitmq: /^(access_refused|resource_locked|Subscription not found)$/,
  activemq: /^(User \S+ is not authorized to (read from|write to): |only the connection that created |Unexpected N?ACK received)/,
};

/** A fresh request queue of this suite: one name segment after `paygate.`, like `paygate.<provider>`. */
const requestQueue = (): string => `/queue/paygate.t${randomUUID().slice(0, 8)}-access`;

/** A fresh events queue: one name segment after `paygate.feed.`, like the default `paygate.feed.events`. */
const eventsQueue = (): string => `/queue/paygate.feed.events-t${randomUUID().slice(0, 8)}`;

/** What became of one frame: the broker's RECEIPT, or the message of its ERROR frame. */
type Outcome = { readonly accepted: true } | { readonly refused: string };

function errorMessage(err: unknown): string | undefined {
  const text = err instanceof Error ? err.message : String(err);
  const at = text.indexOf(' sent ERROR: ');
  return at === -1 ? undefined : text.slice(at + ' sent ERROR: '.length);
}

async function session(broker: Broker, role: TestRole): Promise<StompSession> {
  return openStomp(asRole(broker, role), WAIT_MS);
}

/** Sends one frame with a receipt on a fresh connection of `role` and says what the broker answered. */
async function attempt(broker: Broker, role: TestRole, command: string, headers: StompHeaders, body = ''): Promise<Outcome> {
  const s = await session(broker, role);
  try {
    s.send(command, { ...headers, receipt: 'attempt' }, body);
    const frame = await s.receive(WAIT_MS);
    if (frame.command === 'RECEIPT') return { accepted: true };
    throw new Error(`${broker.name} answered ${command} with ${frame.command}`);
  } catch (err) {
    const refused = errorMessage(err);
    if (refused === undefined) throw err;
    return { refused };
  } finally {
    s.close();
  }
}

/** The next frame, which must be a MESSAGE. */
async function nextMessage(s: StompSession): Promise<StompFrame> {
  const frame = await s.receive(WAIT_MS);
  expect(frame.command).toBe('MESSAGE');
  return frame;
}

/** SENDs with a receipt and waits for it. */
async function sendConfirmed(s: StompSession, headers: StompHeaders, body: string): Promise<void> {
  s.send('SEND', { ...headers, receipt: `send-${randomUUID()}` }, body);
  expect((await s.receive(WAIT_MS)).command).toBe('RECEIPT');
}

/**
 * SUBSCRIBEs without a receipt: a broker may deliver what the queue holds before the RECEIPT
 * (the embedded one does), and the next frame is then a MESSAGE, or the ERROR of a refusal.
 */
function subscribe(s: StompSession, headers: StompHeaders): void {
  s.send('SUBSCRIBE', headers);
}

/** SUBSCRIBEs with a receipt and waits for it; only for a destination known to be empty. */
async function subscribeConfirmed(s: StompSession, headers: StompHeaders): Promise<void> {
  s.send('SUBSCRIBE', { ...headers, receipt: `sub-${randomUUID()}` });
  expect((await s.receive(WAIT_MS)).command).toBe('RECEIPT');
}

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('broker access on $name', (descriptor) => {
  let testBroker: TestBroker;
  let broker: Broker;
  const refused = (): { refused: string } => ({ refused: expect.stringMatching(REFUSED[descriptor.name]) as unknown as string });

  beforeAll(async () => {
    testBroker = await startTestBroker(descriptor);
    broker = testBroker.descriptor;
  });
  afterAll(async () => {
    await testBroker?.stop();
  });

  describe('logging in', () => {
    it('a CONNECT without login and passcode is refused', async () => {
      await expect(stompConnect(broker, WAIT_MS, { anonymous: true })).rejects.toThrow(/sent ERROR: /);
      await expect(stompConnect(asRole(broker, 'audit'), WAIT_MS)).resolves.toMatchObject({ version: '1.2' });
    });

    it('a wrong passcode, and the brokers’ customary guest/guest and admin/admin, are refused', async () => {
      await expect(stompConnect({ ...asRole(broker, 'storefront'), passcode: 'wrong' }, WAIT_MS)).rejects.toThrow(/sent ERROR: /);
      await expect(stompConnect({ ...broker, login: 'guest', passcode: 'guest' }, WAIT_MS)).rejects.toThrow(/sent ERROR: /);
      await expect(stompConnect({ ...broker, login: 'admin', passcode: 'admin' }, WAIT_MS)).rejects.toThrow(/sent ERROR: /);
      await expect(stompConnect(asRole(broker, 'storefront'), WAIT_MS)).resolves.toMatchObject({ version: '1.2' });
    });
  });

  describe('request queues and dead letters', () => {
    it('storefront and audit logins cannot consume a request queue; the worker then gets the request', async () => {
      const queue = requestQueue();
      const sender = await session(broker, 'storefront');
      try {
        await sendConfirmed(sender, { destination: queue, ...queueHeaders() }, 'request');
      } finally {
        sender.close();
      }
      for (const role of ['storefront', 'storefront-2', 'audit'] as const) {
        expect(await attempt(broker, role, 'SUBSCRIBE', { destination: queue, id: 'steal', ack: 'auto', ...queueHeaders() }), role).toEqual(refused());
      }
      const worker = await session(broker, 'worker');
      try {
        subscribe(worker, { destination: queue, id: 'work', ack: 'auto', ...queueHeaders() });
        expect((await nextMessage(worker)).body).toBe('request');
      } finally {
        worker.close();
      }
    });

    it('storefront and audit logins cannot consume a DLQ, nor the worker; an operator reads the dead letter', async () => {
      const dlq = `${requestQueue()}.dlq`;
      const worker = await session(broker, 'worker');
      try {
        await sendConfirmed(worker, { destination: dlq, ...queueHeaders() }, 'dead letter');
      } finally {
        worker.close();
      }
      for (const role of ['storefront', 'audit', 'worker'] as const) {
        expect(await attempt(broker, role, 'SUBSCRIBE', { destination: dlq, id: 'steal', ack: 'auto', ...queueHeaders() }), role).toEqual(refused());
      }
      const operator = await session(broker, 'operator');
      try {
        subscribe(operator, { destination: dlq, id: 'inspect', ack: 'auto', ...queueHeaders() });
        expect((await nextMessage(operator)).body).toBe('dead letter');
      } finally {
        operator.close();
      }
    });

    it('a storefront cannot SEND into a DLQ by its name (on RabbitMQ it can through the default exchange, the documented limit)', async () => {
      const dlq = `${requestQueue()}.dlq`;
      expect(await attempt(broker, 'storefront', 'SEND', { destination: dlq, ...queueHeaders() }, 'forged')).toEqual(refused());
      expect(await attempt(broker, 'audit', 'SEND', { destination: dlq, ...queueHeaders() }, 'forged')).toEqual(refused());
      const operator = await session(broker, 'operator');
      try {
        // The operator declares the DLQ and sees only what a worker put there.
        await subscribeConfirmed(operator, { destination: dlq, id: 'inspect', ack: 'auto', ...queueHeaders() });
        const injected = await attempt(broker, 'storefront', 'SEND', { destination: `/amq/queue/${dlq.slice('/queue/'.length)}` }, 'injected');
        if (descriptor.name === 'rabbitmq') {
          expect(injected).toEqual({ accepted: true });
          expect((await nextMessage(operator)).body).toBe('injected');
        } else {
          // `/amq/queue/` is RabbitMQ's syntax; elsewhere it names an ordinary queue the storefront may not use either.
          expect(injected).toEqual(refused());
        }
        const worker = await session(broker, 'worker');
        try {
          await sendConfirmed(worker, { destination: dlq, ...queueHeaders() }, 'genuine');
        } finally {
          worker.close();
        }
        expect((await nextMessage(operator)).body).toBe('genuine');
      } finally {
        operator.close();
      }
    });
  });

  describe("another client's reply queue", () => {
    /** A storefront with a request in the request queue, and the worker that took it: the reply-to is what an eavesdropper saw. */
    async function requestInFlight(): Promise<{ victim: StompSession; worker: StompSession; replyTo: string }> {
      const queue = requestQueue();
      const victim = await session(broker, 'storefront');
      const worker = await session(broker, 'worker');
      // RabbitMQ creates the temp queue from the SEND's reply-to and delivers on an implicit
      // subscription; the others create it on SUBSCRIBE.
      if (descriptor.name !== 'rabbitmq') await subscribeConfirmed(victim, { destination: '/temp-queue/replies', id: 'replies', ack: 'auto' });
      await sendConfirmed(victim, { destination: queue, 'reply-to': '/temp-queue/replies', ...queueHeaders() }, 'request');
      subscribe(worker, { destination: queue, id: 'work', ack: 'auto', ...queueHeaders() });
      const request = await nextMessage(worker);
      const replyTo = request.headers['reply-to'] ?? '';
      expect(replyTo).not.toBe('');
      return { victim, worker, replyTo };
    }

    it('another storefront, an audit login or the worker cannot subscribe to it; the reply still reaches its owner', async () => {
      const { victim, worker, replyTo } = await requestInFlight();
      try {
        const targets = [replyTo];
        // RabbitMQ's reply queue is a plain (exclusive) queue: try its /amq/queue/ name as well.
        if (descriptor.name === 'rabbitmq') targets.push(`/amq/queue/${replyTo.slice(replyTo.lastIndexOf('/') + 1)}`);
        for (const destination of targets) {
          for (const role of ['storefront-2', 'audit', 'worker'] as const) {
            expect(await attempt(broker, role, 'SUBSCRIBE', { destination, id: 'steal', ack: 'auto' }), `${role} on ${destination}`).toEqual(refused());
          }
        }
        await sendConfirmed(worker, { destination: replyTo }, 'reply');
        expect((await nextMessage(victim)).body).toBe('reply');
      } finally {
        victim.close();
        worker.close();
      }
    });

    it('another storefront cannot SEND into it where the broker can confine it (on RabbitMQ it can: the documented limit)', async () => {
      const { victim, worker, replyTo } = await requestInFlight();
      try {
        const forged = await attempt(broker, 'storefront-2', 'SEND', { destination: replyTo }, 'forged');
        expect(await attempt(broker, 'audit', 'SEND', { destination: replyTo }, 'forged by audit')).toEqual(refused());
        await sendConfirmed(worker, { destination: replyTo }, 'genuine');
        if (descriptor.name === 'rabbitmq') {
          // Write on amq.default is write to every queue: the forged message arrives. The SDK opens
          // and verifies every reply and drops one that fails (test/client/reply-verification.test.ts).
          expect(forged).toEqual({ accepted: true });
          expect((await nextMessage(victim)).body).toBe('forged');
        } else {
          expect(forged).toEqual(refused());
        }
        // The forged SEND was answered before the genuine one was sent: had it been queued, it would come first.
        expect((await nextMessage(victim)).body).toBe('genuine');
      } finally {
        victim.close();
        worker.close();
      }
    });
  });

  describe("another connection's message", () => {
    it('a second worker connection cannot ACK or NACK it: the message comes back once its holder leaves', async () => {
      const queue = requestQueue();
      const operator = await session(broker, 'operator');
      await sendConfirmed(operator, { destination: queue, ...queueHeaders() }, 'held');
      operator.close();
      const holder = await session(broker, 'worker');
      subscribe(holder, { destination: queue, id: 'hold', ack: 'client-individual', ...queueHeaders() });
      const held = await nextMessage(holder);
      const ackId = held.headers.ack ?? held.headers['message-id'] ?? '';
      // What an eavesdropper read off the MESSAGE frame, replayed on connections of its own.
      const ack = await attempt(broker, 'worker', 'ACK', { id: ackId, 'message-id': held.headers['message-id'] ?? '', subscription: 'hold' });
      const nack = await attempt(broker, 'worker', 'NACK', { id: ackId, 'message-id': held.headers['message-id'] ?? '', subscription: 'hold', requeue: 'false' });
      expect(ack).toEqual(refused());
      expect(nack).toEqual(refused());
      holder.close();
      const next = await session(broker, 'worker');
      try {
        subscribe(next, { destination: queue, id: 'again', ack: 'auto', ...queueHeaders() });
        const again = await nextMessage(next);
        expect(again.body).toBe('held');
        expect(again.headers.redelivered).toBe('true');
      } finally {
        next.close();
      }
    });
  });

  describe('the audit feed', () => {
    it('audit may subscribe to /topic/paygate.> but not publish there, nor read other topics', async () => {
      const topic = `/topic/paygate.feed.${randomUUID()}`;
      expect(await attempt(broker, 'audit', 'SUBSCRIBE', { destination: topic, id: 'feed', ack: 'auto' })).toEqual({ accepted: true });
      expect(await attempt(broker, 'audit', 'SEND', { destination: topic }, 'forged event')).toEqual(refused());
      expect(await attempt(broker, 'audit', 'SUBSCRIBE', { destination: `/topic/stomptest.${randomUUID()}`, id: 'other', ack: 'auto' })).toEqual(refused());
      expect(await attempt(broker, 'storefront', 'SUBSCRIBE', { destination: topic, id: 'feed', ack: 'auto' })).toEqual(refused());
    });
  });
  describe('the events queue', () => {
    it('a worker may SEND to it but not consume it; the feed login consumes it', async () => {
      const queue = eventsQueue();
      const worker = await session(broker, 'worker');
      try {
        await sendConfirmed(worker, { destination: queue, ...queueHeaders() }, 'event');
      } finally {
        worker.close();
      }
      for (const role of ['worker', 'storefront', 'storefront-2', 'audit'] as const) {
        expect(await attempt(broker, role, 'SUBSCRIBE', { destination: queue, id: 'steal', ack: 'auto', ...queueHeaders() }), role).toEqual(refused());
      }
      const feed = await session(broker, 'feed');
      try {
        subscribe(feed, { destination: queue, id: 'events', ack: 'client-individual', ...queueHeaders() });
        const event = await nextMessage(feed);
        expect(event.body).toBe('event');
        feed.send('ACK', { id: event.headers.ack ?? event.headers['message-id'] ?? '', receipt: 'ack' });
        expect((await feed.receive(WAIT_MS)).command).toBe('RECEIPT');
      } finally {
        feed.close();
      }
    });

    it('a storefront or an audit login cannot SEND to it by name (on RabbitMQ a storefront can through the default exchange, the documented limit)', async () => {
      const queue = eventsQueue();
      for (const role of ['storefront', 'audit'] as const) {
        expect(await attempt(broker, role, 'SEND', { destination: queue, ...queueHeaders() }, 'forged event'), role).toEqual(refused());
      }
      const feed = await session(broker, 'feed');
      try {
        await subscribeConfirmed(feed, { destination: queue, id: 'events', ack: 'auto', ...queueHeaders() });
        const injected = await attempt(broker, 'storefront', 'SEND', { destination: `/amq/queue/${queue.slice('/queue/'.length)}` }, 'injected');
        if (descriptor.name === 'rabbitmq') {
          // The feed server opens every event and stores only those signed by a gateway-role certificate.
          expect(injected).toEqual({ accepted: true });
          expect((await nextMessage(feed)).body).toBe('injected');
        } else {
          expect(injected).toEqual(refused());
        }
        const worker = await session(broker, 'worker');
        try {
          await sendConfirmed(worker, { destination: queue, ...queueHeaders() }, 'genuine');
        } finally {
          worker.close();
        }
        expect((await nextMessage(feed)).body).toBe('genuine');
      } finally {
        feed.close();
      }
    });

    it('the feed login may SEND to the events DLQ, which only an operator reads', async () => {
      const dlq = `${eventsQueue()}.dlq`;
      const feed = await session(broker, 'feed');
      try {
        await sendConfirmed(feed, { destination: dlq, ...queueHeaders() }, 'refused event');
      } finally {
        feed.close();
      }
      for (const role of ['feed', 'worker', 'storefront', 'audit'] as const) {
        expect(await attempt(broker, role, 'SUBSCRIBE', { destination: dlq, id: 'steal', ack: 'auto', ...queueHeaders() }), role).toEqual(refused());
      }
      for (const role of ['worker', 'storefront'] as const) {
        expect(await attempt(broker, role, 'SEND', { destination: dlq, ...queueHeaders() }, 'forged'), role).toEqual(refused());
      }
      const operator = await session(broker, 'operator');
      try {
        subscribe(operator, { destination: dlq, id: 'inspect', ack: 'auto', ...queueHeaders() });
        expect((await nextMessage(operator)).body).toBe('refused event');
      } finally {
        operator.close();
      }
    });

    it('the feed login can do nothing else: request queues, their DLQs, topics (its own queue on RabbitMQ: the documented limit)', async () => {
      const queue = requestQueue();
      const denied: [string, StompHeaders][] = [
        ['SUBSCRIBE', { destination: queue, id: 'steal', ack: 'auto', ...queueHeaders() }],
        ['SEND', { destination: queue, ...queueHeaders() }],
        ['SUBSCRIBE', { destination: `${queue}.dlq`, id: 'steal', ack: 'auto', ...queueHeaders() }],
        ['SEND', { destination: `${queue}.dlq`, ...queueHeaders() }],
        ['SUBSCRIBE', { destination: `/topic/paygate.feed.${randomUUID()}`, id: 'topic', ack: 'auto' }],
        ['SEND', { destination: `/topic/paygate.feed.${randomUUID()}` }],
      ];
      for (const [command, headers] of denied) {
        expect(await attempt(broker, 'feed', command, headers, 'x'), `${command} ${headers.destination}`).toEqual(refused());
      }
      // SEND into the events queue itself: refused where the broker separates read from write;
      // RabbitMQ's SUBSCRIBE needs configure on the queue, and configure + write on the default
      // exchange is a SEND. A forged event still needs a gateway signature to be stored.
      const own = await attempt(broker, 'feed', 'SEND', { destination: eventsQueue(), ...queueHeaders() }, 'x');
      expect(own).toEqual(descriptor.name === 'rabbitmq' ? { accepted: true } : refused());
    });
  });

  // The auditor's copies of the traffic (docs/operations.md, "Capturing the traffic for an audit"):
  // RabbitMQ's firehose exchange and ActiveMQ's mirror topics. The embedded broker's tap writes a
  // file and has nothing on the broker to reach.
  if (descriptor.name !== 'embedded') {
    describe('the traffic copies', () => {
      const copies = (queue: string): string =>
        descriptor.name === 'rabbitmq' ? '/exchange/amq.rabbitmq.trace/publish.#' : `/topic/mirror.${queue.slice('/queue/'.length)}`;
      // What the capture subscribes to: ActiveMQ creates a mirror with its queue, nobody else may.
      const allCopies = descriptor.name === 'rabbitmq' ? '/exchange/amq.rabbitmq.trace/publish.#' : '/topic/mirror.>';

      it('only the audit login reads them, and nobody, the audit login included, can write forged copies', async () => {
        const queue = requestQueue();
        for (const role of ['storefront', 'worker', 'operator', 'feed'] as const) {
          expect(await attempt(broker, role, 'SUBSCRIBE', { destination: copies(queue), id: 'peek', ack: 'auto' }), role).toEqual(refused());
        }
        for (const role of ['storefront', 'worker', 'operator', 'audit'] as const) {
          expect(await attempt(broker, role, 'SEND', { destination: copies(queue).replace('#', 'x') }, 'forged copy'), role).toEqual(refused());
        }
        // Positive control: the audit login gets the copy of what a storefront sends.
        const audit = await session(broker, 'audit');
        try {
          await subscribeConfirmed(audit, { destination: allCopies, id: 'copies', ack: 'auto' });
          const body = `copy-${randomUUID()}`;
          const sender = await session(broker, 'storefront');
          try {
            await sendConfirmed(sender, { destination: queue, ...queueHeaders() }, body);
          } finally {
            sender.close();
          }
          // The copies of every queue on the broker (other test files' too): wait for ours.
          for (;;) if ((await nextMessage(audit)).body === body) break;
        } finally {
          audit.close();
        }
      });
    });
  }
});
