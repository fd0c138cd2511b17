/**
 * Queues under faults: consumers killed while holding messages, a store that cannot commit,
 * and the order in which returned and fresh messages go out again.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../src/broker/message.ts';
import { SeqHeap } from '../../src/broker/seq-heap.ts';
import { bodies, RawClient, startBroker, tempDir } from './helpers.ts';

function message(seq: number): BrokerMessage {
  const body = Buffer.alloc(0);
  return { id: `m${seq}`, seq, destination: '/queue/x', headers: {}, body, persistent: false, expires: 0, deliveries: 0, failures: 0, stored: false };
}

describe('SeqHeap', () => {
  it('gives messages back oldest first whatever order they came in, and drops what it is told to', () => {
    const heap = new SeqHeap();
    // 7919 is prime, so i * 7919 mod 1000 visits every seq below 1000 once, in a scrambled order.
    for (let i = 0; i < 1000; i++) heap.push(message((i * 7919) % 1000));
    heap.removeWhere((m) => m.seq % 3 === 0);
    const out: number[] = [];
    for (let m = heap.pop(); m !== undefined; m = heap.pop()) out.push(m.seq);
    expect(out).toEqual(Array.from({ length: 1000 }, (_, seq) => seq).filter((seq) => seq % 3 !== 0));
    expect(heap.size).toBe(0);
  });
});

describe('consumers that go away', () => {
  it('does not dead-letter a message whose five consumers in a row were killed before ACKing', async () => {
    const broker = await startBroker({ maxDeliveries: 5 });
    const producer = await RawClient.connect(broker);
    await producer.sendAndConfirm({ destination: '/queue/killed', 'x-n': '1' }, 'request');
    for (let i = 0; i < 5; i++) {
      const worker = await RawClient.connect(broker);
      worker.send('SUBSCRIBE', { id: 's', destination: '/queue/killed', ack: 'client-individual' });
      const delivery = await worker.expect('MESSAGE');
      expect(delivery.headers.redelivered).toBe(i === 0 ? undefined : 'true');
      const gone = once(broker, 'disconnect');
      worker.destroy(); // what a SIGKILLed worker's socket does: no DISCONNECT, no NACK
      await gone;
    }
    const survivor = await RawClient.connect(broker);
    survivor.send('SUBSCRIBE', { id: 's', destination: '/queue/killed', ack: 'client-individual' });
    const last = await survivor.expect('MESSAGE');
    expect([last.body.toString(), last.headers.redelivered, last.headers.destination]).toEqual(['request', 'true', '/queue/killed']);
    survivor.send('ACK', { id: last.headers.ack ?? '', receipt: 'done' });
    await survivor.waitReceipt('done');
    expect(broker.stats.deadLettered).toBe(0);
  });

  it('dead-letters a message that came back maxReturns times, so one that kills every consumer stops', async () => {
    const broker = await startBroker({ maxReturns: 3 });
    const producer = await RawClient.connect(broker);
    await producer.sendAndConfirm({ destination: '/queue/deadly' }, 'kills');
    for (let i = 0; i < 3; i++) {
      const worker = await RawClient.connect(broker);
      worker.send('SUBSCRIBE', { id: 's', destination: '/queue/deadly', ack: 'client' });
      await worker.expect('MESSAGE');
      const gone = once(broker, 'disconnect');
      worker.destroy();
      await gone;
    }
    expect(broker.stats.deadLettered).toBe(1);
    const operator = await RawClient.connect(broker);
    operator.send('SUBSCRIBE', { id: 'd', destination: '/queue/deadly.dlq' });
    const dead = await operator.expect('MESSAGE');
    expect([dead.body.toString(), dead.headers.redelivered]).toEqual(['kills', undefined]);
  });

  it('lets returned and never-delivered messages take turns, each kind in arrival order', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 'a', destination: '/queue/turns', ack: 'client-individual', 'prefetch-count': '3' });
    for (const n of [1, 2, 3]) await client.sendAndConfirm({ destination: '/queue/turns' }, `r${n}`);
    expect(await bodies(client, 3)).toEqual(['r1', 'r2', 'r3']);
    for (const n of [1, 2, 3, 4]) await client.sendAndConfirm({ destination: '/queue/turns' }, `f${n}`); // prefetch full: they wait
    client.send('UNSUBSCRIBE', { id: 'a', receipt: 'gone' }); // r1..r3 come back
    await client.waitReceipt('gone');
    client.send('SUBSCRIBE', { id: 'b', destination: '/queue/turns' });
    expect(await bodies(client, 7)).toEqual(['r1', 'f1', 'r2', 'f2', 'r3', 'f3', 'f4']);
  });
});

describe('a store that cannot commit', () => {
  it('answers ERROR and never delivers the message; the next one, committed, is the first a consumer sees', async () => {
    const dataDir = tempDir();
    const broker = await startBroker({ dataDir });
    const storeErrors: string[] = [];
    broker.on('storeError', (error) => storeErrors.push(error.code));
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/disk', ack: 'client-individual', receipt: 'sub' });
    await consumer.waitReceipt('sub');

    // Another process holding the write lock: the broker's commit fails as on a full disk.
    const locker = new Database(join(dataDir, 'broker.sqlite'));
    try {
      locker.exec('BEGIN IMMEDIATE');
      const producer = await RawClient.connect(broker);
      producer.send('SEND', { destination: '/queue/disk', persistent: 'true', receipt: 'lost' }, 'not stored');
      const error = await producer.expect('ERROR');
      expect([error.headers.code, error.headers['receipt-id']]).toEqual(['BROKER_STORE_FAILED', 'lost']);
      locker.exec('ROLLBACK');
    } finally {
      locker.close();
    }
    expect(storeErrors).toEqual(['BROKER_STORE_FAILED']);

    const again = await RawClient.connect(broker);
    await again.sendAndConfirm({ destination: '/queue/disk', persistent: 'true' }, 'stored');
    const first = await consumer.expect('MESSAGE');
    expect([first.body.toString(), first.headers.redelivered]).toEqual(['stored', undefined]);
    const db = new Database(join(dataDir, 'broker.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT body FROM messages').all()).toEqual([{ body: Buffer.from('stored') }]);
    } finally {
      db.close();
    }
  });

  it('keeps arrival order when a non-persistent message follows a persistent one still being committed', async () => {
    const broker = await startBroker({ dataDir: tempDir() });
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/mixed' });
    client.send('SEND', { destination: '/queue/mixed', persistent: 'true' }, 'p1');
    client.send('SEND', { destination: '/queue/mixed' }, 'n1');
    client.send('SEND', { destination: '/queue/mixed', persistent: 'true' }, 'p2');
    expect(await bodies(client, 3)).toEqual(['p1', 'n1', 'p2']);
  });
});

describe('a stall of the broker’s own event loop', () => {
  it('keeps a peer whose heart-beat arrived during the stall: reads go before the silence check', async () => {
    const broker = await startBroker({ heartBeat: [0, 50] }); // the peer must send every 50 ms; silence > 100 ms ends it
    const peer = await RawClient.connect(broker, { 'heart-beat': '50,0' });
    expect(peer.connected['heart-beat']).toBe('0,50');
    const beats = setInterval(() => peer.write('\n'), 20);
    try {
      peer.write('\n'); // reaches the broker's socket while its loop is blocked below
      const until = performance.now() + 300;
      while (performance.now() < until); // the stall: 3 × the deadline, in this process, so the broker's too
      await peer.sendAndConfirm({ destination: '/queue/stall' }, 'still here');
      expect(peer.isClosed).toBe(false);
    } finally {
      clearInterval(beats);
    }
  });
});
