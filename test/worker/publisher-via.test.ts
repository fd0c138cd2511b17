/**
 * The publisher sends through the node that delivered the request (`via`), wherever its own
 * connection is: on two real embedded brokers, a send through the other node arrives there (on a
 * pinned connection, closed afterwards); a refused SEND that makes the publisher fail over to the
 * next node does not take the replies of the first node's requests with it; a node that is gone
 * fails the send, typed, and costs the publishing connection nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StompConnection, StompError, type StompMessage, type StompOptions } from '../../src/stomp/index.ts';
import { Publisher } from '../../src/worker/publisher.ts';
import { parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor, type EmbeddedBrokerHandle, type TestRole } from '../helpers/brokers.ts';
import { Inbox, roleNode } from '../integration/support.ts';

let a: EmbeddedBrokerHandle;
let b: EmbeddedBrokerHandle;
let downPort: number;
const descriptor = parseTestBrokers('embedded')[0] as BrokerDescriptor;
const nameOf = (broker: { port: number }): string => `127.0.0.1:${broker.port}`;
const node = (broker: { port: number }, role: TestRole): StompOptions['nodes'][number] => roleNode({ ...descriptor, port: broker.port }, role);

beforeAll(async () => {
  a = await startEmbeddedBroker();
  b = await startEmbeddedBroker();
  const gone = await startEmbeddedBroker();
  downPort = gone.port;
  await gone.stop();
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

/** A dead-letter queue name the worker login may write and the operator may read. */
const dlq = (): string => `/queue/paygate.pv${randomBytes(4).toString('hex')}.dlq`;

/** The operator reading `queue` on `broker` alone. */
async function reader(broker: EmbeddedBrokerHandle, queue: string): Promise<{ inbox: Inbox; connection: StompConnection }> {
  const connection = await StompConnection.connect({ nodes: [node(broker, 'operator')] });
  const inbox = new Inbox();
  await connection.subscribe(queue, inbox.handler, { ack: 'auto' }).ready;
  return { inbox, connection };
}

/** What reached `inbox` up to a marker sent after everything else, in order. */
async function upToMarker(at: { inbox: Inbox }, publisherOn: EmbeddedBrokerHandle, queue: string): Promise<string[]> {
  const marker = await StompConnection.connect({ nodes: [node(publisherOn, 'worker')] });
  await marker.send(queue, 'marker', { receipt: true });
  await marker.close();
  const seen: string[] = [];
  for (let message: StompMessage = await at.inbox.next(); ; message = await at.inbox.next()) {
    if (message.text() === 'marker') return seen;
    seen.push(message.text());
  }
}

describe('Publisher through the delivering node', () => {
  it('sends through `via` when its own connection is on another node, and closes the pinned connection after', async () => {
    const queue = dlq();
    const [onA, onB] = await Promise.all([reader(a, queue), reader(b, queue)]);
    const publisher = await Publisher.connect({ nodes: [node(a, 'worker'), node(b, 'worker')], failback: { probeMs: 0 } });
    try {
      expect(publisher.connection.node).toBe(nameOf(a));
      await Promise.all([publisher.send(queue, 'via-b-1', {}, nameOf(b)), publisher.send(queue, 'via-b-2', {}, nameOf(b))]);
      await publisher.send(queue, 'via-a', {}, nameOf(a));
      await publisher.send(queue, 'no-via', {});
      await publisher.send(queue, 'via-unlisted', {}, '127.0.0.1:1'); // not a listed node: the publisher's own
      expect(publisher.pinned).toBe(0);
      expect((await upToMarker(onB, b, queue)).sort()).toEqual(['via-b-1', 'via-b-2']);
      expect(await upToMarker(onA, a, queue)).toEqual(['via-a', 'no-via', 'via-unlisted']);
    } finally {
      await publisher.close();
      await Promise.all([onA.connection.close(), onB.connection.close()]);
    }
  });

  it('a refusal moves the publisher to the next node; replies for the first node still reach it', async () => {
    const queue = dlq();
    const onA = await reader(a, queue);
    const publisher = await Publisher.connect({ nodes: [node(a, 'worker'), node(b, 'worker')], failback: { probeMs: 0 }, reconnect: { initialDelayMs: 10 } });
    const losses: string[] = [];
    publisher.connection.on('node-disconnect', ({ node: lost }) => losses.push(lost));
    try {
      // The worker login may not write a request queue: the broker refuses it, ERROR, connection closed.
      const guilty = publisher.send('/queue/paygate.pvtest', 'forbidden', {}, nameOf(a));
      const innocent = Array.from({ length: 5 }, (_, i) => publisher.send(queue, `reply-${i}`, {}, nameOf(a)));
      const refusal = await guilty.then(() => undefined, (error: unknown) => error);
      expect((refusal as StompError).code).toBe('STOMP_OPERATION_FAILED');
      await Promise.all(innocent);
      // The first refusal cost the publishing connection on A: it failed over to B, where it stays.
      expect(losses).toEqual([nameOf(a)]);
      expect(publisher.connection.node).toBe(nameOf(b));
      expect(new Set(await upToMarker(onA, a, queue))).toEqual(new Set(Array.from({ length: 5 }, (_, i) => `reply-${i}`)));
      expect(publisher.pinned).toBe(0);
    } finally {
      await publisher.close();
      await onA.connection.close();
    }
  });

  it('a delivering node that is gone fails the send with STOMP_CANNOT_CONNECT; the publishing connection is untouched', async () => {
    const publisher = await Publisher.connect({ nodes: [node(a, 'worker'), node({ port: downPort }, 'worker')], failback: { probeMs: 0 }, connectTimeoutMs: 2_000 });
    const losses: string[] = [];
    publisher.connection.on('node-disconnect', ({ node: lost }) => losses.push(lost));
    try {
      const failed = await publisher.send(dlq(), 'x', {}, `127.0.0.1:${downPort}`).then(() => undefined, (error: unknown) => error);
      expect(failed).toBeInstanceOf(StompError);
      expect((failed as StompError).code).toBe('STOMP_CANNOT_CONNECT');
      expect(losses).toEqual([]);
      expect(publisher.connected).toBe(true);
      expect(publisher.pinned).toBe(0);
    } finally {
      await publisher.close();
    }
  });
});
