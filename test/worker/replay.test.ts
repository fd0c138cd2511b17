/**
 * A captured request sent again is never executed again, whatever its frame says: on every broker
 * of PAYGATE_TEST_BROKERS, the exact body of an answered request is resent with every
 * broker-owned header forged (`redelivered:true`, `redeliveryCounter:1`, `message-id`,
 * `subscription`, `ack`) after an approval, a decline, and a PROVIDER_UNAVAILABLE /
 * PROVIDER_NOT_CALLED answer that freed the idempotency key (the provider is back up by the time
 * of the replay, so executing it would charge). Each replay gets the first answer and the
 * provider is called once. A genuine redelivery (the worker's consuming connection lost after
 * the answer was recorded and sent, before the ACK reached the broker) gets the first answer too.
 * The store file and its WAL hold no card number afterwards.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineProvider, providerNotCalled, scrubCardNumbers, TransportError } from '../../src/providers/index.ts';
import { requestHeaders, type ReplyDocument, type RequestDocumentInput } from '../../src/wire/index.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { parseTestBrokers } from '../helpers/brokers.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { authorizePayload, requestDoc, startHarness, until, type Harness } from './harness.ts';

/** Every header a broker owns on a MESSAGE frame, forged by the sender. */
const FORGED: Readonly<Record<string, string>> = { redelivered: 'true', redeliveryCounter: '1', 'message-id': 'forged-message-1', subscription: 'forged-sub', ack: 'forged-ack' };

/** What a sender can forge on `broker`: RabbitMQ refuses a SEND carrying `message-id` (ERROR "Invalid header"), so nobody can send that one there. */
const forgeable = (broker: string): Record<string, string> =>
  Object.fromEntries(Object.entries(FORGED).filter(([name]) => !(broker === 'rabbitmq' && name === 'message-id')));

/** A provider that is down (the transport refused before sending, or its breaker is open) until `sandbox.up`. */
const sandbox = { up: false, calls: 0 };
const flaky = defineProvider({
  name: 'sandbox',
  version: '0.1.0',
  actions: {
    authorize: {
      request: z.strictObject({ order_id: z.string(), breaker: z.boolean().optional() }),
      result: z.strictObject({ charged: z.boolean() }),
      async handler(payload) {
        sandbox.calls += 1;
        if (!sandbox.up && payload.breaker === true) throw providerNotCalled('circuit breaker open');
        if (!sandbox.up) throw new TransportError('PROVIDER_UNAVAILABLE', 'connection refused by sandbox.example:443');
        return { status: 'approved', result: { charged: true } };
      },
    },
  },
  scrub: scrubCardNumbers,
});

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('replays and redeliveries on $name', (descriptor) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ broker: descriptor, extra: [flaky], proxy: true });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    counter.reset();
    sandbox.up = false;
    sandbox.calls = 0;
  });

  /** Sends `doc` sealed, waits for its answer; returns the answer and the exact body sent (the "captured" request). */
  async function answered(doc: RequestDocumentInput): Promise<{ first: ReplyDocument; body: string }> {
    const body = h.seal(doc);
    await h.send(body, { correlationId: doc.id, destination: h.queue(doc.provider) });
    return { first: await h.reply(doc.id), body };
  }

  /** Resends the captured body with every broker-owned header forged; returns the answer it gets (the n-th reply of its id). */
  async function replay(doc: RequestDocumentInput, body: string, n = 2): Promise<ReplyDocument> {
    const headers = { ...requestHeaders({ replyTo: h.replyTo, correlationId: doc.id, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 }), ...forgeable(descriptor.name) };
    await h.send(body, { headers, correlationId: doc.id, destination: h.queue(doc.provider) });
    return h.nthReply(doc.id, n);
  }

  /** The reply as the client compares it: everything but its own id and send time. */
  const essence = (reply: ReplyDocument): Omit<ReplyDocument, 'id' | 'sent_at'> => {
    const { id: _id, sent_at: _sentAt, ...rest } = reply;
    return rest;
  };

  it('after an approval: the replay gets the approval again; the provider was called once', async () => {
    const doc = requestDoc({ idempotency_key: 'replay-approved' });
    const { first, body } = await answered(doc);
    expect(first.status).toBe('approved');
    const again = await replay(doc, body);
    expect(essence(again)).toEqual(essence(first));
    expect(again.id).not.toBe(first.id);
    expect(counter.calls('replay-approved')).toBe(1);
    expect(counter.ledger).toHaveLength(1);
  });

  it('after a decline: the replay gets the decline again; the provider was called once', async () => {
    const doc = requestDoc({ idempotency_key: 'replay-declined', payload: authorizePayload({ value: 2051 }) });
    const { first, body } = await answered(doc);
    expect(first).toMatchObject({ status: 'declined', error: { code: 'CARD_DECLINED' } });
    expect(essence(await replay(doc, body))).toEqual(essence(first));
    expect(counter.calls('replay-declined')).toBe(1);
  });

  it.each([
    ['PROVIDER_UNAVAILABLE', 'the sandbox refused the connection', false],
    ['PROVIDER_NOT_CALLED', 'the breaker was open', true],
  ] as const)('after %s (%s, the key freed): the provider is back, yet the replay gets the first answer and is not executed', async (code, _why, breaker) => {
    const doc = requestDoc({ provider: 'sandbox', idempotency_key: `replay-${code}`, payload: { order_id: `o-${code}`, breaker } });
    const { first, body } = await answered(doc);
    expect(first).toMatchObject({ status: 'error', error: { code, retryable: true } });
    expect(sandbox.calls).toBe(1);
    sandbox.up = true; // executing the replay now would charge
    const again = await replay(doc, body);
    expect(essence(again)).toEqual(essence(first));
    // …several times over.
    expect(essence(await replay(doc, body, 3))).toEqual(essence(first));
    expect(sandbox.calls).toBe(1);
    // A retry with a NEW request (new id) and the same key is the legitimate way through.
    const retry = await h.roundTrip({ ...doc, id: crypto.randomUUID() });
    expect(retry).toMatchObject({ status: 'approved', result: { charged: true } });
    expect(sandbox.calls).toBe(2);
  });

  it('a genuine redelivery (connection lost after the answer left, before the ACK) gets the first answer; one provider call', async () => {
    const proxy = h.proxy as NonNullable<Harness['proxy']>;
    counter.delayMs = 400;
    const doc = requestDoc({ idempotency_key: 'redelivered-for-real' });
    await h.send(h.seal(doc), { correlationId: doc.id });
    await until(() => counter.calls('redelivered-for-real') === 1); // the handler is running
    const lossesBefore = h.worker.connectionLosses.consume;
    proxy.freeze(); // the answer leaves on the publishing connection; the ACK is held in the proxy
    let first: ReplyDocument;
    try {
      first = await h.reply(doc.id);
    } finally {
      proxy.drop(); // the consuming connection dies with the ACK unsent: the broker redelivers
      proxy.thaw();
    }
    expect(first.status).toBe('approved');
    const second = await h.nthReply(doc.id, 2);
    expect(essence(second)).toEqual(essence(first));
    expect(counter.calls('redelivered-for-real')).toBe(1);
    expect(h.worker.connectionLosses.consume).toBeGreaterThan(lossesBefore);
    await until(() => h.events.processed.some((e) => e.replayedFromStore && e.status === 'approved'));
  });

  it('leaves no card number in the idempotency store or its WAL', () => {
    for (const file of [h.storePath, `${h.storePath}-wal`]) {
      expect(findPans(readFileSync(file).toString('latin1')), file).toEqual([]);
    }
  });
});
