/**
 * The client SDK end to end, part 1: a real gateway against the embedded broker and a real dev
 * PKI, with a test responder (test/client/responder.ts) standing in for the worker. Round trips,
 * validation before sending, timeouts, late replies and abort.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  createGateway, NotSentError, RemoteError, TimeoutError, ValidationError, type Gateway, type LateReplyEvent,
} from '../../src/client/index.ts';
import { defineProvider, scrubCardNumbers } from '../../src/providers/index.ts';
import { Certificate } from '../../src/wire/index.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { TestResponder } from './responder.ts';
import { waitUntil } from '../helpers/timing.ts';
import { CARD, EUR, HeldAnswers, rejection, useGatewayFixture, UUID } from './support.ts';

const f = useGatewayFixture();

describe('request round trip', () => {
  it('resolves an approved reply with its typed result; the card reaches the worker intact, encrypted on the wire', async () => {
    const reply = await f.gateway.request('counting', 'authorize', { amount: EUR(1999), card: CARD, order_id: 'ord-1' }, {
      idempotencyKey: 'ord-1-auth',
    });
    expect(reply.status).toBe('approved');
    if (reply.status !== 'approved') throw new Error('not approved');
    expect(reply.result).toEqual({ authorization_id: 'auth_1', amount: EUR(1999) });
    expect(reply.requestId).toMatch(UUID);
    expect(reply.idempotencyKey).toBe('ord-1-auth');
    expect(reply.replyId).toMatch(UUID);
    expect(reply.signer.fingerprint).toBe(Certificate.from(f.pki.gateway.certPem).fingerprint);

    expect(f.responder.received).toHaveLength(1);
    const [request] = f.responder.received;
    expect(request?.document).toMatchObject({
      id: reply.requestId,
      idempotency_key: 'ord-1-auth',
      provider: 'counting',
      type: 'authorize',
      payload: { amount: EUR(1999), card: CARD, order_id: 'ord-1' },
    });
    expect(request?.signer.fingerprint).toBe(Certificate.from(f.pki.client.certPem).fingerprint);
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

  it("uses the request id as the idempotency key by default, and sends the caller's payload as written", async () => {
    const reply = await f.gateway.request('counting', 'authorize', {
      amount: EUR(500),
      card: { number: '4111 1111 1111 1111', exp_month: 1, exp_year: 2031 },
      order_id: 'ord-2',
    });
    expect(reply.idempotencyKey).toBe(reply.requestId);
    expect(f.responder.received[0]?.document.idempotency_key).toBe(reply.requestId);
    // The worker normalises it (its idempotency digest is over the validated form: test/worker).
    expect(f.responder.received[0]?.document.payload).toEqual({
      amount: EUR(500),
      card: { number: '4111 1111 1111 1111', exp_month: 1, exp_year: 2031 },
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
      brokers: { nodes: [f.node('worker')] },
      gateway: f.pki.gateway,
      caPem: f.pki.ca.certPem,
      destination: '/queue/paygate.shaped',
    });
    try {
      peer.answer = () => ({ status: 'approved', result: { ok: true } });
      const own = await createGateway({ ...f.options(), providers: [shaped] as const });
      f.adopt(own);
      const reply = await own.request('shaped', 'charge', { amount: '19.99' });
      expect(reply).toMatchObject({ status: 'approved', result: { ok: true } });
      expect(peer.received[0]?.document.payload).toEqual({ amount: '19.99' });
    } finally {
      await peer.close();
    }
  });

  it('resolves a decline (an outcome, not an exception) with its reason', async () => {
    const reply = await f.gateway.request('counting', 'authorize', { amount: EUR(1951), card: CARD, order_id: 'ord-3' });
    expect(reply.status).toBe('declined');
    expect(reply.error).toEqual({ code: 'CARD_DECLINED', message: expect.any(String), retryable: false });
    expect(reply.result).toEqual({ authorization_id: 'auth_1', amount: EUR(1951) });
  });

  it('rejects a status: error reply with RemoteError carrying the remote code', async () => {
    f.responder.answer = () => ({ status: 'error', error: { code: 'IDEMPOTENCY_CONFLICT', message: 'another payload', retryable: false } });
    const error = await rejection(f.gateway.request('counting', 'capture', { authorization_id: 'auth_1' }, { idempotencyKey: 'k-1' }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'IDEMPOTENCY_CONFLICT', retryable: false });
    expect((error as RemoteError).requestId).toBe(f.responder.received[0]?.document.id);
  });

  it('answers ping through the whole path', async () => {
    const reply = await f.gateway.ping('counting');
    expect(reply).toMatchObject({ status: 'approved', result: { provider: 'counting', version: '1.0.0', worker: 'test-responder' } });
    expect(f.responder.received[0]?.document).toMatchObject({ type: 'ping', payload: {} });
  });
});

describe('validation before sending', () => {
  it('refuses an invalid payload with paths only, sends nothing, and never shows the card number', async () => {
    const payload = { amount: { value: 19.99, currency: 'EUR' }, card: { ...CARD, exp_month: 13 }, order_id: '' };
    const error = await rejection(f.gateway.request('counting', 'authorize', payload));
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(['amount.value', 'card.exp_month', 'order_id']));
    expect((error as ValidationError).sent).toBe(false);
    expect(findPans(`${String(error)}\n${inspect(error, { depth: 5 })}\n${JSON.stringify((error as ValidationError).issues)}`)).toEqual([]);
    // A ping sent afterwards is the first thing the responder sees: the invalid request never left.
    await f.gateway.ping('counting');
    expect(f.responder.received.map((r) => r.document.type)).toEqual(['ping']);
  });

  it('refuses a bad card number without repeating it', async () => {
    const bad = '4111111111111112'; // fails Luhn
    const error = await rejection(f.gateway.request('counting', 'authorize', { amount: EUR(1), card: { ...CARD, number: bad }, order_id: 'o' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: 'card.number', message: expect.stringContaining('Luhn') }]);
    expect(inspect(error)).not.toContain(bad);
  });

  it('refuses an unknown type, ping as a request type, an unknown provider and a bad timeout', async () => {
    const untyped = f.gateway as unknown as Gateway;
    const unknownType = await rejection(untyped.request('counting', 'refund' as never, {} as never));
    expect(unknownType).toBeInstanceOf(ValidationError);
    expect((unknownType as ValidationError).issues[0]?.path).toBe('type');
    const ping = await rejection(untyped.request('counting', 'ping' as never, {} as never));
    expect((ping as ValidationError).issues[0]?.path).toBe('type');
    const unknownProvider = await rejection(untyped.request('paypal' as never, 'authorize' as never, {} as never));
    expect((unknownProvider as ValidationError).issues[0]).toMatchObject({ path: 'provider', message: expect.stringContaining('counting') });
    const badTimeout = await rejection(f.gateway.ping('counting', { timeoutMs: 0 }));
    expect((badTimeout as ValidationError).issues[0]?.path).toBe('timeoutMs');
    const badKey = await rejection(f.gateway.ping('counting', { idempotencyKey: 'x'.repeat(200) }));
    expect((badKey as ValidationError).issues[0]?.path).toBe('idempotency_key');
    await f.gateway.ping('counting');
    expect(f.responder.received).toHaveLength(1);
  });
});

describe('timeouts, late replies and abort', () => {
  it('times out with outcome unknown; the late reply is a late-reply event, never delivered to a later request', async () => {
    const late: LateReplyEvent[] = [];
    const onLate = (event: LateReplyEvent) => late.push(event);
    f.gateway.on('late-reply', onLate);
    try {
      // Both answers are held; the first's is let go (late) while the second waits.
      const slow = new HeldAnswers().hold('slow-1', 'slow-2');
      f.responder.answer = slow.answer;
      const first = await rejection(f.gateway.request('counting', 'capture', { authorization_id: 'auth_1' }, { idempotencyKey: 'slow-1', timeoutMs: 200 }));
      expect(first).toBeInstanceOf(TimeoutError);
      expect(first).toMatchObject({ reason: 'timeout', outcome: 'unknown', idempotencyKey: 'slow-1' });
      const firstId = (first as TimeoutError).requestId;

      const waiting = f.gateway.request('counting', 'capture', { authorization_id: 'auth_1' }, { idempotencyKey: 'slow-2', timeoutMs: 600_000 });
      await f.responder.waitFor(2);
      slow.release('slow-1');
      await waitUntil(() => late.length === 1, 'the late reply event');
      slow.release('slow-2');
      const second = await waiting;
      expect(second.requestId).not.toBe(firstId);
      expect(f.responder.received.find((r) => r.document.idempotency_key === 'slow-2')?.document.id).toBe(second.requestId);
      expect(late).toEqual([{ correlationId: firstId, expired: true }]);
      expect(f.gateway.inFlight).toBe(0);
    } finally {
      f.gateway.off('late-reply', onLate);
    }
  });

  it('an abort after sending rejects with TimeoutError aborted (outcome unknown)', async () => {
    f.responder.answer = () => undefined; // no reply: only the abort can end it
    const controller = new AbortController();
    const pending = f.gateway.request('counting', 'status', { authorization_id: 'auth_1' }, { signal: controller.signal, timeoutMs: 600_000 });
    await f.responder.waitFor(1);
    controller.abort();
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ reason: 'aborted', outcome: 'unknown' });
  });

  it('an already aborted signal rejects with NotSentError aborted and sends nothing', async () => {
    const error = await rejection(f.gateway.ping('counting', { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(NotSentError);
    expect(error).toMatchObject({ reason: 'aborted', sent: false });
    await f.gateway.ping('counting');
    expect(f.responder.received).toHaveLength(1);
  });
});
