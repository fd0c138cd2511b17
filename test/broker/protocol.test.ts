/**
 * The embedded broker driven by raw frames: connection, versions and escaping, login, receipts,
 * heart-beats, DISCONNECT and stop.
 */
import { describe, expect, it } from 'vitest';
import { bodies, RawClient, startBroker, usersWith } from './helpers.ts';

describe('CONNECT', () => {
  it('negotiates the highest common version and answers with session, server and heart-beat', async () => {
    const broker = await startBroker();
    const a = await RawClient.connect(broker, { 'accept-version': '1.0,1.1,1.2' });
    const b = await RawClient.connect(broker, { 'accept-version': '1.1' });
    expect(a.connected.version).toBe('1.2');
    expect(b.connected.version).toBe('1.1');
    expect(a.connected.server).toMatch(/^paygate\//);
    expect(a.connected.session).not.toBe(b.connected.session);
    expect(a.connected['heart-beat']).toBe('0,0');
  });

  it('speaks 1.0 to a client that names no version, and accepts STOMP as CONNECT', async () => {
    const broker = await startBroker();
    const old = await RawClient.open(broker);
    old.write('CONNECT\n\n\0');
    expect((await old.expect('CONNECTED')).headers.version).toBe('1.0');
    const modern = await RawClient.open(broker);
    modern.write('STOMP\naccept-version:1.2\nhost:/\n\n\0');
    expect((await modern.expect('CONNECTED')).headers.version).toBe('1.2');
  });

  it('refuses an unsupported version with ERROR naming the supported ones, then closes', async () => {
    const broker = await startBroker();
    const client = await RawClient.open(broker);
    client.write('CONNECT\naccept-version:2.0\n\n\0');
    const error = await client.expect('ERROR');
    expect(error.headers.version).toBe('1.0,1.1,1.2');
    await client.closed;
  });

  it('checks login and passcode when users are configured', async () => {
    const broker = await startBroker({ users: await usersWith({ alice: { password: 's3cret:x', role: 'operator' } }) });
    await expect(RawClient.connect(broker, { login: 'alice', passcode: 'wrong' })).rejects.toThrow(/authentication failed/);
    await expect(RawClient.connect(broker, { login: 'bob', passcode: 's3cret:x' })).rejects.toThrow(/authentication failed/);
    await expect(RawClient.connect(broker, {})).rejects.toThrow(/authentication failed/);
    const ok = await RawClient.connect(broker, { login: 'alice', passcode: 's3cret:x' });
    expect(ok.connected.version).toBe('1.2');
  });

  it('closes a connection that sends no CONNECT in time', async () => {
    const broker = await startBroker({ connectTimeout: 100 });
    const client = await RawClient.open(broker);
    expect((await client.expect('ERROR')).headers.message).toBe('no CONNECT frame in time');
    await client.closed;
  });

  it('refuses invalid options with BROKER_BAD_OPTION naming them', async () => {
    await expect(startBroker({ maxDeliveries: 0 })).rejects.toMatchObject({ code: 'BROKER_BAD_OPTION', message: /maxDeliveries/ });
    await expect(startBroker({ nonsense: 1 } as never)).rejects.toMatchObject({ code: 'BROKER_BAD_OPTION' });
  });

  it('refuses any other frame before CONNECT', async () => {
    const broker = await startBroker();
    const client = await RawClient.open(broker);
    client.write('SEND\ndestination:/queue/a\n\nx\0');
    expect((await client.expect('ERROR')).headers.message).toMatch(/before CONNECT/);
    await client.closed;
  });
});

describe('escaping and versions', () => {
  it('keeps header values with colons, newlines and backslashes intact for 1.2 and 1.1 clients', async () => {
    const broker = await startBroker();
    for (const version of ['1.2', '1.1']) {
      const client = await RawClient.connect(broker, { 'accept-version': version });
      const value = 'a:b\\c\nd';
      client.send('SUBSCRIBE', { id: 's', destination: `/queue/esc${version}` });
      await client.sendAndConfirm({ destination: `/queue/esc${version}`, 'x-odd:name': value }, 'v');
      const message = await client.expect('MESSAGE');
      expect(message.headers['x-odd:name']).toBe(value);
    }
  });

  it('1.1 acknowledges by message-id and subscription; 1.0 by message-id alone', async () => {
    const broker = await startBroker();
    const v11 = await RawClient.connect(broker, { 'accept-version': '1.1' });
    v11.send('SUBSCRIBE', { id: 'a', destination: '/queue/v11', ack: 'client' });
    await v11.sendAndConfirm({ destination: '/queue/v11' }, 'one');
    const m11 = await v11.expect('MESSAGE');
    expect(m11.headers.ack).toBeUndefined();
    v11.send('ACK', { subscription: 'a', 'message-id': m11.headers['message-id'] ?? '', receipt: 'k' });
    await v11.expect('RECEIPT');

    const v10 = await RawClient.open(broker);
    v10.version = '1.0';
    v10.write('CONNECT\n\n\0');
    await v10.expect('CONNECTED');
    v10.send('SUBSCRIBE', { destination: '/queue/v10', ack: 'client' });
    v10.send('SEND', { destination: '/queue/v10' }, 'two');
    const m10 = await v10.expect('MESSAGE');
    expect(m10.headers.subscription).toBe('/queue/v10');
    v10.send('ACK', { 'message-id': m10.headers['message-id'] ?? '', receipt: 'k10' });
    await v10.expect('RECEIPT');
  });

  it('passes user headers through whatever their names, and keeps broker-owned ones its own', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/names' });
    await client.sendAndConfirm({ destination: '/queue/names', constructor: 'c', toString: 't', 'message-id': 'forged', subscription: 'forged' }, 'x');
    const message = await client.expect('MESSAGE');
    expect([message.headers.constructor, message.headers.toString]).toEqual(['c', 't']);
    expect(message.headers['message-id']).toMatch(/^ID:paygate-/);
    expect(message.headers.subscription).toBe('s');
  });

  it('carries binary bodies with NULs, with content-length in bytes', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    const body = Buffer.from([0, 1, 0, 255, 0]);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/bin' });
    await client.sendAndConfirm({ destination: '/queue/bin', 'content-type': 'application/octet-stream' }, body);
    const message = await client.expect('MESSAGE');
    expect(message.body.equals(body)).toBe(true);
    expect(message.headers['content-length']).toBe('5');
    expect(message.headers['content-type']).toBe('application/octet-stream');
  });
});

describe('receipts, DISCONNECT and stop', () => {
  it('sends RECEIPT for any frame that asks, DISCONNECT included, then closes', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/r', receipt: 'sub' });
    expect((await client.expect('RECEIPT')).headers['receipt-id']).toBe('sub');
    client.send('BEGIN', { transaction: 't', receipt: 'begin' });
    expect((await client.expect('RECEIPT')).headers['receipt-id']).toBe('begin');
    client.send('DISCONNECT', { receipt: 'bye' });
    expect((await client.expect('RECEIPT')).headers['receipt-id']).toBe('bye');
    await client.closed;
  });

  it('puts the receipt-id of the offending frame on ERROR', async () => {
    const broker = await startBroker();
    const client = await RawClient.connect(broker);
    client.send('COMMIT', { transaction: 'never-begun', receipt: 'c1' });
    const error = await client.expect('ERROR');
    expect(error.headers['receipt-id']).toBe('c1');
    expect(error.headers.message).toMatch(/not open/);
  });

  it('stop() sends ERROR to every client, closes them and stops listening', async () => {
    const broker = await startBroker();
    const clients = [await RawClient.connect(broker), await RawClient.connect(broker)];
    await broker.stop();
    for (const client of clients) {
      expect((await client.expect('ERROR')).headers.message).toBe('broker shutting down');
      await client.closed;
    }
    await expect(RawClient.open(broker)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('heart-beats', () => {
  it('negotiates each direction as the larger wish, and 0 when either side says 0', async () => {
    const broker = await startBroker({ heartBeat: [100, 200] });
    const both = await RawClient.connect(broker, { 'heart-beat': '150,50' });
    expect(both.connected['heart-beat']).toBe('100,200');
    const noSend = await RawClient.connect(broker, { 'heart-beat': '0,500' });
    expect(noSend.connected['heart-beat']).toBe('500,0');
  });

  it('sends EOLs when idle, and disconnects a client silent for twice its interval', async () => {
    const broker = await startBroker({ heartBeat: [50, 100] });
    const client = await RawClient.connect(broker, { 'heart-beat': '100,50' });
    const eols: number[] = [];
    client.socket.on('data', (chunk: Buffer) => {
      if (chunk.every((byte) => byte === 0x0a)) eols.push(Date.now());
    });
    const start = Date.now();
    const error = await client.expect('ERROR', 2000);
    expect(error.headers.message).toMatch(/heart-beat/);
    expect(Date.now() - start).toBeGreaterThanOrEqual(190);
    expect(eols.length).toBeGreaterThanOrEqual(2);
    await client.closed;
  });

  it('keeps a client that beats in time', async () => {
    const broker = await startBroker({ heartBeat: [0, 60] });
    const client = await RawClient.connect(broker, { 'heart-beat': '60,0' });
    const beat = setInterval(() => client.write('\n'), 40);
    try {
      expect(await client.quiet(400)).toBe(true);
      expect(client.isClosed).toBe(false);
      client.send('SUBSCRIBE', { id: 's', destination: '/queue/hb' });
      await client.sendAndConfirm({ destination: '/queue/hb' }, 'alive');
      expect(await bodies(client, 1)).toEqual(['alive']);
    } finally {
      clearInterval(beat);
    }
  });
});
