/**
 * Exactly-once in effect through the worker (docs/idempotency.md, the states table): a retry
 * with the same key gets the stored reply; another payload under the key is a conflict; an entry
 * left in progress by a dead worker is reconciled through the plugin's `status` hook, never by
 * calling the handler again; a handler that throws is `unknown`; one that provably never called
 * the provider frees the key.
 */
import Database from 'better-sqlite3';
import * as z from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineProvider, providerNotCalled, scrubCardNumbers, TransportError, validateRequest } from '../../src/providers/index.ts';
import { Certificate } from '../../src/wire/index.ts';
import { deriveDigestKey, IdempotencyStore, payloadDigest } from '../../src/worker/index.ts';
import { counter, counting } from '../fixtures/counting-provider.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { TEST_PAN, authorizePayload, requestDoc, startHarness, until, type Harness } from './harness.ts';

/** A plugin whose handlers fail: `charge` throws (quoting a card number), `refuse` never reaches its provider. */
const calls = { charge: 0, refuse: 0, unreachable: 0, busy: 0 };
const flaky = defineProvider({
  name: 'flaky',
  version: '0.1.0',
  actions: {
    charge: {
      request: z.strictObject({ order_id: z.string() }),
      result: z.strictObject({ ok: z.boolean() }),
      async handler() {
        calls.charge += 1;
        throw new Error(`socket hang up while sending card ${TEST_PAN}`);
      },
    },
    refuse: {
      request: z.strictObject({ order_id: z.string() }),
      result: z.strictObject({ ok: z.boolean() }),
      async handler() {
        calls.refuse += 1;
        throw providerNotCalled('circuit breaker open');
      },
    },
    busy: {
      request: z.strictObject({ order_id: z.string() }),
      result: z.strictObject({ ok: z.boolean() }),
      async handler() {
        calls.busy += 1;
        if (calls.busy === 1) {
          return { status: 'declined', error: { code: 'PROCESSING_ERROR', message: 'provider busy, nothing recorded', retryable: true } };
        }
        return { status: 'approved', result: { ok: true } };
      },
    },
    unreachable: {
      request: z.strictObject({ order_id: z.string() }),
      result: z.strictObject({ ok: z.boolean() }),
      async handler() {
        calls.unreachable += 1;
        throw new TransportError('PROVIDER_UNAVAILABLE', 'connection refused by sandbox.example:443');
      },
    },
  },
  scrub: scrubCardNumbers,
  async status() {
    return null; // the provider has no record: the outcome stays unknown
  },
});

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ extra: [flaky], busyTimeoutMs: 20 });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  counter.reset();
});

/** Claims a key in the store as another (dead) worker would have, `ageMs` ago. */
function seedInProgress(key: string, payload: Record<string, unknown>, ageMs: number): string {
  const store = IdempotencyStore.open({ path: h.storePath });
  const requestId = crypto.randomUUID();
  try {
    const digest = payloadDigest(deriveDigestKey(h.gatewayIdentity.privateKey), {
      type: 'authorize',
      signerFingerprint: Certificate.from(h.pki.client.certPem).fingerprint,
      payload: validateRequest(counting, 'authorize', payload),
      rawPayload: payload,
    });
    const begun = store.begin({ provider: 'counting', idempotencyKey: key, requestId, payloadDigest: digest, workerId: 'dead-host:1:0', now: Date.now() - ageMs });
    expect(begun.kind).toBe('new');
  } finally {
    store.close();
  }
  return requestId;
}

describe('idempotency through the worker', () => {
  it('answers a retry with the same key from the store: same outcome, new request id, plugin called once', async () => {
    const payload = authorizePayload();
    const first = await h.roundTrip(requestDoc({ idempotency_key: 'ord-twice', payload }));
    const retry = requestDoc({ idempotency_key: 'ord-twice', payload });
    const second = await h.roundTrip(retry);
    expect(first.status).toBe('approved');
    expect(second).toMatchObject({ status: 'approved', request_id: retry.id, result: first.result });
    expect(second.id).not.toBe(first.id);
    expect(counter.calls('ord-twice')).toBe(1);
    await until(() => h.events.processed.some((e) => e.replayedFromStore));
    expect(h.events.processed.filter((e) => e.replayedFromStore)).toHaveLength(1);
  });

  it('one operation however it is spelt: a retry with the card number spaced and keys reordered gets the stored reply', async () => {
    const payload = authorizePayload({ order: 'o-spelt' });
    const card = payload.card as Record<string, unknown>;
    const first = await h.roundTrip(requestDoc({ idempotency_key: 'ord-spelt', payload }));
    const respelt = { order_id: 'o-spelt', card: { ...card, number: '4111 1111 1111 1111' }, amount: payload.amount };
    const second = await h.roundTrip(requestDoc({ idempotency_key: 'ord-spelt', payload: respelt }));
    expect(first.status).toBe('approved');
    expect(second).toMatchObject({ status: 'approved', result: first.result });
    expect(counter.calls('ord-spelt')).toBe(1);
  });

  it('refuses the same key with another payload: IDEMPOTENCY_CONFLICT, the plugin is not called', async () => {
    await h.roundTrip(requestDoc({ idempotency_key: 'ord-conflict', payload: authorizePayload({ value: 1000, order: 'o-1' }) }));
    const reply = await h.roundTrip(requestDoc({ idempotency_key: 'ord-conflict', payload: authorizePayload({ value: 9000, order: 'o-1' }) }));
    expect(reply).toMatchObject({ status: 'error', error: { code: 'IDEMPOTENCY_CONFLICT', retryable: false } });
    expect(counter.calls('ord-conflict')).toBe(1);
  });

  it('reconciles an entry a dead worker left in progress (lease expired) through status, without calling the handler', async () => {
    const payload = authorizePayload({ order: 'o-dead' });
    seedInProgress('ord-dead-worker', payload, 120_000);
    // The dead worker had reached the provider: the provider's ledger knows the key.
    const charged = counter.authorize({ idempotency_key: 'ord-dead-worker', order_id: 'o-dead', amount: { value: 1999, currency: 'EUR' }, state: 'authorized' });
    const reply = await h.roundTrip(requestDoc({ idempotency_key: 'ord-dead-worker', payload }));
    expect(reply).toMatchObject({ status: 'approved', result: { authorization_id: charged.authorization_id } });
    expect(counter.calls('ord-dead-worker')).toBe(0);
    // Reconciled means stored: the next retry is answered from the store.
    const again = await h.roundTrip(requestDoc({ idempotency_key: 'ord-dead-worker', payload }));
    expect(again).toMatchObject({ status: 'approved', result: { authorization_id: charged.authorization_id } });
    expect(counter.calls('ord-dead-worker')).toBe(0);
  });

  it('takes over an entry a dead worker left in progress (lease expired) that the provider has no record of: one call, then the stored reply', async () => {
    const payload = authorizePayload({ order: 'o-never-sent' });
    seedInProgress('ord-never-sent', payload, 120_000);
    // The dead worker never reached the provider: status finds nothing, so the key is taken over and the handler called.
    const reply = await h.roundTrip(requestDoc({ idempotency_key: 'ord-never-sent', payload }));
    expect(reply).toMatchObject({ status: 'approved', result: { authorization_id: expect.any(String) } });
    expect(counter.calls('ord-never-sent')).toBe(1);
    const again = await h.roundTrip(requestDoc({ idempotency_key: 'ord-never-sent', payload }));
    expect(again).toMatchObject({ status: 'approved', result: reply.result });
    expect(counter.calls('ord-never-sent')).toBe(1);
  });

  it('answers unknown/OUTCOME_UNKNOWN for an entry held by a live worker that the provider does not know yet', async () => {
    const payload = authorizePayload({ order: 'o-busy' });
    seedInProgress('ord-busy', payload, 0);
    const reply = await h.roundTrip(requestDoc({ idempotency_key: 'ord-busy', payload }));
    expect(reply).toMatchObject({ status: 'unknown', error: { code: 'OUTCOME_UNKNOWN', retryable: true } });
    expect(counter.calls('ord-busy')).toBe(0);
  });

  it('answers unknown/OUTCOME_UNKNOWN when the handler throws, and reports it without the card number', async () => {
    const doc = requestDoc({ provider: 'flaky', type: 'charge', idempotency_key: 'flaky-1', payload: { order_id: 'o-flaky' } });
    const reply = await h.roundTrip(doc);
    expect(reply).toMatchObject({ status: 'unknown', provider: 'flaky', error: { code: 'OUTCOME_UNKNOWN', retryable: true } });
    await until(() => h.events.handlerError.length > 0);
    expect(h.events.handlerError[0]).toMatchObject({ provider: 'flaky', type: 'charge', hook: 'handler', code: 'Error' });
    expect(findPans(JSON.stringify(h.events))).toEqual([]);
    expect(findPans(h.logs.join('\n'))).toEqual([]);
    // The entry stays in progress: a retry reconciles (status knows nothing) instead of charging again.
    const retry = await h.roundTrip({ ...doc, id: crypto.randomUUID() });
    expect(retry.error?.code).toBe('OUTCOME_UNKNOWN');
    expect(calls.charge).toBe(1);
  });

  it('frees the key when the handler says the provider was never called: PROVIDER_NOT_CALLED, retryable, and a retry calls it again', async () => {
    const doc = requestDoc({ provider: 'flaky', type: 'refuse', idempotency_key: 'flaky-2', payload: { order_id: 'o-refused' } });
    const reply = await h.roundTrip(doc);
    expect(reply).toMatchObject({ status: 'error', error: { code: 'PROVIDER_NOT_CALLED', retryable: true } });
    expect(reply.error?.message).toContain('circuit breaker open');
    await h.roundTrip({ ...doc, id: crypto.randomUUID() });
    expect(calls.refuse).toBe(2);
  });

  it('a retryable decline (the provider recorded nothing) is sent but not stored: a retry with the same key reaches the provider again', async () => {
    const doc = requestDoc({ provider: 'flaky', type: 'busy', idempotency_key: 'flaky-busy', payload: { order_id: 'o-busy' } });
    const first = await h.roundTrip(doc);
    expect(first).toMatchObject({ status: 'declined', error: { code: 'PROCESSING_ERROR', retryable: true } });
    const retry = await h.roundTrip({ ...doc, id: crypto.randomUUID() });
    expect(retry).toMatchObject({ status: 'approved', result: { ok: true } });
    expect(calls.busy).toBe(2);
    // …and the approval is the operation's answer from now on.
    const again = await h.roundTrip({ ...doc, id: crypto.randomUUID() });
    expect(again).toMatchObject({ status: 'approved' });
    expect(calls.busy).toBe(2);
  });

  it("a transport's PROVIDER_UNAVAILABLE (never sent) is the reply's code, retryable, and frees the key", async () => {
    const doc = requestDoc({ provider: 'flaky', type: 'unreachable', idempotency_key: 'flaky-3', payload: { order_id: 'o-down' } });
    const reply = await h.roundTrip(doc);
    expect(reply).toMatchObject({ status: 'error', error: { code: 'PROVIDER_UNAVAILABLE', retryable: true } });
    await h.roundTrip({ ...doc, id: crypto.randomUUID() });
    expect(calls.unreachable).toBe(2);
  });

  it('hands the request back to the broker (NACK) while the store fails, and answers it once the store works again', async () => {
    const lock = new Database(h.storePath);
    lock.prepare('BEGIN IMMEDIATE').run(); // another process holding the write lock: STORE_FAILED after 20 ms
    const errorsBefore = h.events.error.length;
    const doc = requestDoc({ idempotency_key: 'ord-store-locked' });
    const correlationId = await h.send(h.seal(doc), { correlationId: doc.id });
    try {
      await until(() => h.events.error.length > errorsBefore);
      expect(h.events.error.at(-1)).toMatchObject({ stage: 'store', provider: 'counting', code: 'STORE_FAILED', requeued: true });
      expect(h.replies.has(correlationId)).toBe(false);
      expect(counter.calls('ord-store-locked')).toBe(0);
    } finally {
      lock.prepare('COMMIT').run();
      lock.close();
    }
    const reply = await h.reply(correlationId); // the redelivery (not a replay) goes through
    expect(reply.status).toBe('approved');
    expect(counter.calls('ord-store-locked')).toBe(1);
  });
});
