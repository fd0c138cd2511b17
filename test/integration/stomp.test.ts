// One suite, through paygate's connection layer (src/stomp), against
// every broker named in PAYGATE_TEST_BROKERS (embedded by default; .ci/run adds rabbitmq and
// activemq). Where brokers genuinely differ the documented per-broker behaviour is asserted
// (docs/stomp.md), never skipped. Destinations are unique per test: brokers keep state.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isStompError, quirksOf } from '../../src/stomp/index.ts';
import type { StompConnection, StompMessage } from '../../src/stomp/index.ts';
import { negotiateHeartBeat } from '../../src/stomp/heartbeat.ts';
import { parseTestBrokers, startTestBroker } from '../helpers/brokers.ts';
import type { TestBroker } from '../helpers/brokers.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { deferred, waitUntil } from '../helpers/timing.ts';
import { Connections, Inbox, nextEvent, nodeOf, queueHeaders, unique } from './support.ts';

const KIND = { embedded: 'embedded', rabbitmq: 'rabbitmq', activemq: 'activemq' } as const;

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('STOMP on $name', (descriptor) => {
  let broker: TestBroker;
  const connections = new Connections();
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    broker = await startTestBroker(descriptor);
  });
  afterEach(async () => {
    await connections.closeAll();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const connect = (options: Partial<Parameters<Connections['open']>[0]> = {}): Promise<StompConnection> =>
    connections.open({ nodes: [nodeOf(broker.descriptor)], ...options });
  const viaProxy = async (options: Partial<Parameters<Connections['open']>[0]> = {}): Promise<[StompConnection, TcpProxy]> => {
    const proxy = await TcpProxy.start(broker.descriptor.host, broker.descriptor.port);
    proxies.push(proxy);
    return [await connections.open({ nodes: [nodeOf(broker.descriptor, proxy)], ...options }), proxy];
  };
  const send = (c: StompConnection, queue: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<void> =>
    c.send(queue, body, { receipt: true, headers: { ...queueHeaders(), ...headers } });
  const subscribe = async (c: StompConnection, queue: string, inbox: Inbox, options: { ack?: 'auto'; prefetch?: number; headers?: Record<string, string> } = {}) => {
    const subscription = c.subscribe(queue, inbox.handler, { ...options, headers: { ...queueHeaders(), ...options.headers } });
    await subscription.ready;
    return subscription;
  };
  /**
   * The positive control of a "nothing more arrives" check on `c`: a message sent now to a queue
   * of its own, on the same connection, has come back. A delivery the broker had already decided
   * on when it took this SEND is then in, or as good as in.
   */
  const roundTrip = async (c: StompConnection): Promise<void> => {
    const control = new Inbox();
    const queue = unique('queue', 'control');
    await subscribe(c, queue, control);
    await send(c, queue, 'control');
    await (await control.next()).ack();
  };

  it('queue send/receive: the broker kind is read from CONNECTED; bodies arrive byte for byte (NUL, UTF-8)', async () => {
    const c = await connect();
    expect(c.brokerKind).toBe(KIND[descriptor.name]);
    const queue = unique('queue', 'basic');
    const inbox = new Inbox();
    await subscribe(c, queue, inbox);
    const binary = Buffer.from('NUL\0inside — é € 💳\n\0', 'utf8');
    await send(c, queue, binary, { 'content-type': 'application/octet-stream' });
    await send(c, queue, 'plain ünïcødé text');
    const first = await inbox.next();
    expect(first.body.equals(binary)).toBe(true);
    expect(first.headers['content-length']).toBe(String(binary.length));
    expect((await inbox.next()).text()).toBe('plain ünïcødé text');
    await Promise.all(inbox.messages.map((m) => m.ack()));
  });

  it('competing consumers: each message goes to exactly one of them, both get some', async () => {
    const queue = unique('queue', 'competing');
    const [a, b, producer] = await Promise.all([connect(), connect(), connect()]);
    const inboxes = [new Inbox(), new Inbox()];
    const acks: Promise<void>[] = [];
    // Each holds its first message unacknowledged (prefetch 1) until both have one: the broker
    // must then give the other one the next message, so both get some.
    const bothHaveOne = deferred();
    const ackLater = (inbox: Inbox) => (m: StompMessage): void => {
      inbox.handler(m);
      acks.push(bothHaveOne.promise.then(() => m.ack()));
      if (inboxes.every((i) => i.messages.length > 0)) bothHaveOne.resolve();
    };
    await Promise.all([a, b].map((c, i) => {
      const inbox = inboxes[i] as Inbox;
      return c.subscribe(queue, ackLater(inbox), { prefetch: 1, headers: queueHeaders() }).ready;
    }));
    const bodies = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (const body of bodies) await send(producer, queue, body);
    const all = (): string[] => inboxes.flatMap((inbox) => inbox.messages.map((m) => m.text()));
    await waitUntil(() => all().length >= bodies.length, `${bodies.length} messages between the two consumers`);
    expect(all().sort()).toEqual([...bodies].sort());
    for (const inbox of inboxes) expect(inbox.messages.length).toBeGreaterThan(0);
    await Promise.all(acks);
  });

  it('prefetch: with a prefetch of 1, in the header this broker reads, the next message waits for the ACK', async () => {
    const queue = unique('queue', 'prefetch');
    const c = await connect();
    for (const body of ['p1', 'p2', 'p3']) await send(c, queue, body);
    const inbox = new Inbox();
    await subscribe(c, queue, inbox, { prefetch: 1 });
    await inbox.waitFor(1);
    await roundTrip(c);
    expect(inbox.messages.map((m) => m.text())).toEqual(['p1']);
    await inbox.messages[0]?.ack();
    await inbox.waitFor(2);
    await inbox.messages[1]?.ack();
    await inbox.waitFor(3);
    expect(inbox.messages.map((m) => m.text())).toEqual(['p1', 'p2', 'p3']);
    await inbox.messages[2]?.ack();
  });

  it('client-individual ack: acknowledging one message leaves the others to be redelivered', async () => {
    const queue = unique('queue', 'individual');
    const producer = await connect();
    for (const body of ['one', 'two', 'three']) await send(producer, queue, body);
    const first = await connect();
    const inbox = new Inbox();
    await subscribe(first, queue, inbox);
    await inbox.waitFor(3);
    await (inbox.messages.find((m) => m.text() === 'two') as StompMessage).ack({ receipt: true });
    await first.close();
    const second = await connect();
    const again = new Inbox();
    await subscribe(second, queue, again);
    await again.waitFor(2);
    expect(again.messages.map((m) => m.text()).sort()).toEqual(['one', 'three']);
    await Promise.all(again.messages.map((m) => m.ack({ receipt: true })));
    // The control: a later message on the same queue. 'two' (acknowledged) would come before it.
    await send(producer, queue, 'control');
    await again.waitFor(3);
    expect(again.messages.map((m) => m.text())).toEqual([expect.any(String), expect.any(String), 'control']);
    await again.messages[2]?.ack({ receipt: true });
  });

  it('redelivery after a consumer dies without DISCONNECT: the next consumer gets it, marked redelivered', async () => {
    const queue = unique('queue', 'redelivery');
    const [doomed, proxy] = await viaProxy({ reconnect: { enabled: false } });
    const inbox = new Inbox();
    await subscribe(doomed, queue, inbox);
    await send(await connect(), queue, 'survives');
    expect((await inbox.next()).redelivered).toBe(false);
    proxy.drop(); // the consumer's socket dies; the message was never acknowledged
    const heir = await connect();
    const again = new Inbox();
    await subscribe(heir, queue, again);
    const message = await again.next();
    expect(message.text()).toBe('survives');
    expect(message.redelivered).toBe(true);
    await message.ack();
  });

  it('NACK: RabbitMQ and the embedded broker redeliver; ActiveMQ dead-letters a persistent message and drops a non-persistent one', async () => {
    const queue = unique('queue', 'nack');
    const c = await connect();
    const nack = quirksOf(c.brokerKind ?? 'unknown').nack;
    const inbox = new Inbox();
    await subscribe(c, queue, inbox);
    const tag = `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    await send(c, queue, 'persistent', { persistent: 'true', paygatetag: tag });
    await send(c, queue, 'transient', { paygatetag: tag });
    await inbox.waitFor(2);
    for (const m of inbox.messages.slice(0, 2)) await m.nack({ receipt: true });
    if (nack === 'requeue') {
      await inbox.waitFor(4);
      const again = inbox.messages.slice(2);
      expect(again.map((m) => m.text()).sort()).toEqual(['persistent', 'transient']);
      for (const m of again) expect(m.redelivered).toBe(true);
      await Promise.all(again.map((m) => m.ack()));
      return;
    }
    expect(c.brokerKind).toBe('activemq');
    // The control: a persistent message sent and NACKed after them, on the same queue. A
    // redelivery would come before it; the dead-lettered ones go to the DLQ before it.
    await send(c, queue, 'control', { persistent: 'true', paygatetag: tag });
    await inbox.waitFor(3);
    expect(inbox.messages[2]?.text()).toBe('control'); // never redelivered
    await inbox.messages[2]?.nack({ receipt: true });
    const dlq = new Inbox();
    await subscribe(c, '/queue/ActiveMQ.DLQ', dlq, { headers: { selector: `paygatetag = '${tag}'` } });
    await dlq.waitFor(2);
    expect(dlq.messages.map((m) => m.text())).toEqual(['persistent', 'control']); // the non-persistent one was dropped
    await Promise.all(dlq.messages.map((m) => m.ack()));
  });

  it('receipts: a confirmed send is delivered; a frame the broker refuses rejects with STOMP_OPERATION_FAILED', async () => {
    const c = await connect({ reconnect: { initialDelayMs: 50 } });
    const queue = unique('queue', 'receipt');
    const inbox = new Inbox();
    await subscribe(c, queue, inbox);
    await expect(send(c, queue, 'confirmed', { persistent: 'true' })).resolves.toBeUndefined();
    expect((await inbox.next()).text()).toBe('confirmed');
    await inbox.messages[0]?.ack();
    const lost = nextEvent(c, 'node-disconnect');
    const back = nextEvent(c, 'node-connect');
    // Every broker refuses to COMMIT a transaction that was never begun, with ERROR then close.
    const refused = c.dispatch((session) => session.send('COMMIT', { transaction: 'never-begun' }, undefined, true));
    const error: unknown = await refused.catch((err: unknown) => err);
    expect(isStompError(error, 'STOMP_OPERATION_FAILED')).toBe(true);
    expect((await lost).error.code).toBe('STOMP_OPERATION_FAILED');
    expect((await back).reconnected).toBe(true);
    await send(c, queue, 'after the error'); // queued until the new session, whose SUBSCRIBE goes first
    expect((await inbox.next()).text()).toBe('after the error');
    await inbox.messages[1]?.ack();
  });

  it('transactions: COMMIT delivers the sends made in it, ABORT discards them', async () => {
    const queue = unique('queue', 'tx');
    const [c, consumer] = await Promise.all([connect(), connect()]);
    const inbox = new Inbox();
    await subscribe(consumer, queue, inbox);
    const committed = c.begin();
    await committed.send(queue, 'c1', { headers: queueHeaders() });
    await committed.send(queue, 'c2', { headers: queueHeaders() });
    // The control: a send outside the transaction, after it, from the same connection to the
    // same queue. Were c1 and c2 delivered before COMMIT, they would come first.
    await send(c, queue, 'control');
    await inbox.waitFor(1);
    await committed.commit();
    await inbox.waitFor(3);
    expect(inbox.messages.map((m) => m.text())).toEqual(['control', 'c1', 'c2']); // nothing before COMMIT
    const aborted = c.begin();
    await aborted.send(queue, 'never', { headers: queueHeaders() });
    await aborted.abort();
    await send(c, queue, 'after abort');
    await inbox.waitFor(4);
    expect(inbox.messages[3]?.text()).toBe('after abort');
    await Promise.all(inbox.messages.map((m) => m.ack()));
  });

  it('temp-queue request/reply across connections: one call for the requester, reply-to as the broker rewrote it', async () => {
    const service = unique('queue', 'rpc');
    const [requester, responder] = await Promise.all([connect(), connect()]);
    const seen: string[] = [];
    await responder.subscribe(
      service,
      async (m) => {
        const replyTo = m.headers['reply-to'] ?? '';
        seen.push(replyTo);
        await responder.send(replyTo, `pong:${m.text()}`, { headers: { 'correlation-id': m.headers['correlation-id'] ?? '' } });
        await m.ack();
      },
      { headers: queueHeaders() },
    ).ready;
    const replies = await Promise.all(
      ['a', 'b', 'c'].map((body) => requester.request(service, body, { timeoutMs: 5_000, headers: queueHeaders() })),
    );
    expect(replies.map((r) => r.text())).toEqual(['pong:a', 'pong:b', 'pong:c']);
    const expected = { rabbitmq: /^\/reply-queue\/amq\.gen-/, activemq: /^\/remote-temp-queue\/ID:/, embedded: /^\/remote-temp-queue\/\S+\.paygate-/ };
    for (const replyTo of seen) expect(replyTo).toMatch(expected[descriptor.name]);
  });

  it('topics: every subscriber gets each message', async () => {
    const topic = unique('topic', 'fanout');
    const [a, b, producer] = await Promise.all([connect(), connect(), connect()]);
    const inboxes = [new Inbox(), new Inbox()];
    await Promise.all([a, b].map((c, i) => c.subscribe(topic, (inboxes[i] as Inbox).handler, { ack: 'auto' }).ready));
    await producer.send(topic, 'to all', { receipt: true });
    for (const inbox of inboxes) expect((await inbox.next()).text()).toBe('to all');
  });

  it('heart-beats: negotiated from CONNECTED as STOMP 1.2 says, and kept flowing both ways while idle', async () => {
    // 1.5 s, not less: ActiveMQ closes a connection that sent nothing for 1.5 intervals, and this
    // test's own process (the proxy's forwarding, our beats) may stall a few hundred ms on a
    // loaded CI machine; the guarantee under test does not depend on the interval's size.
    const ours = { outgoingMs: 1_500, incomingMs: 1_500 };
    const [c, proxy] = await viaProxy({ heartBeat: ours });
    const header = c.session?.['heart-beat'];
    expect(header).toMatch(/^\d+,\d+$/);
    expect(c.heartBeat).toEqual(negotiateHeartBeat(ours, header));
    expect(c.heartBeat?.outgoingMs).toBeGreaterThan(0);
    expect(c.heartBeat?.incomingMs).toBeGreaterThan(0);
    const lost: unknown[] = [];
    c.on('node-disconnect', (event) => lost.push(event.error.code));
    // Idle, only heart-beats (one byte each) cross the proxy. Four each way span at least three
    // intervals by each sender's clock: past the watchdog (1.5 intervals, 2.5 for the first beat)
    // and the broker's own check, which would have cut the connection and stopped the beats.
    const start = { ...proxy.received };
    const beats = (): number => Math.min(proxy.received.fromClient - start.fromClient, proxy.received.fromTarget - start.fromTarget);
    await waitUntil(() => beats() >= 4 || lost.length > 0, 'four heart-beats each way');
    expect(lost).toEqual([]);
    expect(c.connected).toBe(true);
  });

  it('dead peer: a proxy that stops forwarding (no FIN, no RST) is detected within 2× the heart-beat interval', async () => {
    const [c, proxy] = await viaProxy({ heartBeat: { outgoingMs: 300, incomingMs: 300 }, reconnect: { enabled: false } });
    const interval = c.heartBeat?.incomingMs ?? 0;
    expect(interval).toBeGreaterThan(0);
    const ourInterval = c.heartBeat?.outgoingMs ?? 0;
    expect(ourInterval).toBeGreaterThan(0); // our own beats are the clock below
    // Past the first heart-beat, which ActiveMQ sends an interval late: two have come.
    const fromBroker = proxy.received.fromTarget;
    await waitUntil(() => proxy.received.fromTarget - fromBroker >= 2, 'two heart-beats from the broker');
    let falseAlarm = true;
    const lost = nextEvent(c, 'node-disconnect', 20_000).then((event) => {
      falseAlarm = !proxy.frozen;
      return event;
    });
    proxy.freeze();
    const ourBeatsAtFreeze = proxy.received.fromClient;
    const { error } = await lost;
    const ourBeatsMeanwhile = proxy.received.fromClient - ourBeatsAtFreeze;
    expect(error.code).toBe('STOMP_READ_TIMEOUT');
    expect(falseAlarm).toBe(false); // detected only once the peer went silent
    // Timed by our own heart-beats, which the proxy still reads (one byte each): the watchdog
    // (src/stomp/heartbeat.ts) fires once 1.5 intervals passed since the last byte, which arrived
    // before the freeze, checking every quarter interval: at most 1.75 intervals after it. Our
    // client sends at most floor(1.75 × interval / its own interval) + 1 beats in that time, and
    // one more may have been on its way at the freeze. Its timers and the watchdog's run late
    // together on a loaded machine, so the count does not depend on the machine's speed.
    expect(ourBeatsMeanwhile).toBeLessThanOrEqual(Math.floor((1.75 * interval) / ourInterval) + 2);
  });

  it('reconnect: subscriptions come back, and sends made meanwhile are queued up to the bound, then sent', async () => {
    const queue = unique('queue', 'resubscribe');
    const [c, proxy] = await viaProxy({ reconnect: { initialDelayMs: 50, maxDelayMs: 100 }, sendQueueLimit: 2 });
    const inbox = new Inbox();
    await subscribe(c, queue, inbox);
    proxy.refuse();
    const lost = nextEvent(c, 'node-disconnect');
    proxy.drop();
    expect((await lost).error.code).toMatch(/^STOMP_(CLOSED_BY_PEER|IO)$/);
    const queued = [send(c, queue, 'q1'), send(c, queue, 'q2')];
    await expect(send(c, queue, 'q3')).rejects.toMatchObject({ code: 'STOMP_QUEUE_FULL' });
    const back = nextEvent(c, 'node-connect');
    proxy.refuse(false);
    expect((await back).reconnected).toBe(true);
    await Promise.all(queued);
    await inbox.waitFor(2);
    expect(inbox.messages.map((m) => m.text())).toEqual(['q1', 'q2']);
    await Promise.all(inbox.messages.map((m) => m.ack()));
  });
});
