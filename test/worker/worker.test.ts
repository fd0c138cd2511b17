/**
 * The worker's main path against a real embedded broker and a real PKI: approved and declined
 * round trips (replies opened with the client identity, signed by the gateway), ping, 64
 * concurrent requests with prefetch 16, and stop() draining an in-flight request.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findPans } from '../helpers/pan-scan.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { Inbox } from '../integration/support.ts';
import { requestDoc, authorizePayload, startHarness, until, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ worker: { prefetch: 16 } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  counter.reset();
});

function entries(key: string): number {
  const db = new Database(h.storePath, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM idempotency WHERE idempotency_key = ?').get(key) as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('worker round trip', () => {
  it('approves an authorize: the reply is for the request, signed by the gateway, sealed to the client; the plugin is called once', async () => {
    const doc = requestDoc({ idempotency_key: 'ord-approve-1' });
    const reply = await h.roundTrip(doc);
    expect(reply).toMatchObject({ kind: 'reply', request_id: doc.id, provider: 'counting', type: 'authorize', status: 'approved' });
    expect(reply.result).toEqual({ authorization_id: expect.stringMatching(/^auth_\d+$/), amount: { value: 1999, currency: 'EUR' } });
    expect(reply.error).toBeUndefined();
    expect(counter.calls('ord-approve-1')).toBe(1);
    expect(entries('ord-approve-1')).toBe(1);
    await until(() => h.events.processed.some((e) => e.status === 'approved'));
    expect(h.events.processed.at(-1)).toMatchObject({ provider: 'counting', type: 'authorize', status: 'approved', replayedFromStore: false });
  });

  it('answers a decline as a declined reply with the reason', async () => {
    const doc = requestDoc({ payload: authorizePayload({ value: 2051 }) });
    const reply = await h.roundTrip(doc);
    expect(reply.status).toBe('declined');
    expect(reply.error).toEqual({ code: 'CARD_DECLINED', message: expect.any(String), retryable: false });
    expect(counter.calls(doc.id)).toBe(1); // no idempotency key: the id is the key
  });

  it('keeps the card number out of replies, logs and events (the handler logs the card)', async () => {
    await h.roundTrip(requestDoc());
    const replyBodies = [...h.replies.values()].map((m) => m.text()).join('\n');
    expect(h.logs.some((line) => line.includes('authorize'))).toBe(true);
    expect(findPans(h.logs.join('\n'))).toEqual([]);
    expect(findPans(JSON.stringify(h.events))).toEqual([]);
    expect(findPans(replyBodies)).toEqual([]); // sealed anyway; nothing in clear around it
  });

  it('answers ping itself: provider, version and worker id; no plugin call, no store entry', async () => {
    const doc = requestDoc({ type: 'ping', payload: {}, idempotency_key: 'ping-1' });
    const reply = await h.roundTrip(doc);
    expect(reply.status).toBe('approved');
    expect(reply.result).toEqual({ provider: 'counting', version: '1.0.0', worker: h.worker.workerId });
    expect(counter.total).toBe(0);
    expect(entries('ping-1')).toBe(0);
  });

  it('answers 64 concurrent requests with prefetch 16, processing up to 16 at once', async () => {
    counter.delayMs = 50;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, h.worker.inFlight)), 2);
    try {
      const docs = Array.from({ length: 64 }, (_, i) => requestDoc({ idempotency_key: `ord-many-${i}` }));
      const sent = await Promise.all(docs.map((doc) => h.send(h.seal(doc), { correlationId: doc.id })));
      const replies = await Promise.all(sent.map((id) => h.reply(id)));
      expect(replies.map((r) => r.status)).toEqual(Array(64).fill('approved'));
      expect(replies.map((r) => r.request_id)).toEqual(docs.map((d) => d.id));
    } finally {
      clearInterval(sampler);
    }
    expect(counter.distinctKeys).toBe(64);
    expect(counter.duplicates).toEqual([]);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(16);
  });
});

describe('stop()', () => {
  it('waits for an in-flight slow request: it is answered and ACKed before stop resolves', async () => {
    counter.delayMs = 800;
    const doc = requestDoc({ idempotency_key: 'ord-slow' });
    const correlationId = await h.send(h.seal(doc), { correlationId: doc.id });
    await until(() => h.worker.inFlight === 1);
    const stopping = h.worker.stop({ graceMs: 10_000 });
    expect(h.worker.stop()).toBe(stopping); // idempotent: the same promise
    await stopping;
    expect(h.replies.has(correlationId)).toBe(true);
    expect((await h.reply(correlationId)).status).toBe('approved');
    expect(h.worker.inFlight).toBe(0);
    // ACKed: nothing is left on the queue for the next consumer. A control message sent after
    // subscribing is the first one it gets (a leftover would come before it: the queue is FIFO).
    const leftovers = new Inbox();
    await h.operator.subscribe(h.queue(), leftovers.handler, { ack: 'auto' }).ready;
    await h.operator.send(h.queue(), 'control', { receipt: true });
    expect((await leftovers.next()).text()).toBe('control');
    expect(counter.calls('ord-slow')).toBe(1);
  });
});
