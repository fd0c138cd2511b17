/**
 * The client SDK end to end, part 2 (see gateway.test.ts): 200 concurrent requests, connecting,
 * closing, and losing the connection. Reply verification: reply-verification.test.ts.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createGateway, NotSentError, TimeoutError, ValidationError } from '../../src/client/index.ts';
import { StompError } from '../../src/stomp/index.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { runCounting } from './responder.ts';
import { track } from '../helpers/timing.ts';
import { CARD, EUR, HeldAnswers, rejection, useGatewayFixture } from './support.ts';

const f = useGatewayFixture();

describe('concurrency', () => {
  it('matches 200 concurrent requests to their own callers when replies come in shuffled order', async () => {
    const count = 200;
    const held: (() => void)[] = [];
    f.responder.answer = async (request) => {
      await new Promise<void>((release) => {
        held.push(release);
        if (held.length === count) {
          // Fisher–Yates, then release every answer in that order.
          for (let i = held.length - 1; i > 0; i--) {
            const j = Math.floor(Math.random() * (i + 1));
            [held[i], held[j]] = [held[j] as () => void, held[i] as () => void];
          }
          for (const go of held) go();
        }
      });
      const order = (request.document.payload as { order_id: string }).order_id;
      return { status: 'approved', result: { authorization_id: `auth_${order.slice(4)}`, amount: EUR(Number(order.slice(4))) } };
    };
    const replies = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        f.gateway.request('counting', 'authorize', { amount: EUR(i + 1), card: CARD, order_id: `ord-${i + 1}` }, { idempotencyKey: `c-${i + 1}` }),
      ),
    );
    replies.forEach((reply, i) => {
      expect(reply.idempotencyKey).toBe(`c-${i + 1}`);
      expect(reply.result).toEqual({ authorization_id: `auth_${i + 1}`, amount: EUR(i + 1) });
    });
    expect(new Set(replies.map((r) => r.requestId)).size).toBe(count);
    expect(f.gateway.inFlight).toBe(0);
  }, 30_000);
});

describe('connection and lifecycle', () => {
  it('createGateway rejects with NotSentError unreachable when no broker listens', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await new Promise((resolve) => server.close(resolve));
    const error = await rejection(
      createGateway(f.options({ brokers: { nodes: [{ host: '127.0.0.1', port: address.port }], connectTimeoutMs: 1_000 } })),
    );
    expect(error).toBeInstanceOf(NotSentError);
    expect(error).toMatchObject({ reason: 'unreachable' });
    expect((error as NotSentError).cause).toBeInstanceOf(StompError);
  });

  it('createGateway refuses key material that does not fit, naming the option', async () => {
    const error = await rejection(createGateway(f.options({ identity: { cert: f.pki.client.certPem, key: f.pki.gateway.keyPem } })));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('identity');
  });

  it('close() waits for requests in flight, then refuses new ones with NotSentError closed', async () => {
    const own = await f.ownGateway();
    const slow = new HeldAnswers().hold('held-for-close');
    f.responder.answer = slow.answer;
    const inFlight = own.request('counting', 'status', { authorization_id: 'auth_1' }, { idempotencyKey: 'held-for-close' });
    await f.responder.waitFor(1);
    expect(own.inFlight).toBe(1);
    const closing = own.close(600_000);
    const progress = track(closing);
    expect(own.close()).toBe(closing);
    expect(own.closed).toBe(true);
    const refused = await rejection(own.ping('counting'));
    expect(refused).toBeInstanceOf(NotSentError);
    expect(refused).toMatchObject({ reason: 'closed' });
    // The control: a whole round trip through the broker and the responder, after which a close
    // that did not wait would have finished. The held reply is the only thing it can wait for.
    await f.gateway.ping('counting');
    expect(progress.settled()).toBe(false);
    slow.release('held-for-close');
    // The responder runs the counting plugin: no such authorization, a decline.
    await expect(inFlight).resolves.toMatchObject({ status: 'declined', error: { code: 'INVALID_AUTHORIZATION' } });
    await closing;
    expect(own.inFlight).toBe(0);
  });

  it("close() gives up on requests still in flight at its deadline (TimeoutError closed)", async () => {
    const own = await f.ownGateway();
    f.responder.answer = () => undefined; // never answers
    // The request's own timeout lies beyond the test's: only close() can end it.
    const inFlight = rejection(own.request('counting', 'status', { authorization_id: 'auth_1' }, { timeoutMs: 600_000 }));
    await f.responder.waitFor(1);
    await own.close(200);
    const error = await inFlight;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ reason: 'closed', outcome: 'unknown' });
  });

  it('fails requests in flight at once when the connection drops, and sends again after reconnecting', async () => {
    const proxy = await TcpProxy.start(f.broker.descriptor.host, f.broker.descriptor.port);
    try {
      const own = await f.ownGateway({
        brokers: { nodes: [f.node('storefront', proxy)], connectTimeoutMs: 3_000, reconnect: { initialDelayMs: 50 } },
      });
      const lost = once(own, 'connection-lost');
      const reconnected = once(own, 'reconnected');
      f.responder.answer = () => undefined; // the reply could only come on the dead connection's queue anyway
      // The request's own timeout lies beyond the test's: only the lost connection can end it.
      const order: string[] = [];
      const inFlight = rejection(own.request('counting', 'status', { authorization_id: 'auth_1' }, { timeoutMs: 600_000 }));
      void inFlight.then(() => order.push('request failed'));
      void reconnected.then(() => order.push('reconnected'));
      await f.responder.waitFor(1);
      proxy.drop();
      const error = await inFlight;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ reason: 'connection-lost', outcome: 'unknown' });
      const [event] = (await lost) as [{ failedRequests: number; error: unknown }];
      expect(event.failedRequests).toBe(1);
      expect(event.error).toBeInstanceOf(StompError);
      await reconnected;
      expect(order).toEqual(['request failed', 'reconnected']); // at once: not after reconnecting
      f.responder.answer = runCounting;
      await expect(own.ping('counting')).resolves.toMatchObject({ status: 'approved' });
    } finally {
      await proxy.close();
    }
  });

  it('once the connection gives up, reports it on error and refuses requests with NotSentError unreachable', async () => {
    const proxy = await TcpProxy.start(f.broker.descriptor.host, f.broker.descriptor.port);
    try {
      const own = await f.ownGateway({
        brokers: { nodes: [f.node('storefront', proxy)], connectTimeoutMs: 1_000, reconnect: { initialDelayMs: 10, maxAttempts: 1 } },
      });
      const reported = once(own, 'error');
      proxy.refuse();
      proxy.drop();
      const [error] = (await reported) as [unknown];
      expect(error).toBeInstanceOf(NotSentError);
      const refused = await rejection(own.ping('counting'));
      expect(refused).toBeInstanceOf(NotSentError);
      expect(refused).toMatchObject({ reason: 'unreachable' });
    } finally {
      await proxy.close();
    }
  });
});
