/**
 * Bad input gets ERROR and a close of that connection only; the broker keeps
 * serving everyone else. Then a seeded fuzz run of more than 10,000 random and mutated frames.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { EmbeddedBroker } from '../../src/broker/index.ts';
import { encodeFrame } from '../../src/stomp/frame.ts';
import { bodies, RawClient, startBroker } from './helpers.ts';

/** A client that holds an unacknowledged message while others misbehave, and must not notice. */
async function bystander(broker: EmbeddedBroker): Promise<{ check(): Promise<void> }> {
  const client = await RawClient.connect(broker);
  client.send('SUBSCRIBE', { id: 'held', destination: '/queue/bystander', ack: 'client-individual' });
  await client.sendAndConfirm({ destination: '/queue/bystander' }, 'held message');
  const held = await client.expect('MESSAGE');
  return {
    async check() {
      expect(client.isClosed).toBe(false);
      client.send('SUBSCRIBE', { id: 'echo', destination: '/queue/echo' });
      await client.sendAndConfirm({ destination: '/queue/echo' }, 'still served');
      expect(await bodies(client, 1)).toEqual(['still served']);
      client.send('ACK', { id: held.headers.ack ?? '', receipt: 'ack' });
      await client.waitReceipt('ack');
      client.send('UNSUBSCRIBE', { id: 'echo' });
    },
  };
}

/** Connect, send `bytes`, and return the ERROR frame; the connection must then close. */
async function refused(broker: EmbeddedBroker, bytes: string | Buffer, connectFirst = true): Promise<string> {
  const client = connectFirst ? await RawClient.connect(broker) : await RawClient.open(broker);
  client.write(bytes);
  const error = await client.expect('ERROR');
  await client.closed;
  return error.headers.message ?? '';
}

describe('bad input: ERROR and close of that connection only', () => {
  it('garbage bytes', async () => {
    const broker = await startBroker();
    const other = await bystander(broker);
    expect(await refused(broker, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x0a, 0x00, 0xff]), false)).toMatch(/unknown command/);
    expect(await refused(broker, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/unknown command/);
    await other.check();
  });

  it('an unterminated frame, then the client closes its side', async () => {
    const broker = await startBroker();
    const other = await bystander(broker);
    const client = await RawClient.connect(broker);
    client.write('SEND\ndestination:/queue/x\n\nno NUL follows');
    client.socket.end();
    expect((await client.expect('ERROR')).headers.message).toMatch(/inside a frame/);
    await client.closed;
    const cut = await RawClient.connect(broker);
    cut.write('SEND\ndestination:/queue/x\ncontent-length:100\n\nshort');
    cut.destroy();
    await other.check();
  });

  it('an oversized frame, declared or not', async () => {
    const broker = await startBroker({ maxFrameSize: 1024 });
    const other = await bystander(broker);
    expect(await refused(broker, encodeFrame('SEND', { destination: '/queue/big' }, 'x'.repeat(2000)))).toMatch(/larger than 1024/);
    expect(await refused(broker, `SEND\ndestination:/queue/big\n\n${'y'.repeat(5000)}`)).toMatch(/larger than 1024/);
    expect(await refused(broker, `SEND\ndestination:/queue/big\n${'h:v\n'.repeat(200)}\n\0`)).toMatch(/more than 100 headers|larger/);
    await other.check();
  });

  it('a bad header escape', async () => {
    const broker = await startBroker();
    const other = await bystander(broker);
    expect(await refused(broker, 'SEND\ndestination:/queue/a\\tb\n\n\0')).toMatch(/undefined escape/);
    await other.check();
  });

  it('an unknown command', async () => {
    const broker = await startBroker();
    const other = await bystander(broker);
    expect(await refused(broker, 'PUBLISH\ndestination:/queue/a\n\n\0')).toBe('unknown command PUBLISH');
    expect(await refused(broker, 'MESSAGE\ndestination:/queue/a\n\n\0')).toMatch(/unknown command/);
    await other.check();
  });

  it('ACK and NACK of an unknown id', async () => {
    const broker = await startBroker();
    const other = await bystander(broker);
    expect(await refused(broker, encodeFrame('ACK', { id: 'no-such-id' }))).toMatch(/does not hold/);
    expect(await refused(broker, encodeFrame('NACK', { id: 'no-such-id' }))).toMatch(/does not hold/);
    expect(await refused(broker, encodeFrame('ACK', {}))).toMatch(/without id/);
    await other.check();
  });

  it('protocol misuse: no destination, bad ack mode, duplicate subscription id, bad content-length', async () => {
    const broker = await startBroker();
    const other = await bystander(broker);
    expect(await refused(broker, encodeFrame('SEND', {}, 'x'))).toMatch(/missing destination/);
    expect(await refused(broker, encodeFrame('SUBSCRIBE', { id: '1', destination: '/queue/a', ack: 'sometimes' }))).toMatch(/ack mode/);
    const twice = Buffer.concat([encodeFrame('SUBSCRIBE', { id: '1', destination: '/queue/a' }), encodeFrame('SUBSCRIBE', { id: '1', destination: '/queue/b' })]);
    expect(await refused(broker, twice)).toMatch(/already in use/);
    expect(await refused(broker, 'SEND\ndestination:/queue/a\ncontent-length:abc\n\n\0')).toMatch(/content-length/);
    await other.check();
  });
});

// --- fuzzing --------------------------------------------------------------------------------

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMANDS = ['SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT', 'CONNECT', 'STOMP', 'BOGUS', ''];
const HEADERS = ['destination', 'id', 'ack', 'receipt', 'transaction', 'content-length', 'message-id', 'subscription', 'reply-to', 'expires', 'persistent', 'prefetch-count', 'heart-beat', 'accept-version'];
const VALUES = ['/queue/f', '/topic/f', '/temp-queue/f', '/remote-temp-queue/x.f', '/queue/f.dlq', 'client', 'client-individual', 'auto', 'true', '0', '1', '-1', '99999999999', 't1', '\\c', '\\t', '\\', 'a\\nb', '', '1.0,1.1,1.2', '10,10'];

function fuzzFrames(random: () => number): Buffer[] {
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const frames: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    const headers: Record<string, string> = {};
    const count = Math.floor(random() * 5);
    for (let h = 0; h < count; h++) headers[pick(HEADERS)] = random() < 0.1 ? String(Math.floor(random() * 1e6)) : pick(VALUES);
    const body = random() < 0.3 ? Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))) : '';
    let frame = Buffer.from(encodeFrame(pick(COMMANDS), headers, body));
    const roll = random();
    if (roll < 0.15) {
      frame = Buffer.from(frame);
      for (let n = 0; n < 3; n++) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256); // flip bytes
    } else if (roll < 0.2) frame = frame.subarray(0, Math.floor(random() * frame.length)); // truncate
    else if (roll < 0.25) frame = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
    else if (roll < 0.3) frame = Buffer.concat([Buffer.from('\r\n\n'), frame, Buffer.from('\n')]); // heart-beats around it
    frames.push(frame);
  }
  return frames;
}

/** One fuzz connection: a valid CONNECT, then `frames`, then half-close; resolves on close. */
function fuzzConnection(broker: EmbeddedBroker, version: string, frames: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: broker.host, port: broker.port }, () => {
      socket.write(encodeFrame('CONNECT', { 'accept-version': version, host: '/' }));
      for (const frame of frames) socket.write(frame);
      socket.end();
    });
    socket.on('data', () => {}); // read and discard: we only care that the broker survives
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.setTimeout(5000, () => socket.destroy());
  });
}

describe('fuzzing', () => {
  it('survives more than 10,000 random and mutated frames (seed 20261123) and keeps serving', async () => {
    const broker = await startBroker({ maxFrameSize: 4096, maxDeliveries: 2 });
    const other = await bystander(broker);
    let errors = 0;
    broker.on('clientError', () => errors++);
    const random = prng(20261123);
    let sent = 0;
    const deadline = Date.now() + 20_000;
    const workers = Array.from({ length: 8 }, async () => {
      while (sent < 10_200 && Date.now() < deadline) {
        const frames = fuzzFrames(random);
        sent += frames.length;
        await fuzzConnection(broker, random() < 0.8 ? '1.2' : random() < 0.5 ? '1.1' : '1.0', frames);
      }
    });
    await Promise.all(workers);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(errors).toBeGreaterThan(100); // the error paths ran, not just the happy ones
    await other.check();
    expect(broker.connectionCount).toBe(1); // only the bystander: every fuzz connection was cleaned up
    const fresh = await RawClient.connect(broker);
    fresh.send('SUBSCRIBE', { id: 's', destination: '/queue/after-fuzz' });
    await fresh.sendAndConfirm({ destination: '/queue/after-fuzz' }, 'ok');
    expect(await bodies(fresh, 1)).toEqual(['ok']);
  });
});

describe('a queue nobody drains is bounded', () => {
  it('refuses a SEND past maxQueueBytes with ERROR to that sender only, and keeps what it accepted', async () => {
    const broker = await startBroker({ maxQueueBytes: 8 * 1024 });
    const other = await bystander(broker);
    const producer = await RawClient.connect(broker);
    const body = 'x'.repeat(1000); // 1,000 bytes + 512 bookkeeping each: 5 fit in 8 KiB, the 6th does not
    for (let i = 0; i < 5; i++) await producer.sendAndConfirm({ destination: '/queue/undrained' }, `${i}${body}`);
    producer.send('SEND', { destination: '/queue/undrained', receipt: 'sixth' }, `5${body}`);
    expect((await producer.expect('ERROR')).headers.message).toMatch(/queue \/queue\/undrained is full/);
    await producer.closed;
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 'drain', destination: '/queue/undrained' });
    expect((await bodies(consumer, 5)).map((b) => b[0])).toEqual(['0', '1', '2', '3', '4']);
    // Drained, the queue takes messages again.
    await consumer.sendAndConfirm({ destination: '/queue/undrained' }, `again${body}`);
    expect(await bodies(consumer, 1)).toEqual([`again${body}`]);
    await other.check();
  });
});
