/**
 * The broker's tap (`tap` option, src/broker/tap.ts), on real sockets: what it records (every
 * accepted SEND to a paygate queue and every reply, once, in order, byte-exact, headers as sent)
 * and what it does not (other destinations, refused SENDs, SENDs past a limit, aborted
 * transactions); that consumers get the same frames with and without it; and that a failing sink
 * is counted while the broker keeps serving.
 */
import { describe, expect, it } from 'vitest';
import { BrokerError, DEFAULT_TAP_DESTINATIONS } from '../../src/broker/index.ts';
import type { BrokerOptions, EmbeddedBroker, TappedMessage } from '../../src/broker/index.ts';
import type { Frame, StompHeaders } from '../../src/stomp/frame.ts';
import { stompJsDriver } from './drivers.ts';
import { RawClient, startBroker, usersWith } from './helpers.ts';

/** Every byte value, NULs and CR LF included: the body must come out exactly as it went in. */
const BINARY = Buffer.concat([Buffer.from([0, 13, 10, 0]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\n\0end')]);

/** A broker whose tap keeps what it is given in `records`. */
async function tapped(options: BrokerOptions = {}, destinations?: string[]): Promise<{ broker: EmbeddedBroker; records: TappedMessage[] }> {
  const records: TappedMessage[] = [];
  const sink = (message: TappedMessage): void => void records.push(message);
  const broker = await startBroker({ ...options, tap: destinations === undefined ? { sink } : { sink, destinations } });
  return { broker, records };
}

/** The headers a RawClient SEND puts on the wire, in order (encodeFrame adds content-length last). */
const onWire = (headers: StompHeaders, body: Buffer | string): Array<[string, string]> => [
  ...Object.entries(headers),
  ...(Buffer.byteLength(body) > 0 ? [['content-length', String(Buffer.byteLength(body))] as [string, string]] : []),
];

const summary = (records: readonly TappedMessage[]): string[] => records.map((r) => `${r.destination} ${r.body.toString('latin1')}`);

describe('the broker tap', () => {
  it('records a request and its reply once each, body byte for byte and headers as the clients sent them', async () => {
    const { broker, records } = await tapped();
    const address = { host: broker.host, port: broker.port };
    const [shop, worker] = [await RawClient.connect(address), await RawClient.connect(address)];
    worker.send('SUBSCRIBE', { id: 'w', destination: '/queue/paygate.card', receipt: 'sub' });
    await worker.waitReceipt('sub');

    const request: StompHeaders = {
      destination: '/queue/paygate.card',
      'reply-to': '/temp-queue/replies',
      'correlation-id': 'c-1',
      'x-escaped': 'colon:newline\nbackslash\\ cr\r',
      'content-type': 'application/pkcs7-mime',
      receipt: 'req',
    };
    shop.send('SEND', request, BINARY);
    await shop.waitReceipt('req');
    const delivered = await worker.expect('MESSAGE');
    const replyTo = delivered.headers['reply-to'] as string;
    expect(replyTo).toMatch(/^\/remote-temp-queue\/paygate-\S+\.replies$/);
    const replyBody = Buffer.concat([BINARY, BINARY.subarray(0, 7)]);
    const reply: StompHeaders = { destination: replyTo, 'correlation-id': 'c-1', receipt: 'rep' };
    worker.send('SEND', reply, replyBody);
    await worker.waitReceipt('rep');
    expect((await shop.expect('MESSAGE')).body.equals(replyBody)).toBe(true);

    expect(records.map((r) => r.destination)).toEqual(['/queue/paygate.card', replyTo]);
    const [req, rep] = records as [TappedMessage, TappedMessage];
    // The reply-to as the requester sent it (/temp-queue/…), not the broker's global name.
    expect(req.headers).toEqual(onWire(request, BINARY));
    expect(rep.headers).toEqual(onWire(reply, replyBody));
    expect(req.body.equals(BINARY)).toBe(true);
    expect(rep.body.equals(replyBody)).toBe(true);
    expect(req.time.getTime()).toBeLessThanOrEqual(rep.time.getTime());
    expect(broker.stats.tap).toEqual({ recorded: 2, failed: 0 });
  });

  it('records repeated headers and their order exactly as on the wire (a second copy of a header is never delivered, but it crossed the broker)', async () => {
    const { broker, records } = await tapped();
    const client = await RawClient.connect({ host: broker.host, port: broker.port });
    const frame = 'SEND\ndestination:/queue/paygate.card\nx-pan:masked\n42:numeric name\nx-pan:card 4111111111111111\nreceipt:r\n\nbody\0';
    client.write(frame);
    await client.waitReceipt('r');
    expect(records[0]?.headers).toEqual([
      ['destination', '/queue/paygate.card'],
      ['x-pan', 'masked'],
      ['42', 'numeric name'],
      ['x-pan', 'card 4111111111111111'],
      ['receipt', 'r'],
    ]);
  });

  it('records paygate queues (events, dead letters) in order, not other destinations, aborted transactions or SENDs past a limit; a commit is recorded at COMMIT', async () => {
    const { broker, records } = await tapped({ maxQueueBytes: 4096 });
    const client = await RawClient.connect({ host: broker.host, port: broker.port });
    await client.sendAndConfirm({ destination: '/queue/paygate.card' }, 'one');
    await client.sendAndConfirm({ destination: '/queue/other' }, 'elsewhere');
    await client.sendAndConfirm({ destination: '/topic/paygate.card' }, 'a topic');
    await client.sendAndConfirm({ destination: '/queue/paygatex' }, 'not a paygate queue');
    await client.sendAndConfirm({ destination: '/queue/paygate.feed.events' }, 'events');
    await client.sendAndConfirm({ destination: '/queue/paygate.card.dlq' }, 'redriven');

    client.send('BEGIN', { transaction: 'aborted' });
    client.send('SEND', { destination: '/queue/paygate.card', transaction: 'aborted' }, 'never');
    client.send('ABORT', { transaction: 'aborted', receipt: 'aborted' });
    await client.waitReceipt('aborted');

    client.send('BEGIN', { transaction: 'kept' });
    client.send('SEND', { destination: '/queue/paygate.card', transaction: 'kept' }, 'held 1');
    client.send('SEND', { destination: '/queue/paygate.visa', transaction: 'kept', receipt: 'held' }, 'held 2');
    await client.waitReceipt('held');
    expect(records).toHaveLength(3); // held, not crossed yet
    client.send('COMMIT', { transaction: 'kept', receipt: 'committed' });
    await client.waitReceipt('committed');
    expect(records.at(-1)?.headers).toContainEqual(['transaction', 'kept']);

    // Past maxQueueBytes: ERROR, the message never entered the queue, so it is not recorded.
    client.send('SEND', { destination: '/queue/paygate.card', receipt: 'big' }, Buffer.alloc(8192, 1));
    expect((await client.expect('ERROR')).headers.limit).toBe('maxQueueBytes');

    expect(summary(records)).toEqual([
      '/queue/paygate.card one',
      '/queue/paygate.feed.events events',
      '/queue/paygate.card.dlq redriven',
      '/queue/paygate.card held 1',
      '/queue/paygate.visa held 2',
    ]);
  });

  it('does not record a SEND refused for lack of rights', async () => {
    const users = await usersWith({
      shop: { password: 's', write: ['/queue/paygate.card'], reply: true },
      snoop: { password: 'n', write: ['/queue/other'] },
    });
    const { broker, records } = await tapped({ users });
    const address = { host: broker.host, port: broker.port };
    const snoop = await RawClient.connect(address, { login: 'snoop', passcode: 'n' });
    snoop.send('SEND', { destination: '/queue/paygate.card' }, 'forbidden');
    expect((await snoop.expect('ERROR')).headers.code).toBe('BROKER_FORBIDDEN');
    const shop = await RawClient.connect(address, { login: 'shop', passcode: 's' });
    await shop.sendAndConfirm({ destination: '/queue/paygate.card' }, 'allowed');
    expect(summary(records)).toEqual(['/queue/paygate.card allowed']);
    expect(broker.stats.forbidden).toBe(1);
  });

  it('records a reply to a requester that has gone (the broker accepted it, then dropped it)', async () => {
    const { broker, records } = await tapped();
    const address = { host: broker.host, port: broker.port };
    const [shop, worker] = [await RawClient.connect(address), await RawClient.connect(address)];
    worker.send('SUBSCRIBE', { id: 'w', destination: '/queue/paygate.card' });
    shop.send('SEND', { destination: '/queue/paygate.card', 'reply-to': '/temp-queue/r' }, 'request');
    const replyTo = (await worker.expect('MESSAGE')).headers['reply-to'] as string;
    // The temp queue goes with its owner's teardown, which emits 'disconnect' last.
    const gone = new Promise((resolve) => broker.once('disconnect', resolve));
    shop.destroy();
    await gone;
    await worker.sendAndConfirm({ destination: replyTo }, 'late reply');
    expect(broker.heldBytes).toBe(0); // dropped, not queued
    expect(summary(records)).toEqual(['/queue/paygate.card request', `${replyTo} late reply`]);
  });

  it('records what the destinations patterns name instead of the defaults', async () => {
    expect(DEFAULT_TAP_DESTINATIONS).toEqual(['/queue/paygate.>', '/temp-queue/>', '/remote-temp-queue/>']);
    const { broker, records } = await tapped({}, ['/queue/audit.*', '/topic/prices.>']);
    const client = await RawClient.connect({ host: broker.host, port: broker.port });
    for (const destination of ['/queue/audit.a', '/queue/audit.a.b', '/queue/paygate.card', '/topic/prices.eur.usd']) {
      await client.sendAndConfirm({ destination }, destination);
    }
    expect(records.map((r) => r.destination)).toEqual(['/queue/audit.a', '/topic/prices.eur.usd']);
  });

  it('refuses bad tap options with BROKER_BAD_OPTION naming the pattern', async () => {
    const start = (tap: unknown): Promise<EmbeddedBroker> => startBroker({ tap } as BrokerOptions);
    await expect(start({ destinations: ['/exchange/x'], sink: () => {} })).rejects.toThrow(/tap\.destinations\.0: "\/exchange\/x" must start with/);
    await expect(start({ destinations: ['/queue/a>b'], sink: () => {} })).rejects.toThrow(/> may only end a pattern/);
    await expect(start({ destinations: [], sink: () => {} })).rejects.toThrow(BrokerError);
    await expect(start({ sink: 'not a function' })).rejects.toThrow(/tap\.sink: must be a function/);
  });

  it('hands consumers the same frames with and without the tap', async () => {
    const run = async (options: BrokerOptions): Promise<Frame[]> => {
      const broker = await startBroker(options);
      const address = { host: broker.host, port: broker.port };
      const [shop, worker] = [await RawClient.connect(address), await RawClient.connect(address)];
      worker.send('SUBSCRIBE', { id: 'w', destination: '/queue/paygate.card', ack: 'client-individual', receipt: 's' });
      await worker.waitReceipt('s');
      shop.send('SEND', { destination: '/queue/paygate.card', 'reply-to': '/temp-queue/r', 'x-a': 'a:b', persistent: 'true' }, BINARY);
      shop.send('BEGIN', { transaction: 't' });
      shop.send('SEND', { destination: '/queue/paygate.card', transaction: 't', 'x-b': '2' }, 'in a transaction');
      shop.send('COMMIT', { transaction: 't' });
      const frames: Frame[] = [];
      for (let i = 0; i < 2; i++) {
        const message = await worker.expect('MESSAGE');
        frames.push(message);
        worker.send('ACK', { id: message.headers.ack as string });
      }
      worker.send('SEND', { destination: frames[0]?.headers['reply-to'] as string, 'correlation-id': 'x' }, BINARY.subarray(3));
      frames.push(await shop.expect('MESSAGE'));
      // Ids and session names differ from run to run; everything else must be identical.
      return frames.map(({ headerList: _list, ...frame }) => ({ ...frame, headers: normalized(frame.headers) }));
    };
    const records: TappedMessage[] = [];
    const withTap = await run({ tap: { sink: (message) => void records.push(message) } });
    const without = await run({});
    expect(withTap).toEqual(without);
    expect(records).toHaveLength(3);
  });

  it('through @stomp/stompjs: a request to a paygate queue and its reply are recorded as that library sent them', async () => {
    const { broker, records } = await tapped();
    const shop = await stompJsDriver.connect({ host: broker.host, port: broker.port });
    const worker = await stompJsDriver.connect({ host: broker.host, port: broker.port });
    try {
      const requests = await worker.subscribe('/queue/paygate.card');
      const replies = await shop.replies('answers');
      await shop.send('/queue/paygate.card', 'pay 10 EUR', { 'reply-to': '/temp-queue/answers', 'x-order': 'o-1' });
      const request = await requests.next();
      await worker.send(request.headers['reply-to'] as string, 'paid', { 'correlation-id': 'o-1' });
      expect((await replies.next()).body).toBe('paid');
      expect(summary(records)).toEqual(['/queue/paygate.card pay 10 EUR', `${request.headers['reply-to']} paid`]);
      const headers = Object.fromEntries(records[0]?.headers ?? []);
      expect(headers).toMatchObject({ destination: '/queue/paygate.card', 'reply-to': '/temp-queue/answers', 'x-order': 'o-1' });
      expect(headers.receipt).toMatch(/\S/); // frame headers stay: the record is what the client sent
    } finally {
      shop.kill();
      worker.kill();
    }
  });

  it('keeps serving when the sink fails: every message is delivered, the failures are counted, the failure is reported once', async () => {
    let calls = 0;
    const broker = await startBroker({
      tap: {
        sink: () => {
          if (++calls > 2) throw new Error('no space left on device');
        },
      },
    });
    const reported: unknown[] = [];
    broker.on('tapFailed', (error) => reported.push(error));
    const address = { host: broker.host, port: broker.port };
    const [producer, consumer] = [await RawClient.connect(address), await RawClient.connect(address)];
    consumer.send('SUBSCRIBE', { id: 'c', destination: '/queue/paygate.card' });
    for (let n = 0; n < 10; n++) await producer.sendAndConfirm({ destination: '/queue/paygate.card' }, `m${n}`);
    const got: string[] = [];
    for (let n = 0; n < 10; n++) got.push((await consumer.expect('MESSAGE')).body.toString());
    expect(got).toEqual(Array.from({ length: 10 }, (_, n) => `m${n}`));
    expect(broker.stats.tap).toEqual({ recorded: 2, failed: 8 });
    expect(reported).toHaveLength(1);
  });
});

/** Headers with the run-specific parts (message ids, session names in temp queue names) replaced. */
function normalized(headers: StompHeaders): StompHeaders {
  const out: StompHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = value.replace(/ID:paygate-[0-9a-z]+-/g, 'ID:paygate-RUN-').replace(/paygate-[0-9a-z]+-(\d+)/g, 'paygate-RUN-$1');
  }
  return out;
}
