// Quorum queues through RabbitMQ's STOMP plugin (src/stomp/queue-type.ts): which frames carry
// `x-queue-type`, the option and config key that set it, and what RabbitMQ 3.10 does with it.
// The RabbitMQ part runs on the single test broker (PAYGATE_TEST_BROKERS names rabbitmq; its vhost
// has no default queue type) and on the three-node cluster (PAYGATE_TEST_RABBITMQ_CLUSTER; its
// vhost's default type is quorum), with the headers given per frame, as the connection adds them.
import { afterEach, describe, expect, it } from 'vitest';
import { isStompError, parseOptions, queueTypeHeaders, QUEUE_TYPES, StompConnection } from '../../src/stomp/index.ts';
import type { BrokerKind, QueueType, StompError, StompMessage } from '../../src/stomp/index.ts';
import { brokerQueueTypeSchema, brokerSelection } from '../../src/worker/config-brokers.ts';
import { connectOptions, isCluster, parseTestBrokers, type BrokerDescriptor } from '../helpers/brokers.ts';
import { TEST_CLUSTER } from '../helpers/rabbitmq-cluster.ts';
import { Inbox, queueHeaders, unique } from '../integration/support.ts';

const KINDS: readonly BrokerKind[] = ['rabbitmq', 'activemq', 'embedded', 'unknown'];

describe('queueTypeHeaders', () => {
  it('declares the type on a SEND or SUBSCRIBE of a /queue/ destination on RabbitMQ', () => {
    for (const type of QUEUE_TYPES) {
      for (const command of ['SEND', 'SUBSCRIBE']) {
        expect(queueTypeHeaders(command, { destination: '/queue/paygate.card' }, 'rabbitmq', type)).toEqual({ 'x-queue-type': type });
      }
    }
  });

  it('adds nothing for other destinations and frames, other brokers, or no configured type', () => {
    for (const destination of ['/topic/paygate.card', '/temp-queue/r', '/reply-queue/amq.gen-x', '/amq/queue/paygate.card', '/exchange/x', 'queue/x']) {
      expect(queueTypeHeaders('SEND', { destination }, 'rabbitmq', 'quorum'), destination).toEqual({});
    }
    for (const command of ['ACK', 'NACK', 'UNSUBSCRIBE', 'BEGIN', 'COMMIT', 'DISCONNECT']) {
      expect(queueTypeHeaders(command, { destination: '/queue/paygate.card', id: 'x' }, 'rabbitmq', 'quorum'), command).toEqual({});
    }
    for (const kind of KINDS.filter((k) => k !== 'rabbitmq')) {
      expect(queueTypeHeaders('SEND', { destination: '/queue/paygate.card' }, kind, 'quorum'), kind).toEqual({});
    }
    expect(queueTypeHeaders('SEND', { destination: '/queue/paygate.card' }, 'rabbitmq', undefined)).toEqual({});
    expect(queueTypeHeaders('SEND', {}, 'rabbitmq', 'quorum')).toEqual({});
  });

  it('added after the frame own headers, the configured type replaces one given for a single frame', () => {
    const frame = { destination: '/queue/paygate.card', 'x-queue-type': 'classic', persistent: 'true' };
    expect({ ...frame, ...queueTypeHeaders('SEND', frame, 'rabbitmq', 'quorum') }).toEqual({ ...frame, 'x-queue-type': 'quorum' });
  });
});

describe('the queueType option', () => {
  const nodes = [{ host: '127.0.0.1' }];

  it('is absent by default (no header: the vhost default type) and takes classic or quorum', () => {
    expect(parseOptions({ nodes }).queueType).toBeUndefined();
    for (const queueType of QUEUE_TYPES) expect(parseOptions({ nodes, queueType }).queueType).toBe(queueType);
  });

  it('refuses any other type with STOMP_BAD_OPTIONS naming the option', () => {
    let caught: unknown;
    try {
      parseOptions({ nodes, queueType: 'stream' as QueueType });
    } catch (error) {
      caught = error;
    }
    expect(isStompError(caught, 'STOMP_BAD_OPTIONS')).toBe(true);
    expect((caught as StompError).message).toMatch(/queueType/);
  });

  it('is what the config files broker_queue_type sets (absent: not set at all)', () => {
    expect(brokerSelection({ broker_queue_type: 'quorum' })).toEqual({ queueType: 'quorum' });
    expect(brokerSelection({})).toEqual({});
    expect(brokerQueueTypeSchema.safeParse('quorum').success).toBe(true);
    expect(brokerQueueTypeSchema.safeParse('stream').success).toBe(false);
    expect(brokerQueueTypeSchema.safeParse(undefined).success).toBe(true);
  });
});

// --- RabbitMQ --------------------------------------------------------------------------

const open: StompConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const rabbits: { label: string; broker: BrokerDescriptor & { port: number } }[] = [
  ...parseTestBrokers(process.env.PAYGATE_TEST_BROKERS)
    .filter((b): b is BrokerDescriptor & { port: number } => b.name === 'rabbitmq' && b.port !== undefined)
    .map((broker) => ({ label: 'rabbitmq', broker })),
  ...(TEST_CLUSTER === undefined ? [] : [{ label: 'rabbitmq-cluster', broker: TEST_CLUSTER }]),
];

describe.skipIf(rabbits.length === 0).each(rabbits)('quorum queues on $label', ({ broker }) => {
  /** A connection to the broker's first node, that does not reconnect (an ERROR ends it). */
  const connect = async (): Promise<StompConnection> => {
    const [first] = connectOptions(broker).nodes;
    const connection = await StompConnection.connect({ nodes: [first as NonNullable<typeof first>], reconnect: { enabled: false }, connectTimeoutMs: 5_000 });
    open.push(connection);
    return connection;
  };
  /** The headers of a frame to a test queue declared as `type` (none: no x-queue-type), as the connection adds them. */
  const declaring = (c: StompConnection, command: string, queue: string, type: QueueType | undefined): Record<string, string> => ({
    ...queueHeaders(),
    ...queueTypeHeaders(command, { destination: queue }, c.brokerKind ?? 'unknown', type),
  });
  /** SENDs with a receipt; resolves with the error when the broker refused it. */
  const sendRefused = async (c: StompConnection, queue: string, type: QueueType | undefined): Promise<StompError | undefined> => {
    try {
      await c.send(queue, 'again', { receipt: true, headers: declaring(c, 'SEND', queue, type) });
      return undefined;
    } catch (error) {
      if (!isStompError(error)) throw error;
      return error;
    }
  };
  const INEQUIVALENT = /PRECONDITION_FAILED - inequivalent arg 'x-queue-type'/;

  it('SEND and SUBSCRIBE with the header declare a quorum queue: prefetch and client-individual acks work, a NACKed message comes back counted', async () => {
    const queue = unique('queue', 'quorum');
    const producer = await connect();
    await producer.send(queue, 'first', { receipt: true, headers: { ...declaring(producer, 'SEND', queue, 'quorum'), persistent: 'true' } });

    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, { prefetch: 5, headers: declaring(consumer, 'SUBSCRIBE', queue, 'quorum') }).ready;
    const first: StompMessage = await inbox.next();
    expect(first.text()).toBe('first');
    expect(first.headers['x-delivery-count']).toBeUndefined();
    await first.nack();
    // Only a quorum queue counts deliveries (a classic queue has no x-delivery-count).
    const again = await inbox.next();
    expect(again.text()).toBe('first');
    expect(again.redelivered).toBe(true);
    expect(again.headers['x-delivery-count']).toBe('1');
    await again.ack({ receipt: true });
  });

  it('a frame declaring the queue as classic is refused with PRECONDITION_FAILED naming x-queue-type, and ends that connection only', async () => {
    const queue = unique('queue', 'quorum-classic');
    const owner = await connect();
    await owner.send(queue, 'first', { receipt: true, headers: declaring(owner, 'SEND', queue, 'quorum') });

    const other = await connect();
    const refused = await sendRefused(other, queue, 'classic');
    expect(refused?.code).toBe('STOMP_OPERATION_FAILED');
    expect(refused?.frame?.body).toMatch(INEQUIVALENT);
    expect(refused?.frame?.body).toMatch(/received 'classic' but current is 'quorum'/);
    expect(other.closed).toBe(true);
    // The queue is unharmed, and its other users too.
    await expect(owner.send(queue, 'second', { receipt: true, headers: declaring(owner, 'SEND', queue, 'quorum') })).resolves.toBeUndefined();
  });

  if (isCluster(broker)) {
    it('without the header the vhost default declares quorum, so frames with and without it agree on one queue', async () => {
      const queue = unique('queue', 'quorum-default');
      const old = await connect();
      await old.send(queue, 'no header', { receipt: true, headers: declaring(old, 'SEND', queue, undefined) });
      const configured = await connect();
      await configured.send(queue, 'header', { receipt: true, headers: declaring(configured, 'SEND', queue, 'quorum') });
      const inbox = new Inbox();
      await configured.subscribe(queue, inbox.handler, { prefetch: 2, headers: declaring(configured, 'SUBSCRIBE', queue, 'quorum') }).ready;
      const first = await inbox.next();
      await first.nack();
      const rest = [await inbox.next(), await inbox.next()];
      for (const message of rest) await message.ack();
      expect(new Set([first, ...rest].map((m) => m.text()))).toEqual(new Set(['no header', 'header']));
      // Quorum, though the first frame declared no type: only a quorum queue counts deliveries.
      expect(rest.find((m) => m.text() === first.text())?.headers['x-delivery-count']).toBe('1');
    });
  } else {
    it('without a default queue type, a frame without the header is refused once the queue is quorum: every party must set the option', async () => {
      const queue = unique('queue', 'quorum-none');
      const owner = await connect();
      await owner.send(queue, 'first', { receipt: true, headers: declaring(owner, 'SEND', queue, 'quorum') });
      const other = await connect();
      const refused = await sendRefused(other, queue, undefined);
      expect(refused?.code).toBe('STOMP_OPERATION_FAILED');
      expect(refused?.frame?.body).toMatch(/received none but current is the value 'quorum'/);
    });
  }
});
