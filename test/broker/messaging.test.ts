/**
 * The embedded broker's messaging semantics, driven by raw frames: queues, competing consumers,
 * ack modes, prefetch, NACK, redelivery, DLQ, expiry, transactions, temp queues, topics, limits.
 */
import { describe, expect, it } from 'vitest';
import { bodies, RawClient, startBroker } from './helpers.ts';

describe('queues', () => {
  it('delivers to one consumer in order, after the message was sent before the SUBSCRIBE', async () => {
    const broker = await startBroker();
    const producer = await RawClient.connect(broker);
    for (const n of [1, 2, 3]) await producer.sendAndConfirm({ destination: '/queue/order' }, `m${n}`);
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/order' });
    expect(await bodies(consumer, 3)).toEqual(['m1', 'm2', 'm3']);
  });

  it('shares a queue round robin between competing consumers, order kept within each', async () => {
    const broker = await startBroker();
    const a = await RawClient.connect(broker);
    const b = await RawClient.connect(broker);
    a.send('SUBSCRIBE', { id: 's', destination: '/queue/rr', receipt: 'a' });
    await a.waitReceipt('a');
    b.send('SUBSCRIBE', { id: 's', destination: '/queue/rr', receipt: 'b' });
    await b.waitReceipt('b');
    const producer = await RawClient.connect(broker);
    for (let n = 0; n < 6; n++) producer.send('SEND', { destination: '/queue/rr' }, `${n}`);
    expect(await bodies(a, 3)).toEqual(['0', '2', '4']);
    expect(await bodies(b, 3)).toEqual(['1', '3', '5']);
  });

  it('refuses destinations outside /queue/, /topic/ and /temp-queue/', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SEND', { destination: '/exchange/x' }, 'x');
    expect((await client.expect('ERROR')).headers.message).toMatch(/unknown destination/);
  });
});

describe('acknowledgement', () => {
  it('client-individual: only the named message is acknowledged; the rest come back on disconnect', async () => {
    const broker = await startBroker();
    const producer = await RawClient.connect(broker);
    for (const n of [1, 2, 3]) await producer.sendAndConfirm({ destination: '/queue/ci' }, `m${n}`);
    const first = await RawClient.connect(broker);
    first.send('SUBSCRIBE', { id: 's', destination: '/queue/ci', ack: 'client-individual' });
    const messages = [await first.expect('MESSAGE'), await first.expect('MESSAGE'), await first.expect('MESSAGE')];
    first.send('ACK', { id: messages[1]?.headers.ack ?? '', receipt: 'ack' });
    await first.waitReceipt('ack');
    first.destroy();
    const second = await RawClient.connect(broker);
    second.send('SUBSCRIBE', { id: 's', destination: '/queue/ci', ack: 'client-individual' });
    const again = [await second.expect('MESSAGE'), await second.expect('MESSAGE')];
    expect(again.map((m) => m.body.toString())).toEqual(['m1', 'm3']);
    expect(again.map((m) => m.headers.redelivered)).toEqual(['true', 'true']);
    expect(await second.quiet()).toBe(true);
  });

  it('client: an ACK is cumulative', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/cum', ack: 'client' });
    for (const n of [1, 2, 3]) await client.sendAndConfirm({ destination: '/queue/cum' }, `m${n}`);
    const messages = [await client.expect('MESSAGE'), await client.expect('MESSAGE'), await client.expect('MESSAGE')];
    client.send('ACK', { id: messages[1]?.headers.ack ?? '', receipt: 'ack' });
    await client.waitReceipt('ack');
    client.send('UNSUBSCRIBE', { id: 's' });
    client.send('SUBSCRIBE', { id: 't', destination: '/queue/cum' });
    const left = await client.expect('MESSAGE');
    expect([left.body.toString(), left.headers.redelivered]).toEqual(['m3', 'true']);
    expect(await client.quiet()).toBe(true);
  });

  it('holds back messages beyond the prefetch window until an ACK (prefetch-count and activemq.prefetchSize)', async () => {
    const broker = await startBroker();
    for (const header of ['prefetch-count', 'activemq.prefetchSize']) {
      const destination = `/queue/pf-${header}`;
      const client = await RawClient.connect(broker);
      client.send('SUBSCRIBE', { id: 's', destination, ack: 'client-individual', [header]: '2' });
      for (const n of [1, 2, 3]) await client.sendAndConfirm({ destination }, `m${n}`);
      const [first] = [await client.expect('MESSAGE'), await client.expect('MESSAGE')];
      expect(await client.quiet()).toBe(true);
      client.send('ACK', { id: first?.headers.ack ?? '' });
      expect((await client.expect('MESSAGE')).body.toString()).toBe('m3');
    }
  });

  it('NACK puts the message back as redelivered; after maxDeliveries it moves to <queue>.dlq', async () => {
    const broker = await startBroker({ maxDeliveries: 3 });
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/poison', ack: 'client-individual' });
    await client.sendAndConfirm({ destination: '/queue/poison', 'x-id': '7' }, 'bad');
    const seen: Array<string | undefined> = [];
    for (let i = 0; i < 3; i++) {
      const message = await client.expect('MESSAGE');
      seen.push(message.headers.redelivered);
      client.send('NACK', { id: message.headers.ack ?? '' });
    }
    expect(seen).toEqual([undefined, 'true', 'true']);
    expect(await client.quiet()).toBe(true);
    client.send('SUBSCRIBE', { id: 'd', destination: '/queue/poison.dlq' });
    const dead = await client.expect('MESSAGE');
    expect([dead.body.toString(), dead.headers.destination, dead.headers['x-id']]).toEqual(['bad', '/queue/poison.dlq', '7']);
  });

  it('UNSUBSCRIBE gives unacknowledged messages back to the queue', async () => {
    const broker = await startBroker();
    const a = await RawClient.connect(broker);
    a.send('SUBSCRIBE', { id: 's', destination: '/queue/unsub', ack: 'client-individual' });
    await a.sendAndConfirm({ destination: '/queue/unsub' }, 'x');
    await a.expect('MESSAGE');
    const b = await RawClient.connect(broker);
    b.send('SUBSCRIBE', { id: 's', destination: '/queue/unsub', receipt: 'b' });
    await b.waitReceipt('b');
    a.send('UNSUBSCRIBE', { id: 's' });
    expect((await b.expect('MESSAGE')).headers.redelivered).toBe('true');
  });

  it('drops expired messages at delivery time', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    await client.sendAndConfirm({ destination: '/queue/exp', expires: String(Date.now() - 1) }, 'stale');
    await client.sendAndConfirm({ destination: '/queue/exp', expires: String(Date.now() + 60_000) }, 'fresh');
    await client.sendAndConfirm({ destination: '/queue/exp', expires: '0' }, 'forever');
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/exp' });
    expect(await bodies(client, 2)).toEqual(['fresh', 'forever']);
    expect(await client.quiet()).toBe(true);
  });
});

describe('transactions', () => {
  it('delivers SENDs on COMMIT only, and forgets them on ABORT', async () => {
    const broker = await startBroker();
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/tx' });
    const producer = await RawClient.connect(broker);
    producer.send('BEGIN', { transaction: 't1' });
    producer.send('SEND', { destination: '/queue/tx', transaction: 't1' }, 'kept');
    producer.send('BEGIN', { transaction: 't2' });
    producer.send('SEND', { destination: '/queue/tx', transaction: 't2' }, 'aborted');
    await producer.sendAndConfirm({ destination: '/queue/tx' }, 'outside');
    expect(await bodies(consumer, 1)).toEqual(['outside']);
    producer.send('ABORT', { transaction: 't2' });
    producer.send('COMMIT', { transaction: 't1', receipt: 'c' });
    await producer.waitReceipt('c');
    expect(await bodies(consumer, 1)).toEqual(['kept']);
    expect(await consumer.quiet()).toBe(true);
  });

  it('applies ACKs on COMMIT; an aborted ACK leaves the message unacknowledged', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/txack', ack: 'client-individual' });
    await client.sendAndConfirm({ destination: '/queue/txack' }, 'a');
    await client.sendAndConfirm({ destination: '/queue/txack' }, 'b');
    const [a, b] = [await client.expect('MESSAGE'), await client.expect('MESSAGE')];
    client.send('BEGIN', { transaction: 'x' });
    client.send('ACK', { id: a?.headers.ack ?? '', transaction: 'x' });
    client.send('COMMIT', { transaction: 'x' });
    client.send('BEGIN', { transaction: 'y' });
    client.send('ACK', { id: b?.headers.ack ?? '', transaction: 'y' });
    client.send('ABORT', { transaction: 'y', receipt: 'y' });
    await client.waitReceipt('y');
    client.destroy();
    const other = await RawClient.connect(broker);
    other.send('SUBSCRIBE', { id: 's', destination: '/queue/txack' });
    expect(await bodies(other, 1)).toEqual(['b']);
    expect(await other.quiet()).toBe(true);
  });
});

describe('temp queues', () => {
  it('rewrites reply-to to a global name any client can SEND to; replies arrive on the implicit subscription', async () => {
    const broker = await startBroker();
    const requester = await RawClient.connect(broker);
    const responder = await RawClient.connect(broker);
    responder.send('SUBSCRIBE', { id: 'w', destination: '/queue/service', receipt: 'w' });
    await responder.waitReceipt('w');
    requester.send('SEND', { destination: '/queue/service', 'reply-to': '/temp-queue/replies', 'correlation-id': 'c1' }, 'ping');
    const request = await responder.expect('MESSAGE');
    const replyTo = request.headers['reply-to'] ?? '';
    expect(replyTo).toBe(`/remote-temp-queue/${requester.connected.session}.replies`);
    responder.send('SEND', { destination: replyTo, 'correlation-id': 'c1' }, 'pong');
    const reply = await requester.expect('MESSAGE');
    expect([reply.body.toString(), reply.headers.subscription, reply.headers['correlation-id']]).toEqual(['pong', '/temp-queue/replies', 'c1']);
  });

  it('delivers on an explicit SUBSCRIBE to /temp-queue/<name> instead (ActiveMQ style), privately', async () => {
    const broker = await startBroker();
    const owner = await RawClient.connect(broker);
    owner.send('SUBSCRIBE', { id: 'mine', destination: '/temp-queue/r' });
    owner.send('SEND', { destination: '/queue/svc2', 'reply-to': '/temp-queue/r', receipt: 's' });
    await owner.waitReceipt('s');
    const global = `/remote-temp-queue/${owner.connected.session}.r`;
    const stranger = await RawClient.connect(broker);
    await stranger.sendAndConfirm({ destination: global }, 'reply');
    expect((await owner.expect('MESSAGE')).headers.subscription).toBe('mine');
    stranger.send('SUBSCRIBE', { id: 'steal', destination: global });
    expect((await stranger.expect('ERROR')).headers).toMatchObject({ code: 'BROKER_FORBIDDEN', message: expect.stringMatching(/may not SUBSCRIBE to \/remote-temp-queue\//) });
  });

  it('is gone with its owner: later replies are dropped without harming the sender', async () => {
    const broker = await startBroker();
    const owner = await RawClient.connect(broker);
    owner.send('SUBSCRIBE', { id: 'mine', destination: '/temp-queue/gone', receipt: 's' });
    await owner.waitReceipt('s');
    const global = `/remote-temp-queue/${owner.connected.session}.gone`;
    owner.destroy();
    await owner.closed;
    const sender = await RawClient.connect(broker);
    await sender.sendAndConfirm({ destination: global }, 'late reply');
    expect(sender.isClosed).toBe(false);
  });
});

describe('topics', () => {
  it('fans out to every current subscriber and keeps nothing for later ones', async () => {
    const broker = await startBroker();
    const a = await RawClient.connect(broker);
    const b = await RawClient.connect(broker);
    for (const client of [a, b]) {
      client.send('SUBSCRIBE', { id: 't', destination: '/topic/news', receipt: 't' });
      await client.waitReceipt('t');
    }
    const producer = await RawClient.connect(broker);
    await producer.sendAndConfirm({ destination: '/topic/news' }, 'hello');
    expect(await bodies(a, 1)).toEqual(['hello']);
    expect(await bodies(b, 1)).toEqual(['hello']);
    const late = await RawClient.connect(broker);
    late.send('SUBSCRIBE', { id: 't', destination: '/topic/news' });
    expect(await late.quiet()).toBe(true);
  });
});

describe('topics with client acknowledgement', () => {
  it('gives two subscriptions of one connection distinct ack ids for the same message', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 'a', destination: '/topic/twice', ack: 'client-individual' });
    client.send('SUBSCRIBE', { id: 'b', destination: '/topic/twice', ack: 'client-individual' });
    await client.sendAndConfirm({ destination: '/topic/twice' }, 'x');
    const [first, second] = [await client.expect('MESSAGE'), await client.expect('MESSAGE')];
    expect(first?.headers['message-id']).toBe(second?.headers['message-id']);
    expect(first?.headers.ack).not.toBe(second?.headers.ack);
    client.send('ACK', { id: first?.headers.ack ?? '' });
    client.send('ACK', { id: second?.headers.ack ?? '', receipt: 'both' });
    await client.waitReceipt('both');
  });

  it('skips a topic subscriber whose prefetch window is full instead of piling messages up', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 'a', destination: '/topic/full', ack: 'client-individual', 'prefetch-count': '2' });
    for (const n of [1, 2, 3]) await client.sendAndConfirm({ destination: '/topic/full' }, `m${n}`);
    const [first] = [await client.expect('MESSAGE'), await client.expect('MESSAGE')];
    expect(await client.quiet()).toBe(true);
    client.send('ACK', { id: first?.headers.ack ?? '' });
    await client.sendAndConfirm({ destination: '/topic/full' }, 'm4');
    expect(await bodies(client, 1)).toEqual(['m4']);
  });
});

describe('STOMP 1.0 consumers of 1.2 producers', () => {
  it('receive header values with line breaks as spaces, never as extra headers', async () => {
    const broker = await startBroker();
    const old = await RawClient.open(broker);
    old.version = '1.0';
    old.parser.version = '1.0';
    old.write('CONNECT\n\n\0');
    await old.expect('CONNECTED');
    old.send('SUBSCRIBE', { destination: '/queue/old', receipt: 's' });
    await old.waitReceipt('s');
    const modern = await RawClient.connect(broker);
    await modern.sendAndConfirm({ destination: '/queue/old', note: 'line one\nevil:header' }, 'x');
    const message = await old.expect('MESSAGE');
    expect([message.headers.note, message.headers.evil]).toEqual(['line one evil:header', undefined]);
  });
});

describe('limits', () => {
  it('ends a connection that opens more subscriptions than allowed', async () => {
    const broker = await startBroker({ maxSubscriptions: 2 });
    const client = await RawClient.connect(broker);
    for (const id of ['1', '2', '3']) client.send('SUBSCRIBE', { id, destination: `/queue/l${id}` });
    expect((await client.expect('ERROR')).headers.message).toMatch(/more than 2 subscriptions/);
    await client.closed;
  });

  it('ends a connection that holds more frames in open transactions than allowed', async () => {
    const broker = await startBroker({ maxTransactionFrames: 3 });
    const client = await RawClient.connect(broker);
    client.send('BEGIN', { transaction: 't' });
    client.send('SEND', { destination: '/queue/txl', transaction: 't' }, '1');
    client.send('SEND', { destination: '/queue/txl', transaction: 't', receipt: 'ok' }, '2');
    await client.waitReceipt('ok');
    client.send('SEND', { destination: '/queue/txl', transaction: 't' }, '3');
    expect((await client.expect('ERROR')).headers.message).toMatch(/more than 3 frames held in open transactions/);
    await client.closed;
  });

  it('stops delivering queue messages to a consumer that does not read, and loses none', async () => {
    const broker = await startBroker({ maxPendingBytes: 64 * 1024 });
    const slow = await RawClient.connect(broker);
    slow.send('SUBSCRIBE', { id: 's', destination: '/queue/slow', receipt: 's' });
    await slow.waitReceipt('s');
    slow.socket.pause();
    const producer = await RawClient.connect(broker);
    const body = 'x'.repeat(4096);
    const total = 3000; // 12 MB: far more than the socket buffers on both sides hold
    for (let n = 0; n < total; n++) producer.send('SEND', { destination: '/queue/slow', n: String(n) }, body);
    await producer.sendAndConfirm({ destination: '/queue/other' });
    const fast = await RawClient.connect(broker);
    fast.send('SUBSCRIBE', { id: 'f', destination: '/queue/slow' });
    const first = await fast.expect('MESSAGE', 5000);
    expect(Number(first.headers.n)).toBeGreaterThan(0);
    let taken = 1;
    while (await fast.next(500).then(() => true, () => false)) taken++;
    slow.socket.resume();
    let slowTaken = 0;
    while (await slow.next(500).then(() => true, () => false)) slowTaken++;
    expect(taken + slowTaken).toBe(total);
  });

  it('ends a topic subscriber that lets more than maxPendingBytes pile up', async () => {
    const broker = await startBroker({ maxPendingBytes: 64 * 1024 });
    const slow = await RawClient.connect(broker);
    slow.send('SUBSCRIBE', { id: 's', destination: '/topic/firehose', receipt: 's' });
    await slow.waitReceipt('s');
    slow.socket.pause();
    const producer = await RawClient.connect(broker);
    const body = 'x'.repeat(4096);
    for (let n = 0; n < 3000; n++) producer.send('SEND', { destination: '/topic/firehose' }, body);
    await producer.sendAndConfirm({ destination: '/topic/firehose' });
    slow.socket.resume();
    let last = await slow.next(5000);
    while (last.command === 'MESSAGE') last = await slow.next(5000);
    expect([last.command, last.headers.message]).toEqual(['ERROR', 'slow consumer: too many bytes pending']);
    await slow.closed;
    expect(producer.isClosed).toBe(false);
  });
});
