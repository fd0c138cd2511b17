/**
 * The client SDK end to end: a real gateway against the embedded broker and a real dev PKI,
 * with a test responder (test/client/responder.ts) standing in for the worker.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  createGateway, NotSentError, RemoteError, ReplyVerificationError, TimeoutError, ValidationError, type Gateway, type GatewayOptions,
  type LateReplyEvent,
} from '../../src/client/index.ts';
import { defineProvider, scrubCardNumbers } from '../../src/providers/index.ts';
import { StompError } from '../../src/stomp/index.ts';
import { Certificate, loadIdentity } from '../../src/wire/index.ts';
import { counter, counting } from '../fixtures/counting-provider.ts';
import { parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { makeForeignPki, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { nodeOf } from '../integration/support.ts';
import { flipBase64, runCounting, TestResponder, type Answer, type ReceivedRequest } from './responder.ts';

const PAN = '4111111111111111';
const CARD = { number: PAN, exp_month: 12, exp_year: 2030, cvc: '737' };
const EUR = (value: number) => ({ value, currency: 'EUR' });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const [embedded] = parseTestBrokers('embedded');
let broker: TestBroker;
let pki: TestPki;
let responder: TestResponder;
let gateway: Gateway<readonly [typeof counting]>;
const extraGateways: Gateway[] = [];

function options(overrides: Partial<GatewayOptions<readonly [typeof counting]>> = {}): GatewayOptions<readonly [typeof counting]> {
  return {
    brokers: { nodes: [nodeOf(broker.descriptor)], connectTimeoutMs: 3_000 },
    identity: { cert: pki.client.certPem, key: pki.client.keyPem },
    gatewayCertificates: [pki.gateway.certPem],
    trust: pki.ca.certPem,
    providers: [counting] as const,
    defaultTimeoutMs: 5_000,
    ...overrides,
  };
}

/** A gateway of its own for one test, closed after the file. */
async function ownGateway(overrides: Partial<GatewayOptions<readonly [typeof counting]>> = {}): Promise<Gateway<readonly [typeof counting]>> {
  const made = await createGateway(options(overrides));
  extraGateways.push(made as unknown as Gateway);
  return made;
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${inspect(value)}`);
    },
    (error: unknown) => error,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The counting plugin's answer, given after `ms` (a slow worker). */
const after =
  (ms: number) =>
  async (request: ReceivedRequest): Promise<Answer> => {
    await sleep(ms);
    return runCounting(request);
  };

beforeAll(async () => {
  if (embedded === undefined) throw new Error('no embedded broker descriptor');
  [broker, pki] = await Promise.all([startTestBroker(embedded), makeTestPki()]);
  responder = await TestResponder.start({
    brokers: { nodes: [nodeOf(broker.descriptor)] },
    gateway: pki.gateway,
    caPem: pki.ca.certPem,
  });
  gateway = await createGateway(options());
});

afterAll(async () => {
  await Promise.all([gateway?.close(1_000), ...extraGateways.map((g) => g.close(1_000))]);
  await responder?.close();
  await broker?.stop();
});

beforeEach(() => {
  responder.reset();
  counter.reset();
});

afterEach(() => {
  expect(responder.failures).toEqual([]);
});

describe('request round trip', () => {
  it('resolves an approved reply with its typed result; the card reaches the worker intact, encrypted on the wire', async () => {
    const reply = await gateway.request('counting', 'authorize', { amount: EUR(1999), card: CARD, order_id: 'ord-1' }, {
      idempotencyKey: 'ord-1-auth',
    });
    expect(reply.status).toBe('approved');
    if (reply.status !== 'approved') throw new Error('not approved');
    expect(reply.result).toEqual({ authorization_id: 'auth_1', amount: EUR(1999) });
    expect(reply.requestId).toMatch(UUID);
    expect(reply.idempotencyKey).toBe('ord-1-auth');
    expect(reply.replyId).toMatch(UUID);
    expect(reply.signer.fingerprint).toBe(Certificate.from(pki.gateway.certPem).fingerprint);

    expect(responder.received).toHaveLength(1);
    const [request] = responder.received;
    expect(request?.document).toMatchObject({
      id: reply.requestId,
      idempotency_key: 'ord-1-auth',
      provider: 'counting',
      type: 'authorize',
      payload: { amount: EUR(1999), card: CARD, order_id: 'ord-1' },
    });
    expect(request?.signer.fingerprint).toBe(Certificate.from(pki.client.certPem).fingerprint);
    expect(counter.calls('ord-1-auth')).toBe(1);
    // Frame headers of wire contract v1 (docs/wire-format.md §2).
    const headers = request?.headers ?? {};
    expect(headers['correlation-id']).toBe(reply.requestId);
    expect(headers['reply-to']).toMatch(/^\/(remote-)?temp-queue\//);
    expect(headers['content-type']).toBe('application/pkcs7-mime; smime-type=authEnveloped-data');
    expect(headers.persistent).toBe('true');
    expect(headers['paygate-version']).toBe('1');
    expect(Number(headers.expires)).toBe(Date.parse(request?.document.expires_at ?? ''));
    expect(Date.parse(request?.document.expires_at ?? '') - Date.parse(request?.document.sent_at ?? '')).toBe(5_000);
    expect(findPans(`${JSON.stringify(headers)}\n${request?.body ?? ''}`)).toEqual([]);
  });

  it('uses the request id as the idempotency key by default, and sends the normalised payload (card digits only)', async () => {
    const reply = await gateway.request('counting', 'authorize', {
      amount: EUR(500),
      card: { number: '4111 1111 1111 1111', exp_month: 1, exp_year: 2031 },
      order_id: 'ord-2',
    });
    expect(reply.idempotencyKey).toBe(reply.requestId);
    expect(responder.received[0]?.document.idempotency_key).toBe(reply.requestId);
    // A retry written with spaces or without carries the same payload (no idempotency conflict).
    expect(responder.received[0]?.document.payload).toEqual({
      amount: EUR(500),
      card: { number: PAN, exp_month: 1, exp_year: 2031 },
      order_id: 'ord-2',
    });
  });

  it("sends the caller's payload as given when the schema's output would not validate again (a reshaping transform)", async () => {
    const shaped = defineProvider({
      name: 'shaped',
      version: '1.0.0',
      actions: {
        charge: {
          request: z.strictObject({
            amount: z.string().regex(/^\d+\.\d{2}$/).transform((text) => Math.round(Number(text) * 100)),
            note: z.string().default('none'),
          }),
          result: z.strictObject({ ok: z.boolean() }),
          async handler() {
            return { status: 'approved', result: { ok: true } };
          },
        },
      },
      scrub: scrubCardNumbers,
    });
    const peer = await TestResponder.start({
      brokers: { nodes: [nodeOf(broker.descriptor)] },
      gateway: pki.gateway,
      caPem: pki.ca.certPem,
      destination: '/queue/paygate.shaped',
    });
    try {
      peer.answer = () => ({ status: 'approved', result: { ok: true } });
      const own = await createGateway({ ...options(), providers: [shaped] as const });
      extraGateways.push(own as unknown as Gateway);
      const reply = await own.request('shaped', 'charge', { amount: '19.99' });
      expect(reply).toMatchObject({ status: 'approved', result: { ok: true } });
      expect(peer.received[0]?.document.payload).toEqual({ amount: '19.99' });
    } finally {
      await peer.close();
    }
  });

  it('resolves a decline (an outcome, not an exception) with its reason', async () => {
    const reply = await gateway.request('counting', 'authorize', { amount: EUR(1951), card: CARD, order_id: 'ord-3' });
    expect(reply.status).toBe('declined');
    expect(reply.error).toEqual({ code: 'CARD_DECLINED', message: expect.any(String), retryable: false });
    expect(reply.result).toEqual({ authorization_id: 'auth_1', amount: EUR(1951) });
  });

  it('rejects a status: error reply with RemoteError carrying the remote code', async () => {
    responder.answer = () => ({ status: 'error', error: { code: 'IDEMPOTENCY_CONFLICT', message: 'another payload', retryable: false } });
    const error = await rejection(gateway.request('counting', 'capture', { authorization_id: 'auth_1' }, { idempotencyKey: 'k-1' }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'IDEMPOTENCY_CONFLICT', retryable: false });
    expect((error as RemoteError).requestId).toBe(responder.received[0]?.document.id);
  });

  it('answers ping through the whole path', async () => {
    const reply = await gateway.ping('counting');
    expect(reply).toMatchObject({ status: 'approved', result: { provider: 'counting', version: '1.0.0', worker: 'test-responder' } });
    expect(responder.received[0]?.document).toMatchObject({ type: 'ping', payload: {} });
  });
});

describe('validation before sending', () => {
  it('refuses an invalid payload with paths only, sends nothing, and never shows the card number', async () => {
    const payload = { amount: { value: 19.99, currency: 'EUR' }, card: { ...CARD, exp_month: 13 }, order_id: '' };
    const error = await rejection(gateway.request('counting', 'authorize', payload));
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(['amount.value', 'card.exp_month', 'order_id']));
    expect((error as ValidationError).sent).toBe(false);
    expect(findPans(`${String(error)}\n${inspect(error, { depth: 5 })}\n${JSON.stringify((error as ValidationError).issues)}`)).toEqual([]);
    // A ping sent afterwards is the first thing the responder sees: the invalid request never left.
    await gateway.ping('counting');
    expect(responder.received.map((r) => r.document.type)).toEqual(['ping']);
  });

  it('refuses a bad card number without repeating it', async () => {
    const bad = '4111111111111112'; // fails Luhn
    const error = await rejection(gateway.request('counting', 'authorize', { amount: EUR(1), card: { ...CARD, number: bad }, order_id: 'o' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: 'card.number', message: expect.stringContaining('Luhn') }]);
    expect(inspect(error)).not.toContain(bad);
  });

  it('refuses an unknown type, ping as a request type, an unknown provider and a bad timeout', async () => {
    const untyped = gateway as unknown as Gateway;
    const unknownType = await rejection(untyped.request('counting', 'refund' as never, {} as never));
    expect(unknownType).toBeInstanceOf(ValidationError);
    expect((unknownType as ValidationError).issues[0]?.path).toBe('type');
    const ping = await rejection(untyped.request('counting', 'ping' as never, {} as never));
    expect((ping as ValidationError).issues[0]?.path).toBe('type');
    const unknownProvider = await rejection(untyped.request('paypal' as never, 'authorize' as never, {} as never));
    expect((unknownProvider as ValidationError).issues[0]).toMatchObject({ path: 'provider', message: expect.stringContaining('counting') });
    const badTimeout = await rejection(gateway.ping('counting', { timeoutMs: 0 }));
    expect((badTimeout as ValidationError).issues[0]?.path).toBe('timeoutMs');
    const badKey = await rejection(gateway.ping('counting', { idempotencyKey: 'x'.repeat(200) }));
    expect((badKey as ValidationError).issues[0]?.path).toBe('idempotency_key');
    await gateway.ping('counting');
    expect(responder.received).toHaveLength(1);
  });
});

describe('timeouts, late replies and abort', () => {
  it('times out with outcome unknown; the late reply is a late-reply event, never delivered to a later request', async () => {
    const late: LateReplyEvent[] = [];
    const onLate = (event: LateReplyEvent) => late.push(event);
    gateway.on('late-reply', onLate);
    try {
      // The first request is answered after 600 ms; the second after 900 ms, so the first's
      // late reply arrives while the second waits.
      responder.answer = (request) => after(request.document.idempotency_key === 'slow-1' ? 600 : 900)(request);
      const first = await rejection(gateway.request('counting', 'capture', { authorization_id: 'auth_1' }, { idempotencyKey: 'slow-1', timeoutMs: 200 }));
      expect(first).toBeInstanceOf(TimeoutError);
      expect(first).toMatchObject({ reason: 'timeout', outcome: 'unknown', idempotencyKey: 'slow-1' });
      const firstId = (first as TimeoutError).requestId;

      const second = await gateway.request('counting', 'capture', { authorization_id: 'auth_1' }, { idempotencyKey: 'slow-2' });
      expect(second.requestId).not.toBe(firstId);
      expect(responder.received.find((r) => r.document.idempotency_key === 'slow-2')?.document.id).toBe(second.requestId);
      expect(late).toEqual([{ correlationId: firstId, expired: true }]);
      expect(gateway.inFlight).toBe(0);
    } finally {
      gateway.off('late-reply', onLate);
    }
  });

  it('an abort after sending rejects with TimeoutError aborted (outcome unknown)', async () => {
    responder.answer = after(500);
    const controller = new AbortController();
    const pending = gateway.request('counting', 'status', { authorization_id: 'auth_1' }, { signal: controller.signal });
    await responder.waitFor(1);
    controller.abort();
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ reason: 'aborted', outcome: 'unknown' });
  });

  it('an already aborted signal rejects with NotSentError aborted and sends nothing', async () => {
    const error = await rejection(gateway.ping('counting', { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(NotSentError);
    expect(error).toMatchObject({ reason: 'aborted', sent: false });
    await gateway.ping('counting');
    expect(responder.received).toHaveLength(1);
  });
});

describe('reply verification', () => {
  const verificationFailure = async (answer: Partial<Answer>): Promise<ReplyVerificationError> => {
    responder.answer = () => ({ status: 'approved', result: { authorization_id: 'auth_1', amount: EUR(1) }, ...answer });
    const error = await rejection(gateway.request('counting', 'authorize', { amount: EUR(1), card: CARD, order_id: 'o' }, { idempotencyKey: 'v-1' }));
    expect(error).toBeInstanceOf(ReplyVerificationError);
    expect(error).toMatchObject({ outcome: 'unknown', idempotencyKey: 'v-1', requestId: responder.received[0]?.document.id });
    return error as ReplyVerificationError;
  };

  it('refuses a reply signed by a certificate of our CA that is not a gateway certificate', async () => {
    const error = await verificationFailure({ signer: loadIdentity(pki.client.certPem, pki.client.keyPem) });
    expect(error.wireCode).toBe('UNTRUSTED_SIGNER');
  });

  it('refuses a reply signed under a foreign CA', async () => {
    const foreign = await makeForeignPki();
    const error = await verificationFailure({ signer: loadIdentity(foreign.client.certPem, foreign.client.keyPem) });
    expect(error.wireCode).toBe('UNTRUSTED_SIGNER');
  });

  it('refuses a tampered reply body', async () => {
    const error = await verificationFailure({ tamper: flipBase64 });
    expect(['DECRYPT_FAILED', 'MALFORMED_CMS', 'BAD_SIGNATURE']).toContain(error.wireCode);
  });

  it('refuses a reply that answers another request', async () => {
    const error = await verificationFailure({ document: { request_id: '00000000-0000-4000-8000-000000000000' } });
    expect(error.wireCode).toBe('MISMATCHED_REPLY');
  });

  it('refuses a result that breaks the action\'s result schema, and an approval without a result', async () => {
    const error = await verificationFailure({ result: { authorization_id: 'nope', amount: EUR(1) } });
    expect(error.wireCode).toBe('INVALID_RESULT');
    expect(error.message).toContain('result.authorization_id');
    responder.reset();
    const missing = await verificationFailure({ result: undefined });
    expect(missing.wireCode).toBe('INVALID_RESULT');
  });
});

describe('concurrency', () => {
  it('matches 200 concurrent requests to their own callers when replies come in shuffled order', async () => {
    const count = 200;
    const held: (() => void)[] = [];
    responder.answer = async (request) => {
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
        gateway.request('counting', 'authorize', { amount: EUR(i + 1), card: CARD, order_id: `ord-${i + 1}` }, { idempotencyKey: `c-${i + 1}` }),
      ),
    );
    replies.forEach((reply, i) => {
      expect(reply.idempotencyKey).toBe(`c-${i + 1}`);
      expect(reply.result).toEqual({ authorization_id: `auth_${i + 1}`, amount: EUR(i + 1) });
    });
    expect(new Set(replies.map((r) => r.requestId)).size).toBe(count);
    expect(gateway.inFlight).toBe(0);
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
      createGateway(options({ brokers: { nodes: [{ host: '127.0.0.1', port: address.port }], connectTimeoutMs: 1_000 } })),
    );
    expect(error).toBeInstanceOf(NotSentError);
    expect(error).toMatchObject({ reason: 'unreachable' });
    expect((error as NotSentError).cause).toBeInstanceOf(StompError);
  });

  it('createGateway refuses key material that does not fit, naming the option', async () => {
    const error = await rejection(createGateway(options({ identity: { cert: pki.client.certPem, key: pki.gateway.keyPem } })));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('identity');
  });

  it('close() waits for requests in flight, then refuses new ones with NotSentError closed', async () => {
    const own = await ownGateway();
    responder.answer = after(300);
    const inFlight = own.request('counting', 'status', { authorization_id: 'auth_1' });
    await responder.waitFor(1);
    expect(own.inFlight).toBe(1);
    const closing = own.close(5_000);
    expect(own.close()).toBe(closing);
    expect(own.closed).toBe(true);
    const refused = await rejection(own.ping('counting'));
    expect(refused).toBeInstanceOf(NotSentError);
    expect(refused).toMatchObject({ reason: 'closed' });
    // The responder runs the counting plugin: no such authorization, a decline.
    await expect(inFlight).resolves.toMatchObject({ status: 'declined', error: { code: 'INVALID_AUTHORIZATION' } });
    await closing;
    expect(own.inFlight).toBe(0);
  });

  it("close() gives up on requests still in flight at its deadline (TimeoutError closed)", async () => {
    const own = await ownGateway();
    responder.answer = () => undefined; // never answers
    const inFlight = rejection(own.request('counting', 'status', { authorization_id: 'auth_1' }, { timeoutMs: 20_000 }));
    await responder.waitFor(1);
    const started = Date.now();
    await own.close(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    const error = await inFlight;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ reason: 'closed', outcome: 'unknown' });
  });

  it('fails requests in flight at once when the connection drops, and sends again after reconnecting', async () => {
    const proxy = await TcpProxy.start(broker.descriptor.host, broker.descriptor.port);
    try {
      const own = await ownGateway({
        brokers: { nodes: [nodeOf(broker.descriptor, proxy)], connectTimeoutMs: 3_000, reconnect: { initialDelayMs: 50 } },
      });
      const lost = once(own, 'connection-lost');
      const reconnected = once(own, 'reconnected');
      responder.answer = () => undefined; // the reply could only come on the dead connection's queue anyway
      const inFlight = rejection(own.request('counting', 'status', { authorization_id: 'auth_1' }, { timeoutMs: 20_000 }));
      await responder.waitFor(1);
      const started = Date.now();
      proxy.drop();
      const error = await inFlight;
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ reason: 'connection-lost', outcome: 'unknown' });
      const [event] = (await lost) as [{ failedRequests: number; error: unknown }];
      expect(event.failedRequests).toBe(1);
      expect(event.error).toBeInstanceOf(StompError);
      await reconnected;
      responder.answer = runCounting;
      await expect(own.ping('counting')).resolves.toMatchObject({ status: 'approved' });
    } finally {
      await proxy.close();
    }
  });

  it('once the connection gives up, reports it on error and refuses requests with NotSentError unreachable', async () => {
    const proxy = await TcpProxy.start(broker.descriptor.host, broker.descriptor.port);
    try {
      const own = await ownGateway({
        brokers: { nodes: [nodeOf(broker.descriptor, proxy)], connectTimeoutMs: 1_000, reconnect: { initialDelayMs: 10, maxAttempts: 1 } },
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
