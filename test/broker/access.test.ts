/**
 * Access control on raw STOMP sockets: logins, each built-in role allowed and refused, extra
 * rights, the reply-queue rules, ACK of another connection's message, and the rule that a
 * broker without users only listens on loopback.
 */
import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker, isLoopback } from '../../src/broker/index.ts';
import type { UsersConfig } from '../../src/broker/index.ts';
import { RawClient, startBroker, usersWith } from './helpers.ts';

let users: UsersConfig;
const PASSWORDS = {
  'shop-1': 'shop one',
  'shop-2': 'shop two',
  worker: 'w0rk:er',
  ops: 'operator pw',
  audit: 'audit pw',
  tools: 'tools pw',
  mute: 'mute pw',
} as const;
type Login = keyof typeof PASSWORDS;

beforeAll(async () => {
  users = await usersWith({
    'shop-1': { password: PASSWORDS['shop-1'], role: 'storefront' },
    'shop-2': { password: PASSWORDS['shop-2'], role: 'storefront' },
    worker: { password: PASSWORDS.worker, role: 'worker' },
    ops: { password: PASSWORDS.ops, role: 'operator' },
    audit: { password: PASSWORDS.audit, role: 'audit' },
    tools: { password: PASSWORDS.tools, read: ['/queue/tools.>'], write: ['/queue/tools.*', '/topic/paygate.events'] },
    mute: { password: PASSWORDS.mute, role: 'worker', reply: false },
  });
});

const login = (broker: EmbeddedBroker, who: Login): Promise<RawClient> => RawClient.connect(broker, { login: who, passcode: PASSWORDS[who] });

/** The next frame is ERROR BROKER_FORBIDDEN naming `who` and `destination`, and the connection closes. */
async function expectForbidden(client: RawClient, who: Login, action: 'SEND' | 'SUBSCRIBE', destination: string): Promise<void> {
  const error = await client.expect('ERROR');
  expect(error.headers.code).toBe('BROKER_FORBIDDEN');
  expect(error.headers.message).toBe(`forbidden: login ${who} may not ${action} to ${destination}`);
  expect(`${JSON.stringify(error.headers)}${error.body.toString()}`).not.toContain(PASSWORDS[who]);
  await client.closed;
}

/** `who` may SEND to `destination`: the RECEIPT comes back and the connection stays. */
async function sends(broker: EmbeddedBroker, who: Login, destination: string): Promise<void> {
  const client = await login(broker, who);
  await client.sendAndConfirm({ destination }, `from ${who}`);
  client.destroy();
}

async function refusedSend(broker: EmbeddedBroker, who: Login, destination: string): Promise<void> {
  const client = await login(broker, who);
  client.send('SEND', { destination, receipt: 'r' }, 'x');
  await expectForbidden(client, who, 'SEND', destination);
}

/** `who` may SUBSCRIBE to `destination`: the subscription's receipt comes back. */
async function subscribes(broker: EmbeddedBroker, who: Login, destination: string): Promise<RawClient> {
  const client = await login(broker, who);
  client.send('SUBSCRIBE', { id: 's', destination, ack: 'client-individual', receipt: 'sub' });
  await client.waitReceipt('sub');
  return client;
}

async function refusedSubscribe(broker: EmbeddedBroker, who: Login, destination: string): Promise<void> {
  const client = await login(broker, who);
  client.send('SUBSCRIBE', { id: 's', destination, receipt: 'sub' });
  await expectForbidden(client, who, 'SUBSCRIBE', destination);
}

describe('logins', () => {
  it('refuses an anonymous CONNECT, an unknown login, a wrong and a missing passcode alike (BROKER_AUTH_FAILED)', async () => {
    const broker = await startBroker({ users });
    const codes: string[] = [];
    broker.on('clientError', (error) => codes.push(error.code));
    const attempts: Array<Record<string, string>> = [{}, { login: 'nobody', passcode: 'shop one' }, { login: 'shop-1', passcode: 'shop two' }, { login: 'shop-1' }];
    for (const headers of attempts) {
      const client = await RawClient.open(broker);
      client.send('CONNECT', { 'accept-version': '1.2', host: '/', ...headers });
      const error = await client.expect('ERROR');
      expect(error.headers).toMatchObject({ code: 'BROKER_AUTH_FAILED', message: 'authentication failed' });
      expect(error.body.toString()).toBe('unknown login or wrong passcode');
      await client.closed;
    }
    expect(codes).toEqual(['BROKER_AUTH_FAILED', 'BROKER_AUTH_FAILED', 'BROKER_AUTH_FAILED', 'BROKER_AUTH_FAILED']);
    expect(broker.stats.authFailures).toBe(4);
    expect((await login(broker, 'shop-1')).connected.version).toBe('1.2');
  });

  it('handles frames pipelined behind CONNECT after the password check, and none behind a refused one', async () => {
    const broker = await startBroker({ users });
    const ops = await subscribes(broker, 'ops', '/queue/paygate.card');
    const bad = await RawClient.open(broker);
    bad.write(`CONNECT\naccept-version:1.2\nlogin:shop-1\npasscode:wrong\n\n\0SEND\ndestination:/queue/paygate.card\n\nsneaked\0`);
    expect((await bad.expect('ERROR')).headers.code).toBe('BROKER_AUTH_FAILED');
    await bad.closed;
    const good = await RawClient.open(broker);
    const connect = `CONNECT\naccept-version:1.2\nlogin:shop-1\npasscode:shop one\n\n\0`;
    good.write(`${connect}SEND\ndestination:/queue/paygate.card\n\npipelined\0SEND\ndestination:/queue/paygate.card\nreceipt:r\n\nsecond\0`);
    await good.expect('CONNECTED');
    await good.expect('RECEIPT');
    // Only the pipelined messages of the accepted login arrive, in order.
    expect((await ops.expect('MESSAGE')).body.toString()).toBe('pipelined');
    expect((await ops.expect('MESSAGE')).body.toString()).toBe('second');
  });
});

describe('built-in roles (prefix paygate.)', () => {
  it('storefront: sends requests; nothing else', async () => {
    const broker = await startBroker({ users });
    await sends(broker, 'shop-1', '/queue/paygate.card');
    await refusedSend(broker, 'shop-1', '/queue/paygate.card.dlq');
    await refusedSend(broker, 'shop-1', '/queue/other');
    await refusedSend(broker, 'shop-1', '/topic/paygate.events');
    await refusedSubscribe(broker, 'shop-1', '/queue/paygate.card');
    await refusedSubscribe(broker, 'shop-1', '/queue/paygate.card.dlq');
    await refusedSubscribe(broker, 'shop-1', '/topic/paygate.events');
    expect(broker.stats.forbidden).toBe(6);
  });

  it('worker: consumes requests and writes dead letters; cannot read dead letters, send requests or use topics', async () => {
    const broker = await startBroker({ users });
    const worker = await subscribes(broker, 'worker', '/queue/paygate.card');
    await sends(broker, 'shop-1', '/queue/paygate.card');
    expect((await worker.expect('MESSAGE')).body.toString()).toBe('from shop-1');
    await sends(broker, 'worker', '/queue/paygate.card.dlq');
    await refusedSend(broker, 'worker', '/queue/paygate.card');
    await refusedSend(broker, 'worker', '/queue/paygate.card.dlq.dlq');
    await refusedSubscribe(broker, 'worker', '/queue/paygate.card.dlq');
    await refusedSubscribe(broker, 'worker', '/topic/paygate.events');
    await refusedSend(broker, 'worker', '/topic/paygate.events');
  });

  it('operator: reads and re-drives every paygate queue, DLQs included; no topics, nothing outside the prefix', async () => {
    const broker = await startBroker({ users });
    await sends(broker, 'worker', '/queue/paygate.card.dlq');
    const ops = await subscribes(broker, 'ops', '/queue/paygate.card.dlq');
    expect((await ops.expect('MESSAGE')).body.toString()).toBe('from worker');
    await sends(broker, 'ops', '/queue/paygate.card');
    await subscribes(broker, 'ops', '/queue/paygate.card');
    await refusedSubscribe(broker, 'ops', '/topic/paygate.events');
    await refusedSend(broker, 'ops', '/queue/other');
  });

  it('audit: reads the paygate topics only', async () => {
    const broker = await startBroker({ users });
    const audit = await subscribes(broker, 'audit', '/topic/paygate.events');
    await sends(broker, 'tools', '/topic/paygate.events');
    expect((await audit.expect('MESSAGE')).body.toString()).toBe('from tools');
    await subscribes(broker, 'audit', '/topic/paygate.audit.trail');
    await refusedSend(broker, 'audit', '/topic/paygate.events');
    await refusedSubscribe(broker, 'audit', '/queue/paygate.card');
    await refusedSubscribe(broker, 'audit', '/topic/other');
  });

  it('a login with its own rights and no role gets exactly those', async () => {
    const broker = await startBroker({ users });
    await subscribes(broker, 'tools', '/queue/tools.a.b');
    await sends(broker, 'tools', '/queue/tools.a');
    await refusedSend(broker, 'tools', '/queue/tools.a.b');
    await refusedSubscribe(broker, 'tools', '/queue/paygate.card');
  });

  it('the prefix moves every role’s rights', async () => {
    const broker = await startBroker({ users: await usersWith({ shop: { password: 'p', role: 'storefront' } }, 'shop.') });
    const shop = await RawClient.connect(broker, { login: 'shop', passcode: 'p' });
    await shop.sendAndConfirm({ destination: '/queue/shop.card' });
    shop.send('SEND', { destination: '/queue/paygate.card' });
    expect((await shop.expect('ERROR')).headers.code).toBe('BROKER_FORBIDDEN');
  });
});

describe('reply queues', () => {
  /** shop-1 sends a request with a private reply queue; returns the global reply-to the worker sees. */
  async function request(broker: EmbeddedBroker): Promise<{ shop: RawClient; replyTo: string }> {
    const worker = await subscribes(broker, 'worker', '/queue/paygate.card');
    const shop = await login(broker, 'shop-1');
    await shop.sendAndConfirm({ destination: '/queue/paygate.card', 'reply-to': '/temp-queue/replies' }, 'request');
    const replyTo = (await worker.expect('MESSAGE')).headers['reply-to'] as string;
    expect(replyTo).toBe(`/remote-temp-queue/${shop.connected.session}.replies`);
    worker.destroy();
    return { shop, replyTo };
  }

  it('a worker answers into the requester’s temp queue, and the requester reads it', async () => {
    const broker = await startBroker({ users });
    const { shop, replyTo } = await request(broker);
    await sends(broker, 'worker', replyTo);
    expect((await shop.expect('MESSAGE')).body.toString()).toBe('from worker');
  });

  it('another login of the same role, another connection of the same login, an operator and a worker without reply cannot read it nor send into it', async () => {
    const broker = await startBroker({ users });
    const { shop, replyTo } = await request(broker);
    await refusedSubscribe(broker, 'shop-2', replyTo);
    await refusedSubscribe(broker, 'shop-1', replyTo);
    await refusedSubscribe(broker, 'worker', replyTo);
    await refusedSend(broker, 'shop-2', replyTo);
    await refusedSend(broker, 'shop-1', replyTo);
    await refusedSend(broker, 'ops', replyTo);
    await refusedSend(broker, 'mute', replyTo);
    // Positive control: the queue was alive all along and only the worker's reply reaches it.
    await sends(broker, 'worker', replyTo);
    expect((await shop.expect('MESSAGE')).body.toString()).toBe('from worker');
  });

  it('refuses by rights before existence: a SEND into a temp queue that is gone is still forbidden without reply', async () => {
    const broker = await startBroker({ users });
    const { shop, replyTo } = await request(broker);
    shop.send('DISCONNECT', { receipt: 'bye' });
    await shop.closed;
    await refusedSend(broker, 'shop-2', replyTo);
    await refusedSend(broker, 'shop-2', '/remote-temp-queue/never-existed.x');
    await refusedSubscribe(broker, 'shop-2', '/remote-temp-queue/never-existed.x');
    // With the right it is accepted and dropped, as before: a responder keeps its connection.
    await sends(broker, 'worker', replyTo);
  });

  it('every login reads and writes its own temp queues', async () => {
    const broker = await startBroker({ users });
    const audit = await login(broker, 'audit');
    audit.send('SUBSCRIBE', { id: 'mine', destination: '/temp-queue/mine' });
    await audit.sendAndConfirm({ destination: '/temp-queue/mine' }, 'to myself');
    expect((await audit.expect('MESSAGE')).body.toString()).toBe('to myself');
  });
});

describe('ACK and NACK', () => {
  it('a second connection of the same login cannot ACK or NACK the first one’s message', async () => {
    const broker = await startBroker({ users });
    const first = await subscribes(broker, 'worker', '/queue/paygate.card');
    await sends(broker, 'shop-1', '/queue/paygate.card');
    const held = await first.expect('MESSAGE');
    for (const command of ['ACK', 'NACK']) {
      const second = await subscribes(broker, 'worker', '/queue/paygate.card');
      second.send(command, { id: held.headers.ack as string });
      const error = await second.expect('ERROR');
      expect(error.headers.message).toBe(`${command} of a message this connection does not hold unacknowledged`);
      await second.closed;
    }
    // The first connection still holds it: giving it back redelivers it, so the ACK above settled nothing.
    first.send('NACK', { id: held.headers.ack as string });
    const third = await subscribes(broker, 'worker', '/queue/paygate.card');
    const again = await Promise.race([first.expect('MESSAGE'), third.expect('MESSAGE')]);
    expect(again.headers['message-id']).toBe(held.headers['message-id']);
    expect(again.headers.redelivered).toBe('true');
  });
});

describe('without users', () => {
  it('lets anyone do anything on loopback', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker, {});
    client.send('SUBSCRIBE', { id: 'a', destination: '/queue/paygate.card.dlq' });
    await client.sendAndConfirm({ destination: '/queue/paygate.card.dlq' }, 'anything');
    expect((await client.expect('MESSAGE')).body.toString()).toBe('anything');
  });

  it('refuses a non-loopback host before listening (BROKER_BAD_OPTION), and accepts it with users', async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '0.0.0.0', resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    for (const host of ['0.0.0.0', '::']) {
      const error = await EmbeddedBroker.start({ host, port }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BROKER_BAD_OPTION', message: expect.stringMatching(/^host .* is not loopback and no users are configured/) });
    }
    // Nothing listens on that port: we can take it ourselves.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '0.0.0.0', resolve));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const exposed = await startBroker({ host: '0.0.0.0', users });
    await expect(RawClient.connect({ host: '127.0.0.1', port: exposed.port }, {})).rejects.toThrow(/authentication failed/);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '127.0.0.256', 'localhost.example.com', 'example.com', '::ffff:10.0.0.1']) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});
