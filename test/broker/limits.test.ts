/**
 * The broker's memory and connection limits against the hostile patterns they exist for, on the
 * real embedded broker over real sockets: each attack is refused with ERROR `BROKER_LIMIT` naming
 * the limit, counted in `stats.limits`, and a bystander is served while it runs. Waits are on
 * frames, events and conditions, never on time passing.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { EmbeddedBroker, LimitHit } from '../../src/broker/index.ts';
import { encodeFrame } from '../../src/stomp/frame.ts';
import type { Frame } from '../../src/stomp/frame.ts';
import { waitUntil } from '../helpers/timing.ts';
import { bodies, RawClient, startBroker, usersWith } from './helpers.ts';

/** A failure deadline for the timeouts under test (they are a few hundred ms), not a pace. */
const SLOW = 15_000;
const MESSAGE_OVERHEAD = 512;

/** The next frame must be ERROR BROKER_LIMIT naming `limit`; the connection then closes. */
async function refusedFor(client: RawClient, limit: string, timeoutMs = SLOW): Promise<Frame> {
  const error = await client.expect('ERROR', timeoutMs);
  expect(error.headers).toMatchObject({ code: 'BROKER_LIMIT', limit });
  await client.closed;
  return error;
}

/** Skip frames (e.g. MESSAGEs) until the ERROR. */
async function errorAmong(client: RawClient, timeoutMs = SLOW): Promise<Frame> {
  for (;;) {
    const frame = await client.next(timeoutMs);
    if (frame.command === 'ERROR') return frame;
  }
}

/** A connection that holds one unacknowledged message and, on `check()`, completes a request/receipt round trip. */
async function bystander(broker: EmbeddedBroker, queue = '/queue/bystander'): Promise<{ client: RawClient; check(): Promise<void> }> {
  const client = await RawClient.connect(broker);
  client.send('SUBSCRIBE', { id: 'own', destination: queue, ack: 'client-individual' });
  let round = 0;
  return {
    client,
    async check() {
      expect(client.isClosed).toBe(false);
      const body = `round ${++round}`;
      await client.sendAndConfirm({ destination: queue }, body);
      const message = await client.expect('MESSAGE');
      expect(message.body.toString()).toBe(body);
      client.send('ACK', { id: message.headers.ack ?? '', receipt: `ack-${round}` });
      await client.waitReceipt(`ack-${round}`);
    },
  };
}

function limitEvents(broker: EmbeddedBroker): LimitHit[] {
  const seen: LimitHit[] = [];
  broker.on('limit', (hit) => seen.push(hit));
  return seen;
}

describe('maxPrefetch', () => {
  it('lowers a huge prefetch to maxPrefetch: the consumer gets that many, a second consumer the rest', async () => {
    const broker = await startBroker({ maxPrefetch: 5, defaultPrefetch: 5 });
    const seen = limitEvents(broker);
    const producer = await RawClient.connect(broker);
    for (let i = 0; i < 12; i++) await producer.sendAndConfirm({ destination: '/queue/prefetch' }, `m${i}`);
    const greedy = await RawClient.connect(broker);
    // The hand-out to a new consumer happens while its SUBSCRIBE is handled, before the RECEIPT.
    greedy.send('SUBSCRIBE', { id: 'g', destination: '/queue/prefetch', ack: 'client-individual', 'prefetch-count': '1000000', receipt: 'sub' });
    const before: string[] = [];
    for (let frame = await greedy.next(); frame.command !== 'RECEIPT'; frame = await greedy.next()) before.push(frame.body.toString());
    expect(before).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const second = await RawClient.connect(broker);
    second.send('SUBSCRIBE', { id: 's', destination: '/queue/prefetch', 'activemq.prefetchSize': '99999999' });
    expect(await bodies(second, 7)).toEqual(['m5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
    expect(broker.stats.limits.maxPrefetch).toBe(2);
    expect(seen.map((hit) => hit.limit)).toEqual(['maxPrefetch', 'maxPrefetch']);
  });

  it('is refused below defaultPrefetch at start', async () => {
    await expect(startBroker({ maxPrefetch: 10, defaultPrefetch: 20 })).rejects.toMatchObject({ code: 'BROKER_BAD_OPTION' });
  });
});

describe('maxQueueBytes counts unacknowledged messages', () => {
  it('refuses SENDs while a consumer with a huge prefetch hoards the queue without ACKing; others are served; ACKs make room', async () => {
    const body = 'x'.repeat(1000);
    const size = body.length + MESSAGE_OVERHEAD;
    const broker = await startBroker({ maxQueueBytes: 10 * size });
    const seen = limitEvents(broker);
    const other = await bystander(broker);
    const hoarder = await RawClient.connect(broker);
    hoarder.send('SUBSCRIBE', { id: 'h', destination: '/queue/hoarded', ack: 'client-individual', 'prefetch-count': '100000', receipt: 'sub' });
    await hoarder.waitReceipt('sub');
    const producer = await RawClient.connect(broker);
    for (let i = 0; i < 10; i++) await producer.sendAndConfirm({ destination: '/queue/hoarded' }, body);
    // All ten were delivered to the hoarder, none waits: only the unacknowledged count keeps the cap.
    const held: Frame[] = [];
    for (let i = 0; i < 10; i++) held.push(await hoarder.expect('MESSAGE'));
    producer.send('SEND', { destination: '/queue/hoarded', receipt: 'eleventh' }, body);
    const error = await refusedFor(producer, 'maxQueueBytes');
    expect(error.headers.message).toMatch(/queue \/queue\/hoarded is full/);
    expect(error.headers['receipt-id']).toBe('eleventh');
    await other.check();
    expect(broker.stats.limits.maxQueueBytes).toBe(1);
    expect(seen).toContainEqual(expect.objectContaining({ limit: 'maxQueueBytes' }));
    // One ACK frees one message's bytes: exactly one more SEND fits.
    hoarder.send('ACK', { id: held[0]?.headers.ack ?? '', receipt: 'acked' });
    await hoarder.waitReceipt('acked');
    const again = await RawClient.connect(broker);
    await again.sendAndConfirm({ destination: '/queue/hoarded' }, body);
    expect(await bodies(hoarder, 1)).toEqual([body]);
  });

  it('gives every byte back: a hoarder that disconnects returns its messages, a drain leaves 0 held', async () => {
    const broker = await startBroker({ maxQueueBytes: 64 * 1024 });
    const hoarder = await RawClient.connect(broker);
    hoarder.send('SUBSCRIBE', { id: 'h', destination: '/queue/returned', ack: 'client', 'prefetch-count': '50' });
    const producer = await RawClient.connect(broker);
    for (let i = 0; i < 5; i++) await producer.sendAndConfirm({ destination: '/queue/returned' }, `r${i}`);
    await bodies(hoarder, 5);
    expect(broker.heldBytes).toBe(5 * (2 + MESSAGE_OVERHEAD));
    hoarder.destroy();
    const drain = await RawClient.connect(broker);
    drain.send('SUBSCRIBE', { id: 'd', destination: '/queue/returned' });
    expect(await bodies(drain, 5)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    await waitUntil(() => broker.heldBytes === 0, 'every byte given back');
  });
});

describe('held bytes follow messages wherever they go', () => {
  it('a dead letter moves its bytes to the DLQ; a temp queue that vanishes with its owner gives its bytes back', async () => {
    const broker = await startBroker({ maxDeliveries: 1 });
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 'n', destination: '/queue/nacked', ack: 'client-individual' });
    await client.sendAndConfirm({ destination: '/queue/nacked' }, 'bad');
    const message = await client.expect('MESSAGE');
    client.send('NACK', { id: message.headers.ack ?? '', receipt: 'nacked' });
    await client.waitReceipt('nacked');
    expect(broker.heldBytes).toBe(3 + MESSAGE_OVERHEAD); // now waiting in /queue/nacked.dlq
    client.send('SUBSCRIBE', { id: 'dlq', destination: '/queue/nacked.dlq' });
    expect(await bodies(client, 1)).toEqual(['bad']);
    expect(broker.heldBytes).toBe(0);

    const owner = await RawClient.connect(broker);
    owner.send('SUBSCRIBE', { id: 'r', destination: '/temp-queue/replies', ack: 'client', 'prefetch-count': '1' });
    owner.send('SEND', { destination: '/queue/service', 'reply-to': '/temp-queue/replies', receipt: 'asked' }, 'ping');
    await owner.waitReceipt('asked');
    const service = await RawClient.connect(broker);
    service.send('SUBSCRIBE', { id: 's', destination: '/queue/service' });
    const request = await service.expect('MESSAGE');
    for (let i = 0; i < 3; i++) await service.sendAndConfirm({ destination: request.headers['reply-to'] ?? '' }, `pong${i}`);
    expect(broker.heldBytes).toBe(3 * (5 + MESSAGE_OVERHEAD)); // one unacknowledged, two waiting behind the prefetch
    owner.destroy();
    await waitUntil(() => broker.heldBytes === 0, 'the temp queue\'s bytes given back');
  });
});

describe('transactions are bounded by bytes and give them back', () => {
  const frame = 'y'.repeat(8 * 1024);
  const size = frame.length + MESSAGE_OVERHEAD;

  it('refuses a transaction hoard past maxConnectionBytes; everything it held is freed when it closes', async () => {
    const broker = await startBroker({ maxFrameSize: 16 * 1024, maxConnectionBytes: 64 * 1024 });
    const other = await bystander(broker);
    const hoarder = await RawClient.connect(broker);
    hoarder.send('BEGIN', { transaction: 't' });
    for (let i = 0; i < 6; i++) hoarder.send('SEND', { destination: '/queue/tx-hoard', transaction: 't' }, frame);
    hoarder.send('SEND', { destination: '/queue/tx-hoard', transaction: 't', receipt: 'seventh' }, frame);
    await hoarder.waitReceipt('seventh');
    expect(broker.heldBytes).toBe(7 * size);
    await other.check(); // served while the hoard is held
    hoarder.send('SEND', { destination: '/queue/tx-hoard', transaction: 't' }, frame);
    const error = await refusedFor(hoarder, 'maxConnectionBytes');
    expect(error.headers.message).toMatch(/transaction refused/);
    await waitUntil(() => broker.heldBytes === 0, 'the hoard given back');
    expect(broker.stats.limits.maxConnectionBytes).toBe(1);
    await other.check();
  });

  it('gives a transaction\'s bytes back on ABORT, and moves them to the queue on COMMIT', async () => {
    const broker = await startBroker({ maxFrameSize: 16 * 1024, maxConnectionBytes: 64 * 1024 });
    const client = await RawClient.connect(broker);
    client.send('BEGIN', { transaction: 'a' });
    client.send('SEND', { destination: '/queue/tx-abort', transaction: 'a' }, frame);
    client.send('SEND', { destination: '/queue/tx-abort', transaction: 'a', receipt: 'held' }, frame);
    await client.waitReceipt('held');
    expect(broker.heldBytes).toBe(2 * size);
    client.send('ABORT', { transaction: 'a', receipt: 'aborted' });
    await client.waitReceipt('aborted');
    expect(broker.heldBytes).toBe(0);
    client.send('BEGIN', { transaction: 'c' });
    client.send('SEND', { destination: '/queue/tx-abort', transaction: 'c' }, frame);
    client.send('COMMIT', { transaction: 'c', receipt: 'committed' });
    await client.waitReceipt('committed');
    expect(broker.heldBytes).toBe(size); // now a waiting message of the queue
  });
});

describe('maxTotalBytes', () => {
  it('refuses hoards and SENDs beyond the broker-wide cap, while existing consumers are served and their ACKs free room', async () => {
    const body = 'z'.repeat(4096);
    const size = body.length + MESSAGE_OVERHEAD;
    const broker = await startBroker({ maxFrameSize: 8192, maxConnectionBytes: 32 * 1024, maxTotalBytes: 64 * 1024 });
    const producer = await RawClient.connect(broker);
    for (let i = 0; i < 4; i++) await producer.sendAndConfirm({ destination: '/queue/work' }, `${i}${body}`);
    // A request taken by a worker before the broker fills up; its reply comes after.
    const requester = await RawClient.connect(broker);
    const worker = await RawClient.connect(broker);
    worker.send('SUBSCRIBE', { id: 'svc', destination: '/queue/svc' });
    // The requester takes its replies with client acks and leaves this one unacknowledged, so it stays counted.
    requester.send('SUBSCRIBE', { id: 'answers', destination: '/temp-queue/answers', ack: 'client-individual' });
    await requester.sendAndConfirm({ destination: '/queue/svc', 'reply-to': '/temp-queue/answers' }, 'ask');
    const request = await worker.expect('MESSAGE');
    // Hoarders, each far within its own connection cap, fill the rest of the broker: one frame
    // held in a transaction each, until one is refused (it held nothing else, so nothing is freed).
    let refusal: Frame | undefined;
    for (let h = 0; refusal === undefined && h < 20; h++) {
      const hoarder = await RawClient.connect(broker);
      hoarder.send('BEGIN', { transaction: 't' });
      hoarder.send('SEND', { destination: '/queue/never', transaction: 't', receipt: 'held' }, body);
      const answer = await hoarder.next();
      if (answer.command === 'ERROR') refusal = answer;
    }
    expect(refusal?.headers).toMatchObject({ code: 'BROKER_LIMIT', limit: 'maxTotalBytes' });
    expect(broker.heldBytes).toBe(4 * (size + 1) + 10 * size); // 4 waiting (a digit longer) + 10 held: an 11th would pass 64 KiB
    // The worker's reply into the requester's temp queue still goes through (bounded headroom).
    const answer = 'a'.repeat(2048); // more than the 1 KiB left under the cap
    await worker.sendAndConfirm({ destination: request.headers['reply-to'] ?? '' }, answer);
    expect(await bodies(requester, 1)).toEqual([answer]);
    // A new SEND is refused for the same cap…
    const late = await RawClient.connect(broker);
    late.send('SEND', { destination: '/queue/work', receipt: 'late' }, body);
    await refusedFor(late, 'maxTotalBytes');
    // …but the consumer of what was accepted is served, and its ACKs free memory.
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 'w', destination: '/queue/work', ack: 'client-individual' });
    const before = broker.heldBytes;
    for (let i = 0; i < 4; i++) {
      const message = await consumer.expect('MESSAGE');
      expect(message.body.toString()[0]).toBe(String(i));
      const ack = encodeFrame('ACK', { id: message.headers.ack ?? '', receipt: `ack${i}` }, '', '1.2');
      if (i === 0) {
        // The broker is past its cap (the reply used the headroom): an ACK that TCP delivers in
        // two reads is a small unfinished frame for a moment, and must not be refused for it.
        expect(broker.heldBytes).toBeGreaterThan(64 * 1024);
        const held = broker.heldBytes;
        consumer.write(ack.subarray(0, 10));
        await waitUntil(() => broker.heldBytes > held, 'the first part of the ACK read and counted');
        consumer.write(ack.subarray(10));
      } else {
        consumer.write(ack);
      }
      await consumer.waitReceipt(`ack${i}`);
    }
    expect(broker.heldBytes).toBe(before - 4 * (size + 1));
    await consumer.sendAndConfirm({ destination: '/queue/work' }, `again${body}`);
    expect((await consumer.expect('MESSAGE')).body.toString()).toBe(`again${body}`);
    expect(broker.stats.limits.maxTotalBytes).toBe(2);
  });
});

describe('the reply headroom', () => {
  it("is only for replies into another connection's temp queue: a connection filling its own is refused at the cap", async () => {
    const body = 'y'.repeat(4096);
    const size = body.length + MESSAGE_OVERHEAD;
    const broker = await startBroker({ maxFrameSize: 8192, maxTotalBytes: 64 * 1024 });
    const filler = await RawClient.connect(broker); // writing its own temp queue needs no right at all
    let sent = 0;
    let refusal: Frame | undefined;
    while (refusal === undefined && sent < 40) {
      filler.send('SEND', { destination: '/temp-queue/mine', receipt: `r${sent}` }, body);
      const answer = await filler.next();
      if (answer.command === 'ERROR') refusal = answer;
      else sent++;
    }
    expect(refusal?.headers).toMatchObject({ code: 'BROKER_LIMIT', limit: 'maxTotalBytes' });
    expect(sent).toBe(Math.floor((64 * 1024) / size)); // with the headroom it would have been 16
    await waitUntil(() => broker.heldBytes === 0, 'the refused connection and its temp queue gone');
  });
});

describe('partial frames', () => {
  /** The head of a SEND announcing `length` body bytes, and `sent` of them. */
  const partial = (length: number, sent: number): Buffer =>
    Buffer.concat([Buffer.from(`SEND\ndestination:/queue/partial\ncontent-length:${length}\n\n`), Buffer.alloc(sent, 0x61)]);

  it('count towards maxConnectionBytes while they arrive', async () => {
    const broker = await startBroker({ maxFrameSize: 128 * 1024, maxConnectionBytes: 256 * 1024, maxTotalBytes: 1024 * 1024 });
    const other = await bystander(broker);
    const attacker = await RawClient.connect(broker);
    attacker.send('BEGIN', { transaction: 't' });
    attacker.send('SEND', { destination: '/queue/partial', transaction: 't' }, Buffer.alloc(100 * 1024));
    attacker.send('SEND', { destination: '/queue/partial', transaction: 't', receipt: 'held' }, Buffer.alloc(100 * 1024));
    await attacker.waitReceipt('held');
    attacker.write(partial(120 * 1024, 40 * 1024));
    await waitUntil(() => broker.heldBytes >= 240 * 1024, 'the partial frame counted');
    await other.check();
    attacker.write(Buffer.alloc(40 * 1024, 0x61)); // still inside maxFrameSize, beyond the connection's bytes
    await refusedFor(attacker, 'maxConnectionBytes');
    await waitUntil(() => broker.heldBytes === 0, 'the partial frame given back');
    await other.check();
  });

  it('count towards maxTotalBytes: many half-sent frames cannot hold more than the cap', async () => {
    const broker = await startBroker({ maxFrameSize: 64 * 1024, maxConnectionBytes: 64 * 1024, maxTotalBytes: 256 * 1024 });
    const other = await bystander(broker);
    const attackers: RawClient[] = [];
    for (let i = 0; i < 12; i++) {
      const attacker = await RawClient.connect(broker);
      attackers.push(attacker);
      attacker.write(partial(60 * 1024, 40 * 1024));
    }
    // Every attacker is either counted or refused; those refused were refused for the broker's cap.
    await waitUntil(() => broker.stats.limits.maxTotalBytes + Math.round(broker.heldBytes / (40 * 1024)) >= 12, 'every partial frame read');
    expect(broker.heldBytes).toBeLessThanOrEqual(256 * 1024);
    expect(broker.stats.limits.maxTotalBytes).toBeGreaterThanOrEqual(5);
    await waitUntil(() => attackers.filter((a) => a.isClosed).length === broker.stats.limits.maxTotalBytes, 'the refused ones closed');
    const refused = attackers.filter((a) => a.isClosed);
    for (const attacker of refused) await refusedFor(attacker, 'maxTotalBytes');
    await other.check();
    for (const attacker of attackers) attacker.destroy();
    await waitUntil(() => broker.heldBytes === 0, 'every partial frame given back');
  });

  it('are cut after frameTimeout even when they keep trickling', async () => {
    const broker = await startBroker({ frameTimeout: 300 });
    const other = await bystander(broker);
    const trickler = await RawClient.connect(broker);
    trickler.write('SEND\ndestination:/queue/slow\n');
    const drip = setInterval(() => trickler.write('x-drip:1\n'), 50);
    try {
      const error = await refusedFor(trickler, 'frameTimeout');
      expect(error.headers.message).toMatch(/a frame took more than 300 ms/);
    } finally {
      clearInterval(drip);
    }
    expect(broker.stats.limits.frameTimeout).toBe(1);
    await other.check();
  });
});

describe('connections', () => {
  it('refuses a connection beyond maxConnections with ERROR and closes it; open ones carry on, a freed slot is taken again', async () => {
    const broker = await startBroker({ maxConnections: 3 });
    const other = await bystander(broker);
    const second = await RawClient.connect(broker);
    await RawClient.connect(broker);
    const extra = await RawClient.open(broker);
    const error = await refusedFor(extra, 'maxConnections');
    expect(error.headers.message).toMatch(/too many connections/);
    await other.check();
    expect(broker.stats.limits.maxConnections).toBe(1);
    const gone = new Promise((resolve) => broker.once('disconnect', resolve));
    second.destroy();
    await gone;
    const again = await RawClient.connect(broker);
    await again.sendAndConfirm({ destination: '/queue/after' }, 'in');
  });

  it('closes connections without client heart-beats after idleTimeout; a heart-beating one stays', async () => {
    const broker = await startBroker({ idleTimeout: 300, heartBeat: [0, 1000] });
    const beating = await RawClient.connect(broker, { 'heart-beat': '1000,0' });
    expect(beating.connected['heart-beat']).toBe('0,1000');
    const beat = setInterval(() => beating.write('\n'), 100);
    try {
      // Connected after the heart-beating one: once they are all cut, it has been idle as long.
      const idle = await Promise.all(Array.from({ length: 50 }, () => RawClient.connect(broker)));
      const errors = await Promise.all(idle.map((client) => refusedFor(client, 'idleTimeout')));
      expect(errors[0]?.headers.message).toMatch(/no data from the client for more than 300 ms/);
      expect(broker.stats.limits.idleTimeout).toBe(50);
      await beating.sendAndConfirm({ destination: '/queue/alive' }, 'still here');
    } finally {
      clearInterval(beat);
    }
  });

  it('closes a client that never reads after writeTimeout; others are served meanwhile', async () => {
    const broker = await startBroker({ maxPendingBytes: 64 * 1024, writeTimeout: 300 });
    const other = await bystander(broker);
    const cut = new Promise<LimitHit>((resolve) => broker.on('limit', (hit) => hit.limit === 'writeTimeout' && resolve(hit)));
    const deaf = await RawClient.connect(broker);
    deaf.send('SUBSCRIBE', { id: 'echo', destination: '/queue/deaf' });
    deaf.socket.pause(); // never reads again: what the broker writes piles up in the kernel, then in the broker
    // 64 MiB echoed back to itself, more than the kernel buffers of both sockets can absorb (one frame, written again and again).
    const frame = encodeFrame('SEND', { destination: '/queue/deaf' }, Buffer.alloc(64 * 1024, 0x62));
    for (let i = 0; i < 1024; i++) deaf.write(frame);
    const hit = await cut;
    expect(hit.message).toMatch(/took nothing we wrote for 300 ms/);
    await other.check();
    deaf.socket.resume();
    const error = await errorAmong(deaf);
    expect(error.headers).toMatchObject({ code: 'BROKER_LIMIT', limit: 'writeTimeout' });
    await deaf.closed;
    expect(broker.stats.limits.writeTimeout).toBe(1);
  });
});

describe('maxConnectionsPerLogin', () => {
  it('refuses a login its connection beyond the cap at CONNECT; other logins connect; a freed slot is taken again', async () => {
    const users = await usersWith({ shop: { password: 'shop-pw', role: 'storefront' }, other: { password: 'other-pw', role: 'storefront' } }, 'paygate.');
    const broker = await startBroker({ users, maxConnectionsPerLogin: 2 });
    const shop = { login: 'shop', passcode: 'shop-pw' };
    const first = await RawClient.connect(broker, shop);
    await RawClient.connect(broker, shop);
    const third = await RawClient.open(broker);
    third.send('CONNECT', { 'accept-version': '1.2', host: '/', ...shop });
    const error = await refusedFor(third, 'maxConnectionsPerLogin');
    expect(error.headers.message).toMatch(/login shop already holds 2 connections/);
    const other = await RawClient.connect(broker, { login: 'other', passcode: 'other-pw' });
    await other.sendAndConfirm({ destination: '/queue/paygate.card' }, 'served');
    const gone = new Promise((resolve) => broker.once('disconnect', resolve));
    first.destroy();
    await gone;
    await RawClient.connect(broker, shop);
    expect(broker.stats.limits.maxConnectionsPerLogin).toBe(1);
  });
});

describe('maxConnectionsPerAddress', () => {
  it('refuses an address its connection beyond the cap before CONNECT; another address still connects', async () => {
    const broker = await startBroker({ maxConnectionsPerAddress: 2 });
    const other = await bystander(broker);
    await RawClient.open(broker); // never logs in: holds a slot of 127.0.0.1 all the same
    const extra = await RawClient.open(broker);
    const error = await refusedFor(extra, 'maxConnectionsPerAddress');
    expect(error.headers.message).toMatch(/too many connections from one address/);
    // 127.0.0.2 is loopback too, and a different address.
    const elsewhere = connect({ host: broker.host, port: broker.port, localAddress: '127.0.0.2' });
    const answer = new Promise<string>((resolve) => elsewhere.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    elsewhere.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: '/' }));
    expect(await answer).toMatch(/^CONNECTED\n/);
    elsewhere.destroy();
    await other.check();
    expect(broker.stats.limits.maxConnectionsPerAddress).toBe(1);
  });
});
