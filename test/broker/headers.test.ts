/**
 * Broker-owned headers: whatever a producer puts on a SEND, a MESSAGE carries only the broker's
 * own `message-id`, `subscription`, `ack`, `redelivered`, `destination`, `content-length`, and none
 * of the delivery headers other brokers use (a captured request resent with `redelivered:true` or
 * `redeliveryCounter:1` must look like what it is: a first delivery).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BROKER_HEADERS } from '../../src/broker/index.ts';
import { RawClient, startBroker, tempDir } from './helpers.ts';

/** Everything a producer could forge, in the letter cases a lenient consumer might read. */
const FORGED = {
  'message-id': 'ID:forged-1',
  subscription: 'forged-sub',
  ack: 'forged-ack',
  redelivered: 'true',
  Redelivered: 'true',
  redeliveryCounter: '1',
  timestamp: '1',
  JMSXUserID: 'admin',
  JMSXDeliveryCount: '9',
  'x-delivery-count': '3',
  'x-death': 'forged',
  'x-first-death-queue': 'forged',
  'x-last-death-reason': 'forged',
  'receipt-id': 'forged-receipt',
} as const;
/** Producer-owned headers that must reach the consumer unchanged. */
const KEPT = { priority: '7', persistent: 'true', 'correlation-id': 'c-1', 'content-type': 'application/pkcs7-mime', 'x-custom': 'kept' };

describe('broker-owned headers', () => {
  it('lists at least the headers a MESSAGE gets from the broker', () => {
    for (const name of ['destination', 'receipt', 'transaction', 'content-length', 'message-id', 'subscription', 'ack', 'redelivered', 'redeliveryCounter']) {
      expect(BROKER_HEADERS.has(name), name).toBe(true);
    }
  });

  it.each(['1.2', '1.1', '1.0'])('replaces every forged one with the broker’s values (STOMP %s)', async (version) => {
    const broker = await startBroker();
    const consumer = await RawClient.connect(broker, { 'accept-version': version });
    consumer.send('SUBSCRIBE', { id: 'real-sub', destination: '/queue/h', ack: 'client-individual', receipt: 'sub' });
    await consumer.waitReceipt('sub');
    const producer = await RawClient.connect(broker);
    await producer.sendAndConfirm({ destination: '/queue/h', ...FORGED, ...KEPT, 'content-length': '4' }, 'body');

    const first = await consumer.expect('MESSAGE');
    expect(first.headers['message-id']).toMatch(/^ID:paygate-/);
    expect(first.headers.subscription).toBe('real-sub');
    expect(first.headers.destination).toBe('/queue/h');
    expect(first.headers['content-length']).toBe('4');
    if (version === '1.2') expect(first.headers.ack).toBe(first.headers['message-id']);
    else expect(first.headers.ack).toBeUndefined();
    for (const name of Object.keys(FORGED).filter((n) => !['message-id', 'subscription', 'ack'].includes(n))) {
      expect(first.headers[name], name).toBeUndefined();
    }
    expect(first.headers).toMatchObject(KEPT);
    expect(first.body.toString()).toBe('body');

    // The broker's own redelivery marking still works.
    consumer.send(version === '1.2' ? 'NACK' : 'ACK', version === '1.2' ? { id: first.headers.ack as string } : { 'message-id': first.headers['message-id'] as string, subscription: 'real-sub' });
    if (version !== '1.2') return; // 1.0 has no NACK; 1.1's NACK is covered by the messaging tests
    const again = await consumer.expect('MESSAGE');
    expect([again.headers['message-id'], again.headers.redelivered]).toEqual([first.headers['message-id'], 'true']);
    expect(again.headers.redeliveryCounter).toBeUndefined();
  });

  it('strips them from topic copies, transactional SENDs and temp-queue replies too', async () => {
    const broker = await startBroker();
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 't', destination: '/topic/h', receipt: 'sub' });
    await consumer.waitReceipt('sub');
    const producer = await RawClient.connect(broker);
    await producer.sendAndConfirm({ destination: '/topic/h', ...FORGED }, 'topic');
    producer.send('BEGIN', { transaction: 'tx' });
    producer.send('SEND', { destination: '/temp-queue/mine', transaction: 'tx', ...FORGED }, 'own temp');
    producer.send('SUBSCRIBE', { id: 'mine', destination: '/temp-queue/mine' });
    producer.send('COMMIT', { transaction: 'tx', receipt: 'c' });
    await producer.waitReceipt('c');
    for (const frame of [await consumer.expect('MESSAGE'), await producer.expect('MESSAGE')]) {
      expect(frame.headers['message-id']).toMatch(/^ID:paygate-/);
      expect(frame.headers.redelivered).toBeUndefined();
      expect(frame.headers.redeliveryCounter).toBeUndefined();
      expect(frame.headers.transaction).toBeUndefined();
      expect(frame.headers['receipt-id']).toBeUndefined();
    }
  });

  it('does not let stored rows written before a header became broker-owned carry it out', async () => {
    const dataDir = tempDir();
    const first = await startBroker({ dataDir });
    const producer = await RawClient.connect(first);
    await producer.sendAndConfirm({ destination: '/queue/old', persistent: 'true', 'x-keep': 'yes' }, 'stored');
    await first.stop();
    // A row as an older broker would have written it, with delivery headers in its JSON.
    const db = new Database(join(dataDir, 'broker.sqlite'));
    db.prepare('UPDATE messages SET headers = ?').run(JSON.stringify({ 'x-keep': 'yes', persistent: 'true', redeliveryCounter: '4', timestamp: '1' }));
    db.close();
    const second = await startBroker({ dataDir });
    const consumer = await RawClient.connect(second);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/old' });
    const message = await consumer.expect('MESSAGE');
    expect(message.headers['x-keep']).toBe('yes');
    expect(message.headers.redeliveryCounter).toBeUndefined();
    expect(message.headers.timestamp).toBeUndefined();
  });
});
