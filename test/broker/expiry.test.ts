/**
 * Expired messages are dropped, and every drop is counted and told (the `expired` event, `stats`):
 * at SEND, at delivery, in the periodic sweep, when loaded from the store, on topics. Dead letters
 * never expire. Time is moved with fake `Date` (and fake intervals for the sweep); sockets are real.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EmbeddedBroker, ExpiredMessage } from '../../src/broker/index.ts';
import { RawClient, startBroker, tempDir } from './helpers.ts';

const T0 = Date.UTC(2030, 0, 1);

afterEach(() => {
  vi.useRealTimers();
});

/** Every `expired` event of `broker`, and a way to wait for the next one. */
function expiries(broker: EmbeddedBroker): { seen: ExpiredMessage[]; next(): Promise<ExpiredMessage> } {
  const seen: ExpiredMessage[] = [];
  broker.on('expired', (info) => seen.push(info));
  return { seen, next: () => new Promise((resolve) => broker.once('expired', resolve)) };
}

function storedRows(dataDir: string): Array<{ destination: string; expires: number }> {
  const db = new Database(join(dataDir, 'broker.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT destination, expires FROM messages ORDER BY seq').all() as Array<{ destination: string; expires: number }>;
  } finally {
    db.close();
  }
}

describe('expired messages', () => {
  it('are accepted and dropped at SEND when already expired, with a receipt, and counted', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const broker = await startBroker();
    const { seen } = expiries(broker);
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/e' });
    await client.sendAndConfirm({ destination: '/queue/e', expires: String(T0 - 250) }, 'stale');
    await client.sendAndConfirm({ destination: '/queue/e' }, 'fresh');
    expect((await client.expect('MESSAGE')).body.toString()).toBe('fresh');
    expect(seen).toEqual([{ destination: '/queue/e', messageId: expect.stringMatching(/^ID:paygate-/), ageMs: 250 }]);
    expect(broker.stats.expiredDropped).toBe(1);
  });

  it('are dropped at delivery when their time passed while they waited', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const broker = await startBroker();
    const { seen } = expiries(broker);
    const producer = await RawClient.connect(broker);
    await producer.sendAndConfirm({ destination: '/queue/e', expires: String(T0 + 1000) }, 'old');
    await producer.sendAndConfirm({ destination: '/queue/e', expires: String(T0 + 10_000) }, 'still good');
    vi.setSystemTime(T0 + 5000);
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/e' });
    expect((await consumer.expect('MESSAGE')).body.toString()).toBe('still good');
    expect(seen).toEqual([{ destination: '/queue/e', messageId: expect.stringMatching(/^ID:paygate-/), ageMs: 4000 }]);
    expect(broker.stats.expiredDropped).toBe(1);
  });

  it('are dropped by the periodic sweep from queues nobody reads', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'], now: T0 });
    const broker = await startBroker();
    const { seen } = expiries(broker);
    const producer = await RawClient.connect(broker);
    await producer.sendAndConfirm({ destination: '/queue/idle', expires: String(T0 + 1000) }, 'forgotten');
    await producer.sendAndConfirm({ destination: '/queue/idle' }, 'kept');
    expect(seen).toHaveLength(0);
    vi.advanceTimersByTime(30_000);
    expect(seen).toEqual([{ destination: '/queue/idle', messageId: expect.stringMatching(/^ID:paygate-/), ageMs: 29_000 }]);
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/idle' });
    expect((await consumer.expect('MESSAGE')).body.toString()).toBe('kept');
    expect(broker.stats.expiredDropped).toBe(1);
  });

  it('are dropped (and deleted from the store) when loaded at start, told just after start resolves', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const dataDir = tempDir();
    const first = await startBroker({ dataDir });
    const producer = await RawClient.connect(first);
    await producer.sendAndConfirm({ destination: '/queue/p', persistent: 'true', expires: String(T0 + 1000) }, 'expires while down');
    await producer.sendAndConfirm({ destination: '/queue/p', persistent: 'true' }, 'kept');
    await first.stop();

    vi.setSystemTime(T0 + 5000);
    const second = await startBroker({ dataDir });
    const { seen, next } = expiries(second);
    expect(await next()).toEqual({ destination: '/queue/p', messageId: expect.stringMatching(/^ID:paygate-/), ageMs: 4000 });
    expect(seen).toHaveLength(1);
    expect(second.stats.expiredDropped).toBe(1);
    await second.stop();
    expect(storedRows(dataDir)).toEqual([{ destination: '/queue/p', expires: 0 }]);
  });

  it('are dropped on topics too', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const broker = await startBroker();
    const { seen } = expiries(broker);
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 't', destination: '/topic/events' });
    await client.sendAndConfirm({ destination: '/topic/events', expires: String(T0 - 1) }, 'late');
    await client.sendAndConfirm({ destination: '/topic/events' }, 'on time');
    expect((await client.expect('MESSAGE')).body.toString()).toBe('on time');
    expect(seen).toEqual([{ destination: '/topic/events', messageId: expect.stringMatching(/^ID:paygate-/), ageMs: 1 }]);
  });
});

describe('dead letters', () => {
  it('never expire, in memory and in the store; they keep the producer’s expires header as evidence', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const dataDir = tempDir();
    const first = await startBroker({ dataDir, maxDeliveries: 1 });
    const { seen } = expiries(first);
    const worker = await RawClient.connect(first);
    worker.send('SUBSCRIBE', { id: 's', destination: '/queue/paygate.card', ack: 'client-individual' });
    await worker.sendAndConfirm({ destination: '/queue/paygate.card', persistent: 'true', expires: String(T0 + 1000) }, 'request');
    const delivered = await worker.expect('MESSAGE');
    worker.send('NACK', { id: delivered.headers.ack as string, receipt: 'n' });
    await worker.waitReceipt('n');
    expect(first.stats.deadLettered).toBe(1);

    vi.setSystemTime(T0 + 60_000);
    const operator = await RawClient.connect(first);
    operator.send('SUBSCRIBE', { id: 'd', destination: '/queue/paygate.card.dlq', ack: 'client-individual' });
    const dead = await operator.expect('MESSAGE');
    expect([dead.body.toString(), dead.headers.destination, dead.headers.expires]).toEqual(['request', '/queue/paygate.card.dlq', String(T0 + 1000)]);
    await first.stop(); // not acknowledged: it stays stored
    expect(storedRows(dataDir)).toEqual([{ destination: '/queue/paygate.card.dlq', expires: 0 }]);

    vi.setSystemTime(T0 + 3_600_000);
    const second = await startBroker({ dataDir });
    const again = await RawClient.connect(second);
    again.send('SUBSCRIBE', { id: 'd', destination: '/queue/paygate.card.dlq' });
    expect((await again.expect('MESSAGE')).body.toString()).toBe('request');
    expect(seen).toHaveLength(0);
    expect(second.stats.expiredDropped).toBe(0);
  });
});
