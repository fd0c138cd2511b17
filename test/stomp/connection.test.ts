// The connection layer against a scripted server (test/stomp/fake-server.ts): what real brokers
// cannot be made to do on demand — a short text/plain ERROR (src/stomp/stompit-guard.ts), a missing
// RECEIPT, silence after TCP accept, garbage, a dead node in the list.
import { Socket, createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StompConnection } from '../../src/stomp/index.ts';
import type { StompError, StompMessage, StompOptions } from '../../src/stomp/index.ts';
import { encodeFrame } from '../helpers/brokers.ts';
import { nextTurn, track, waitUntil } from '../helpers/timing.ts';
import { failure } from './failure.ts';
import { FakeStompServer, connected, polite } from './fake-server.ts';

const servers: FakeStompServer[] = [];
const open: StompConnection[] = [];
afterEach(async () => {
  vi.useRealTimers(); // before closing: DISCONNECT waits for its receipt on the real clock
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const start = async (...args: Parameters<typeof FakeStompServer.start>): Promise<FakeStompServer> => {
  const server = await FakeStompServer.start(...args);
  servers.push(server);
  return server;
};
const connect = async (options: StompOptions): Promise<StompConnection> => {
  const connection = await StompConnection.connect(options);
  open.push(connection);
  return connection;
};
/** A port where nothing listens. */
const deadPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};
/** Fakes the timers the connection layer's deadlines use; heart-beats and sockets stay real. */
const fakeDeadlines = (): void => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
};
/** Advances the fake clock by `ms` and lets the I/O and promise callbacks that follow run. */
const elapse = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
  await nextTurn();
};
const at = (port: number): StompOptions['nodes'][number] => ({ host: '127.0.0.1', port, login: 'u', passcode: 'p' });

describe('stompit ERROR handling (src/stomp/stompit-guard.ts)', () => {
  it('a short text/plain ERROR answering CONNECT (RabbitMQ’s bad login) is a typed error with its text, not a crash', async () => {
    const body = 'Access refused for user \'u\'\n';
    const server = await start((frame, reply, socket) => {
      if (frame.command !== 'CONNECT') return;
      const length = String(Buffer.byteLength(body));
      reply(encodeFrame('ERROR', { message: 'Bad CONNECT', 'content-type': 'text/plain', 'content-length': length }, body));
      socket.end();
    });
    const err = await failure(StompConnection.connect({ nodes: [at(server.port)] }));
    expect(err.code).toBe('STOMP_CANNOT_CONNECT');
    expect(err.frame).toEqual({ message: 'Bad CONNECT', body });
    expect(err.message).toMatch(/Bad CONNECT/);
  });

  it('an ERROR while connected ends the session with STOMP_OPERATION_FAILED and fails the pending receipt', async () => {
    const server = await start((frame, reply) => {
      if (frame.command === 'CONNECT') reply(connected());
      if (frame.command === 'SEND') {
        reply(encodeFrame('ERROR', { message: 'refused', 'content-type': 'text/plain', 'content-length': '3', 'receipt-id': frame.headers.receipt ?? '' }, 'no!'));
      }
    });
    const c = await connect({ nodes: [at(server.port)], reconnect: { enabled: false } });
    const closed = new Promise<StompError | undefined>((resolve) => c.once('close', ({ error }) => resolve(error)));
    const err = await failure(c.send('/queue/x', 'body', { receipt: true }));
    expect(err).toMatchObject({ code: 'STOMP_OPERATION_FAILED', frame: { message: 'refused', body: 'no!' } });
    expect((await closed)?.code).toBe('STOMP_OPERATION_FAILED');
  });
});

describe('frames', () => {
  it('SEND carries content-length in bytes: a NUL and multi-byte UTF-8 survive', async () => {
    const server = await start();
    const c = await connect({ nodes: [at(server.port)] });
    const body = 'a\0b — é € 💳';
    await c.send('/queue/x', body, { receipt: true, headers: { 'content-type': 'text/plain;charset=utf-8' } });
    const [send] = server.received('SEND');
    expect(send?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(send?.body).toBe(body);
    await c.send('/queue/x', new Uint8Array([0, 255, 0]), { receipt: true });
    expect(server.received('SEND')[1]?.headers['content-length']).toBe('3');
  });

  it('CONNECT offers STOMP 1.2 with login, passcode, vhost and our heart-beats; prefetch uses no header on an unknown broker', async () => {
    const server = await start();
    const c = await connect({ nodes: [{ ...at(server.port), vhost: 'pay' }], heartBeat: { outgoingMs: 0, incomingMs: 0 } });
    expect(server.received('CONNECT')[0]?.headers).toMatchObject({ 'accept-version': '1.2', host: 'pay', login: 'u', passcode: 'p', 'heart-beat': '0,0' });
    await c.subscribe('/queue/x', () => undefined, { prefetch: 5 }).ready;
    const subscribe = server.received('SUBSCRIBE')[0]?.headers;
    expect(subscribe).toMatchObject({ destination: '/queue/x', ack: 'client-individual', id: 'sub-1' });
    expect(Object.keys(subscribe ?? {}).filter((k) => k.includes('prefetch'))).toEqual([]);
  });
});

describe('sockets', () => {
  it('always disable Nagle (stompit only does with heart-beats on)', async () => {
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay');
    try {
      const server = await start();
      await connect({ nodes: [at(server.port)], heartBeat: { outgoingMs: 0, incomingMs: 0 } });
      expect(spy).toHaveBeenCalledWith(true);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('timeouts and failures', () => {
  it('a RECEIPT that never comes rejects with STOMP_TIMEOUT after receiptTimeoutMs', async () => {
    const server = await start((frame, reply) => {
      if (frame.command === 'CONNECT') reply(connected());
    });
    const c = await connect({ nodes: [at(server.port)], receiptTimeoutMs: 200 });
    fakeDeadlines();
    const sending = c.send('/queue/x', 'b', { receipt: true });
    const progress = track(sending);
    await waitUntil(() => server.received('SEND').length === 1, 'the SEND to reach the server');
    await elapse(199);
    expect(progress.settled()).toBe(false); // not before receiptTimeoutMs
    await elapse(1);
    expect(progress.settled()).toBe(true);
    expect((await failure(sending)).code).toBe('STOMP_TIMEOUT');
  });

  it('a node that accepts TCP but never answers CONNECT fails at connectTimeoutMs', async () => {
    const server = await start(() => undefined);
    fakeDeadlines();
    const connecting = StompConnection.connect({ nodes: [at(server.port)], connectTimeoutMs: 300 });
    const progress = track(connecting);
    await waitUntil(() => server.received('CONNECT').length === 1, 'the CONNECT frame to reach the server');
    await elapse(299);
    expect(progress.settled()).toBe(false); // not before connectTimeoutMs
    await elapse(1);
    expect(progress.settled()).toBe(true);
    const err = await failure(connecting);
    expect(err.code).toBe('STOMP_CANNOT_CONNECT');
  });

  it('fails over past a dead node (node-error event), and gives up with STOMP_CANNOT_CONNECT when all are dead', async () => {
    const [dead, server] = [await deadPort(), await start()];
    const events: string[] = [];
    const c = StompConnection.create({ nodes: [at(dead), at(server.port)], nodeOrder: 'listed' });
    open.push(c);
    c.on('node-error', ({ node, error }) => events.push(`error ${node} ${error.code}`));
    c.on('node-connect', ({ node, reconnected }) => events.push(`connect ${node} ${reconnected}`));
    await c.start();
    expect(c.node).toBe(`127.0.0.1:${server.port}`);
    expect(events).toEqual([`error 127.0.0.1:${dead} STOMP_CANNOT_CONNECT`, `connect 127.0.0.1:${server.port} false`]);
    const all = await failure(StompConnection.connect({ nodes: [at(dead), at(dead)], initialAttempts: 4, reconnect: { initialDelayMs: 10 } }));
    expect(all.code).toBe('STOMP_CANNOT_CONNECT');
    expect(all.message).toMatch(/after 4 attempt/);
  });

  it('garbage from the broker is STOMP_UNEXPECTED_DATA; a close without ERROR is STOMP_CLOSED_BY_PEER', async () => {
    const server = await start(polite);
    const c = await connect({ nodes: [at(server.port)], reconnect: { initialDelayMs: 20 } });
    const codes: string[] = [];
    c.on('node-disconnect', ({ error }) => codes.push(error.code));
    const reconnected = (): Promise<void> => new Promise((resolve) => c.once('node-connect', () => resolve()));
    let back = reconnected();
    for (const socket of server.sockets) socket.write('GARBAGE\nno-colon-here\n\n\0');
    await back;
    back = reconnected();
    for (const socket of server.sockets) socket.destroy();
    await back;
    expect(codes).toEqual(['STOMP_UNEXPECTED_DATA', 'STOMP_CLOSED_BY_PEER']);
  });

  it('after close(), operations reject with STOMP_CLOSED_BY_US', async () => {
    const server = await start();
    const c = await connect({ nodes: [at(server.port)] });
    await c.close();
    expect((await failure(c.send('/queue/x', 'b'))).code).toBe('STOMP_CLOSED_BY_US');
    expect(server.received('DISCONNECT')).toHaveLength(1);
  });
});

describe('after a lost connection', () => {
  /** polite, plus one MESSAGE for each SUBSCRIBE. */
  const withMessage: Parameters<typeof FakeStompServer.start>[0] = (frame, reply, socket) => {
    polite(frame, reply, socket);
    if (frame.command !== 'SUBSCRIBE') return;
    const id = frame.headers.id ?? '';
    reply(encodeFrame('MESSAGE', { subscription: id, 'message-id': 'm1', ack: `ack-${id}`, destination: '/queue/x', 'content-length': '2' }, 'hi'));
  };

  it('ACK of a message from the lost connection rejects with STOMP_STALE_MESSAGE (no ACK is sent)', async () => {
    const server = await start(withMessage);
    const c = await connect({ nodes: [at(server.port)], reconnect: { initialDelayMs: 10 } });
    const messages: StompMessage[] = [];
    await new Promise<void>((first) => {
      c.subscribe('/queue/x', (m) => {
        messages.push(m);
        if (messages.length === 1) first();
      });
    });
    const second = waitUntil(() => messages.length === 2, 'the message delivered again on the new session');
    for (const socket of server.sockets) socket.destroy();
    await second; // re-subscribed on the new session, which delivered again
    expect((await failure(messages[0]!.ack())).code).toBe('STOMP_STALE_MESSAGE');
    await messages[1]!.ack({ receipt: true });
    expect(server.received('ACK').map((f) => f.headers.id)).toEqual(['ack-sub-1']);
  });

  it('a handler that throws is reported as handler-error; the message stays unacknowledged', async () => {
    const server = await start(withMessage);
    const c = await connect({ nodes: [at(server.port)] });
    const reported = new Promise<unknown>((resolve) => c.once('handler-error', ({ error }) => resolve(error)));
    c.subscribe('/queue/x', () => {
      throw new Error('handler bug');
    });
    expect(await reported).toMatchObject({ message: 'handler bug' });
    expect(server.received('ACK')).toEqual([]);
  });

  it('gives up after reconnect.maxAttempts: close event with STOMP_CANNOT_CONNECT, queued sends fail with it', async () => {
    const server = await start();
    const c = await connect({ nodes: [at(server.port)], reconnect: { initialDelayMs: 10, maxAttempts: 2 } });
    const closed = new Promise<StompError | undefined>((resolve) => c.once('close', ({ error }) => resolve(error)));
    const lost = new Promise<void>((resolve) => c.once('node-disconnect', () => resolve()));
    await server.close();
    await lost;
    const queued = failure(c.send('/queue/x', 'waits', { receipt: true }));
    expect((await closed)?.code).toBe('STOMP_CANNOT_CONNECT');
    expect((await queued).code).toBe('STOMP_CANNOT_CONNECT');
    expect(c.connected).toBe(false);
  });
});
