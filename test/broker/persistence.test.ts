/**
 * With a data folder, persistent messages that were not acknowledged survive a
 * restart; acknowledged and non-persistent ones do not.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedBroker } from '../../src/broker/index.ts';
import { bodies, RawClient, startBroker, tempDir } from './helpers.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('persistence across a restart', () => {
  it('delivers persistent unacknowledged messages after a restart, and nothing acknowledged', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2030, 0, 1) });
    const dataDir = tempDir();
    const first = await startBroker({ dataDir });
    const producer = await RawClient.connect(first);
    for (const name of ['acked', 'held', 'waiting', 'expiring']) {
      const expires: Record<string, string> = name === 'expiring' ? { expires: String(Date.now() + 300) } : {};
      await producer.sendAndConfirm({ destination: '/queue/durable', persistent: 'true', 'x-name': name, ...expires }, `${name} body`);
    }
    await producer.sendAndConfirm({ destination: '/queue/durable', 'x-name': 'transient' }, 'not persistent');
    const consumer = await RawClient.connect(first);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/durable', ack: 'client-individual', 'prefetch-count': '1' });
    const acked = await consumer.expect('MESSAGE');
    consumer.send('ACK', { id: acked.headers.ack ?? '', receipt: 'a' });
    await consumer.waitReceipt('a');
    expect((await consumer.expect('MESSAGE')).headers['x-name']).toBe('held'); // delivered, never acknowledged
    await first.stop();

    vi.setSystemTime(Date.now() + 350); // "expiring" expires while the broker is down
    const second = await startBroker({ dataDir, port: 0 });
    const after = await RawClient.connect(second);
    after.send('SUBSCRIBE', { id: 's', destination: '/queue/durable', ack: 'client-individual' });
    const held = await after.expect('MESSAGE');
    const waiting = await after.expect('MESSAGE');
    expect([held.headers['x-name'], held.body.toString(), held.headers.redelivered]).toEqual(['held', 'held body', 'true']);
    expect([waiting.headers['x-name'], waiting.headers.redelivered, waiting.headers.persistent]).toEqual(['waiting', undefined, 'true']);
    expect(await after.quiet()).toBe(true);
    after.send('ACK', { id: held.headers.ack ?? '' });
    after.send('ACK', { id: waiting.headers.ack ?? '', receipt: 'done' });
    await after.waitReceipt('done');
    await second.stop();

    const third = await startBroker({ dataDir });
    const last = await RawClient.connect(third);
    last.send('SUBSCRIBE', { id: 's', destination: '/queue/durable' });
    expect(await last.quiet()).toBe(true);
  });

  it('keeps dead letters and redelivery counts across restarts; temp queues and topics are never stored', async () => {
    const dataDir = tempDir();
    const first = await startBroker({ dataDir, maxDeliveries: 2 });
    const client = await RawClient.connect(first);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/p', ack: 'client-individual' });
    client.send('SUBSCRIBE', { id: 't', destination: '/temp-queue/mine' });
    await client.sendAndConfirm({ destination: '/queue/p', persistent: 'true' }, 'poison');
    await client.sendAndConfirm({ destination: '/temp-queue/mine', persistent: 'true' }, 'temp');
    await client.sendAndConfirm({ destination: '/topic/news', persistent: 'true' }, 'topic');
    client.send('NACK', { id: (await client.expect('MESSAGE')).headers.ack ?? '' }); // delivery 1 failed
    expect((await client.expect('MESSAGE')).body.toString()).toBe('temp');
    expect((await client.expect('MESSAGE')).headers.redelivered).toBe('true'); // delivery 2, held over the stop
    await first.stop();

    const second = await startBroker({ dataDir, maxDeliveries: 2 });
    const again = await RawClient.connect(second);
    again.send('SUBSCRIBE', { id: 's', destination: '/queue/p', ack: 'client-individual' });
    const redelivered = await again.expect('MESSAGE');
    expect(redelivered.headers.redelivered).toBe('true');
    again.send('NACK', { id: redelivered.headers.ack ?? '', receipt: 'n' }); // delivery 3 failed (> 2): dead letter
    await again.waitReceipt('n');
    expect(await again.quiet()).toBe(true);
    await second.stop();

    const third = await startBroker({ dataDir });
    const reader = await RawClient.connect(third);
    reader.send('SUBSCRIBE', { id: 'd', destination: '/queue/p.dlq' });
    expect(await bodies(reader, 1)).toEqual(['poison']);
    reader.send('SUBSCRIBE', { id: 's', destination: '/queue/p' });
    reader.send('SUBSCRIBE', { id: 't', destination: '/temp-queue/mine' });
    reader.send('SUBSCRIBE', { id: 'n', destination: '/topic/news' });
    expect(await reader.quiet()).toBe(true);
  });

  it('has every persistent message committed to the store by the time its RECEIPT arrives', async () => {
    const dataDir = tempDir();
    const broker = await startBroker({ dataDir });
    const client = await RawClient.connect(broker);
    for (let n = 0; n < 200; n++) client.send('SEND', { destination: '/queue/durable-burst', persistent: 'true', receipt: `r${n}` }, `${n}`);
    client.send('SEND', { destination: '/queue/durable-burst', receipt: 'transient' }, 'not stored');
    await client.waitReceipt('transient'); // receipts keep their order, so every persistent one came first
    const db = new Database(join(dataDir, 'broker.sqlite'), { readonly: true });
    try {
      const row = db.prepare('SELECT count(*) AS n FROM messages WHERE queue = ?').get('/queue/durable-burst') as { n: number };
      expect(row.n).toBe(200);
    } finally {
      db.close();
    }
  });

  it('reads a store written before failures were counted apart: its delivered messages come back redelivered', async () => {
    const dataDir = tempDir();
    const old = new Database(join(dataDir, 'broker.sqlite'));
    old.exec(`CREATE TABLE messages (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL, queue TEXT NOT NULL, destination TEXT NOT NULL,
      headers TEXT NOT NULL, body BLOB NOT NULL, expires INTEGER NOT NULL, deliveries INTEGER NOT NULL)`);
    const insert = old.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run(1, 'ID:old-1', '/queue/old', '/queue/old', '{"x-name":"held"}', Buffer.from('held'), 0, 1);
    insert.run(2, 'ID:old-2', '/queue/old', '/queue/old', '{"x-name":"waiting"}', Buffer.from('waiting'), 0, 0);
    old.close();
    const broker = await startBroker({ dataDir });
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/old', ack: 'client-individual' });
    const [held, waiting] = [await client.expect('MESSAGE'), await client.expect('MESSAGE')];
    expect([held.body.toString(), held.headers.redelivered, waiting.body.toString(), waiting.headers.redelivered]).toEqual(['held', 'true', 'waiting', undefined]);
    client.send('NACK', { id: held.headers.ack ?? '', receipt: 'n' });
    await client.waitReceipt('n');
    const db = new Database(join(dataDir, 'broker.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT seq, deliveries, failures FROM messages ORDER BY seq').all()).toEqual([
        { seq: 1, deliveries: 3, failures: 1 }, // once before, once here (NACKed), and at once again
        { seq: 2, deliveries: 1, failures: 0 },
      ]);
    } finally {
      db.close();
    }
  });

  it('refuses a data folder it cannot use with a typed error', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    await expect(EmbeddedBroker.start({ port: 0, dataDir: join(file, 'data') })).rejects.toMatchObject({ code: 'BROKER_STORE_FAILED' });
    const corrupt = tempDir();
    writeFileSync(join(corrupt, 'broker.sqlite'), 'this is not an SQLite database, not even close to one'.repeat(100));
    await expect(EmbeddedBroker.start({ port: 0, dataDir: corrupt })).rejects.toMatchObject({ code: 'BROKER_STORE_FAILED' });
  });
});
