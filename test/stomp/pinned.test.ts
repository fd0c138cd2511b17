// Frames that must go through a given node: a message knows the node that delivered it, and
// PinnedConnections sends through any listed node on a connection of its own, opened for the
// uses running and closed after the last one. Two real embedded brokers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PinnedConnections, StompConnection, StompError, type StompOptions } from '../../src/stomp/index.ts';
import { parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor, type EmbeddedBrokerHandle } from '../helpers/brokers.ts';
import { Inbox, nodeOf, queueHeaders, unique } from '../integration/support.ts';

let a: EmbeddedBrokerHandle;
let b: EmbeddedBrokerHandle;
let downPort: number;
let options: StompOptions;
const descriptor = parseTestBrokers('embedded')[0] as BrokerDescriptor;
const nameOf = (port: number): string => `127.0.0.1:${port}`;

beforeAll(async () => {
  a = await startEmbeddedBroker();
  b = await startEmbeddedBroker();
  const gone = await startEmbeddedBroker(); // a listed node that is down: its port, closed again
  downPort = gone.port;
  await gone.stop();
  const node = (port: number) => nodeOf({ ...descriptor, port }, { host: '127.0.0.1', port });
  options = { nodes: [node(a.port), node(b.port), node(downPort)], connectTimeoutMs: 2_000, connectHeaders: { 'client-id': 'pin-test' } };
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

/** A connection to `broker` alone, reading `queue` into an inbox. */
async function reader(broker: EmbeddedBrokerHandle, queue: string): Promise<{ inbox: Inbox; connection: StompConnection }> {
  const connection = await StompConnection.connect({ nodes: [nodeOf({ ...descriptor, port: broker.port }, broker)] });
  const inbox = new Inbox();
  await connection.subscribe(queue, inbox.handler, { headers: queueHeaders() }).ready;
  return { inbox, connection };
}

const codeOf = (error: unknown): string => (error instanceof StompError ? error.code : String(error));

describe('StompMessage.node', () => {
  it('is the node whose session delivered the message', async () => {
    const queue = unique('queue', 'pinned-node');
    const { inbox, connection } = await reader(b, queue);
    try {
      await connection.send(queue, 'hello', { receipt: true, headers: queueHeaders() });
      const message = await inbox.next();
      expect(message.node).toBe(nameOf(b.port));
      expect(message.node).toBe(connection.node);
    } finally {
      await connection.close();
    }
  });
});

describe('PinnedConnections', () => {
  it('sends through the node asked for, on one connection shared by the uses running, closed after the last', async () => {
    const queue = unique('queue', 'pinned-send');
    const onA = await reader(a, queue);
    const onB = await reader(b, queue);
    const pinned = new PinnedConnections(options);
    try {
      expect(pinned.has(nameOf(b.port))).toBe(true);
      const used = new Set<StompConnection>();
      const sends = ['one', 'two', 'three'].map((body) =>
        pinned.use(nameOf(b.port), async (connection) => {
          used.add(connection);
          expect(connection.node).toBe(nameOf(b.port));
          await connection.send(queue, body, { receipt: true, headers: queueHeaders() });
        }),
      );
      expect(pinned.size).toBe(1);
      await Promise.all(sends);
      expect(used.size).toBe(1);
      expect(pinned.size).toBe(0);
      expect([(await onB.inbox.next()).text(), (await onB.inbox.next()).text(), (await onB.inbox.next()).text()].sort()).toEqual(['one', 'three', 'two']);

      // Nothing reached the other node: a marker sent there is the first thing its reader sees.
      await onA.connection.send(queue, 'marker', { receipt: true, headers: queueHeaders() });
      expect((await onA.inbox.next()).text()).toBe('marker');
    } finally {
      await pinned.close();
      await Promise.all([onA.connection.close(), onB.connection.close()]);
    }
  });

  it('a refused frame ends only that pinned connection; the next use opens a new one', async () => {
    const queue = unique('queue', 'pinned-refused');
    const onB = await reader(b, queue);
    const pinned = new PinnedConnections(options);
    try {
      const refused = await pinned
        .use(nameOf(b.port), (connection) => connection.send('/queue/not-for-stomp-test', 'x', { receipt: true }))
        .then(() => 'sent', codeOf);
      expect(refused).toBe('STOMP_OPERATION_FAILED');
      expect(pinned.size).toBe(0);
      await pinned.use(nameOf(b.port), (connection) => connection.send(queue, 'after', { receipt: true, headers: queueHeaders() }));
      expect((await onB.inbox.next()).text()).toBe('after');
    } finally {
      await pinned.close();
      await onB.connection.close();
    }
  });

  it('fails typed for a node that is down, one not listed, and after close()', async () => {
    const pinned = new PinnedConnections(options);
    const send = (node: string) => pinned.use(node, (connection) => connection.send('/queue/stomptest.never', 'x')).then(() => 'sent', codeOf);
    expect(await send(nameOf(downPort))).toBe('STOMP_CANNOT_CONNECT');
    expect(pinned.size).toBe(0);
    expect(pinned.has('127.0.0.1:1')).toBe(false);
    expect(await send('127.0.0.1:1')).toBe('STOMP_BAD_OPTIONS');
    await pinned.close();
    expect(await send(nameOf(a.port))).toBe('STOMP_CLOSED_BY_US');
  });
});
