// The stompit fix (src/stomp/stompit-guard.ts), installed at run time by importing the stomp
// layer: stompit 1.0's ERROR handler destroyed `this` where `this` was the frame, so RabbitMQ's
// short text/plain ERROR frames (a bad login, a SUBSCRIBE to /temp-queue/x) crashed the process
// with an uncaught TypeError and the connection never reported anything. node_modules holds
// stompit as published (no install-time patch): these tests fail if the guard is not in place.
// The RabbitMQ part runs when PAYGATE_TEST_BROKERS names rabbitmq; the same frames from a
// scripted server run always (here on stompit's own client, in connection.test.ts through
// StompConnection).
import { connect as tcpConnect } from 'node:net';
import { Duplex } from 'node:stream';
import Client from 'stompit/lib/Client.js';
import { afterEach, describe, expect, it } from 'vitest';
import { StompConnection } from '../../src/stomp/index.ts';
import { onErrorFrame } from '../../src/stomp/stompit-guard.ts';
import { encodeFrame, parseTestBrokers } from '../helpers/brokers.ts';
import type { ExternalBroker } from '../helpers/brokers.ts';
import { failure } from './failure.ts';
import { FakeStompServer } from './fake-server.ts';

const rabbit = parseTestBrokers(process.env.PAYGATE_TEST_BROKERS).filter((b): b is ExternalBroker => b.name === 'rabbitmq');

/** stompit's internal handler table: the very thing the guard replaces an entry of. */
type WithHandlers = { _commandHandlers: Record<string, unknown> };

/** What stompit's client emits as `error` for an ERROR frame. */
type StompitError = Error & { longMessage?: string; isApplicationError?: () => boolean };

/** The error as the client emitted it: stompit re-marks the same object a transport error a tick later. */
interface Emitted {
  readonly message: string;
  readonly application: boolean | undefined;
  readonly longMessage: string | undefined;
}

describe('the stompit guard', () => {
  let server: FakeStompServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('is stompit’s ERROR handler once the client connects, and after CONNECTED', () => {
    const client = new Client(new Duplex({ read: () => undefined, write: (_chunk, _encoding, done) => done() }));
    client.connect({ host: '/' });
    expect((client as unknown as WithHandlers)._commandHandlers.ERROR).toBe(onErrorFrame);
    (client as Client & Client.Corrections).destroy();
  });

  /** A raw stompit client answered `frame` at CONNECT: the error it emits. */
  async function errorAtConnect(frame: Buffer): Promise<Emitted> {
    server = await FakeStompServer.start((_frame, reply) => reply(frame));
    const socket = tcpConnect(server.port, '127.0.0.1');
    const client = new Client(socket);
    const emitted = new Promise<Emitted>((resolve) =>
      client.once('error', (e: StompitError) => resolve({ message: e.message, application: e.isApplicationError?.(), longMessage: e.longMessage })),
    );
    client.connect({ host: '/' });
    return emitted;
  }

  it('a short text/plain ERROR is an application error carrying the text, not a crash', async () => {
    const body = 'Access refused for user \'x\'\n';
    const error = await errorAtConnect(encodeFrame('ERROR', { message: 'Bad CONNECT', 'content-type': 'text/plain', 'content-length': String(body.length) }, body));
    expect(error.message).toBe('Bad CONNECT');
    expect(error.application).toBe(true);
    expect(error.longMessage).toBe(body);
  });

  it('an ERROR without a text body is an application error without longMessage', async () => {
    const error = await errorAtConnect(encodeFrame('ERROR', { message: 'nope' }));
    expect(error.message).toBe('nope');
    expect(error.application).toBe(true);
    expect(error.longMessage).toBeUndefined();
  });
});

describe.each(rabbit)('stompit guard on $name', (broker) => {
  const node = { host: broker.host, port: broker.port, login: broker.login, passcode: broker.passcode, vhost: broker.vhost };

  it('a bad login is STOMP_CANNOT_CONNECT carrying the ERROR frame’s message and text body', async () => {
    const err = await failure(StompConnection.connect({ nodes: [{ ...node, passcode: 'wrong' }], connectTimeoutMs: 5_000 }));
    expect(err.code).toBe('STOMP_CANNOT_CONNECT');
    expect(err.frame?.message).toMatch(/access refused|bad connect|login/i);
    expect(err.frame?.body.length).toBeGreaterThan(0);
  });

  it('a SUBSCRIBE to /temp-queue/x is refused with STOMP_OPERATION_FAILED and the connection recovers', async () => {
    const c = await StompConnection.connect({ nodes: [node], reconnect: { initialDelayMs: 20 } });
    try {
      const back = new Promise<void>((resolve) => c.once('node-connect', () => resolve()));
      const err = await failure(c.dispatch((s) => s.subscribe('raw', { destination: '/temp-queue/x', ack: 'auto' }, () => undefined)));
      expect(err.code).toBe('STOMP_OPERATION_FAILED');
      expect(err.frame?.body.length).toBeGreaterThan(0);
      await back;
      expect(c.connected).toBe(true);
    } finally {
      await c.close();
    }
  });
});
