// The stompit patch (patches/stompit+1.0.0.patch) on the broker that needed it: RabbitMQ
// answers a bad login and a SUBSCRIBE to /temp-queue/x with a short text/plain ERROR frame,
// which unpatched stompit turns into an uncaught exception (its `this` was the frame) and a
// connection that never reports anything. Runs when PAYGATE_TEST_BROKERS names rabbitmq; the
// same frame from a scripted server is tested always (connection.test.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { StompConnection } from '../../src/stomp/index.ts';
import { parseTestBrokers } from '../helpers/brokers.ts';
import type { ExternalBroker } from '../helpers/brokers.ts';
import { failure } from './failure.ts';

const rabbit = parseTestBrokers(process.env.PAYGATE_TEST_BROKERS).filter((b): b is ExternalBroker => b.name === 'rabbitmq');


describe('patches/stompit+1.0.0.patch', () => {
  it('is applied to the installed stompit (postinstall: patch-package)', () => {
    const installed = readFileSync(createRequire(import.meta.url).resolve('stompit/lib/Client.js'), 'utf8');
    const patch = readFileSync(new URL('../../patches/stompit+1.0.0.patch', import.meta.url), 'utf8');
    expect(patch).toMatch(/^\+ {4}frame\.on\('end', \(\) => \{$/m);
    expect(installed).toContain("frame.on('end', () => {\n      error.longMessage");
  });
});

describe.each(rabbit)('stompit patch on $name', (broker) => {
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
