/**
 * The worker's events (docs/audit.md): for every request it takes off a queue and finishes, one
 * message on the events queue, sealed to the feed server, holding the audit record and, for an
 * answered payment operation, the payment event. On the embedded broker and the external ones of
 * PAYGATE_TEST_BROKERS, read with the broker's `feed` login and opened with the feed identity, as
 * the feed server does.
 *
 * "One message per request" is proven without waiting for silence: a request's events are sent
 * before its ACK and its `processed` event comes after the ACK, so once a later sentinel's events
 * arrived, every earlier request's events are in.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Certificate, loadIdentity } from '../../src/wire/index.ts';
import { parseTestBrokers } from '../helpers/brokers.ts';
import { derToSmime, smimeToDer } from '../helpers/openssl.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { makeForeignPki, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { authorizePayload, requestDoc, startHarness, TEST_PAN, until, type Harness } from './harness.ts';
import { EventsReader, freshEventsQueue, sha256, type ReceivedEvents } from './events-reader.ts';
import type { RequestDocumentInput } from '../../src/wire/index.ts';
import { deriveAuditKey } from '../../src/worker/audit-events.ts';

const MASKED_PAN = `${TEST_PAN.slice(0, 6)}******${TEST_PAN.slice(-4)}`;
const FORBIDDEN_REPLY_TO = '/queue/paygate-forbidden.replies';

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('worker events on $name', (descriptor) => {
  let h: Harness;
  let pki: TestPki;
  let reader: EventsReader;

  beforeAll(async () => {
    pki = await makeTestPki();
    const queue = freshEventsQueue();
    // The pattern admits a reply-to no worker login may SEND to: a reply that cannot be delivered.
    const replyToPattern = FORBIDDEN_REPLY_TO.replace(/\./g, '\\.');
    h = await startHarness({ broker: descriptor, worker: { events: { queue, recipient: pki.feed.certPem }, replyToPattern } });
    reader = await EventsReader.start(h.broker.descriptor, queue, pki);
  });
  afterAll(async () => {
    await reader?.close();
    await h?.close();
  });

  /** Seals and sends `doc`, waits for its reply, its `processed` event and its events message. */
  async function exchange(doc: RequestDocumentInput, body = h.seal(doc)): Promise<{ body: string; events: ReceivedEvents; replyBody: Buffer }> {
    const processed = h.events.processed.length;
    const correlationId = await h.send(body, { correlationId: doc.id });
    await h.reply(correlationId);
    await until(() => h.events.processed.length > processed);
    const events = await reader.waitFor((received) => received.audit.request_id === doc.id && received.audit.request_body_sha256 === sha256(body));
    return { body, events, replyBody: h.replies.get(correlationId)?.body ?? Buffer.alloc(0) };
  }

  /** Sends a ping and waits for its events: every request finished before it has its events in by then. */
  async function sentinel(): Promise<void> {
    const ping = requestDoc({ type: 'ping', payload: {} });
    await exchange(ping);
  }

  it('an approved payment: one message with its audit record and its payment event', async () => {
    const doc = requestDoc({ idempotency_key: `key-${Date.now()}` });
    const { body, events, replyBody } = await exchange(doc);
    await sentinel();
    expect(reader.of(doc.id as string)).toHaveLength(1);

    const client = Certificate.from(pki.client.certPem);
    const { audit, payment } = events;
    expect(audit).toMatchObject({
      request_id: doc.id,
      correlation_id: doc.id,
      provider: 'counting',
      type: 'authorize',
      outcome: { status: 'approved' },
      replayed_from_store: false,
      amount: { value: 1999, currency: 'EUR' },
      requester: { subject: client.subject, serial: client.x509.serialNumber.toLowerCase().replace(/^0+/, ''), sha256: client.fingerprint },
      crypto: { content_encryption: 'aes-256-gcm', digest: 'sha256' },
      request_body_sha256: sha256(body),
      reply_body_sha256: sha256(replyBody),
      worker: h.worker.workerId,
      card: MASKED_PAN,
    });
    expect(audit.outcome.code).toBeUndefined();
    expect(audit.dead_letter_reason).toBeUndefined();
    expect(audit.duration_ms).toBeGreaterThanOrEqual(0);
    // Keyed by the gateway's private key (any worker holding it gives the same), not the plain hash.
    const key = deriveAuditKey(loadIdentity(pki.gateway.certPem, pki.gateway.keyPem).privateKey);
    expect(audit.idempotency_key_hmac).toBe(createHmac('sha256', key).update(doc.idempotency_key as string).digest('hex'));
    expect(audit.idempotency_key_hmac).not.toBe(sha256(doc.idempotency_key as string));
    expect(events.auditKey).toBe(sha256(`audit|counting|${sha256(body)}|approved|`));

    expect(payment).toMatchObject({
      request_id: doc.id,
      provider: 'counting',
      type: 'authorize',
      status: 'approved',
      amount: { value: 1999, currency: 'EUR' },
      idempotency_key: doc.idempotency_key,
      card: MASKED_PAN,
      requester_sha256: client.fingerprint,
    });
    expect(payment?.provider_ids).toEqual({ authorization_id: expect.stringMatching(/^auth_\d+$/) as unknown as string });
    expect(events.paymentKey).toBe(sha256(`payment|${doc.id}|counting|${client.fingerprint}|approved|`));
    expect(events.message.headers.persistent).toBe('true');
    expect(events.message.headers['content-type']).toBe('application/pkcs7-mime; smime-type=authEnveloped-data');
  });

  it('a decline: the payment event carries the decline code', async () => {
    const doc = requestDoc({ payload: authorizePayload({ value: 1951 }) });
    const { body, events } = await exchange(doc);
    expect(events.audit.outcome).toEqual({ status: 'declined', code: 'CARD_DECLINED' });
    expect(events.payment).toMatchObject({ status: 'declined', code: 'CARD_DECLINED', amount: { value: 1951, currency: 'EUR' } });
    expect(events.auditKey).toBe(sha256(`audit|counting|${sha256(body)}|declined|CARD_DECLINED`));
  });

  it('an INVALID_REQUEST refusal: an audit record, no payment event', async () => {
    const payload = authorizePayload();
    (payload.card as Record<string, unknown>).exp_month = 13;
    const doc = requestDoc({ payload });
    const { body, events } = await exchange(doc);
    expect(events.audit).toMatchObject({ request_id: doc.id, type: 'authorize', outcome: { status: 'error', code: 'INVALID_REQUEST' }, card: MASKED_PAN });
    expect(events.payment).toBeUndefined();
    expect(events.document.events).toHaveLength(1);
    expect(events.auditKey).toBe(sha256(`audit|counting|${sha256(body)}|error|INVALID_REQUEST`));
  });

  it('a ping: an audit record, no payment event', async () => {
    const doc = requestDoc({ type: 'ping', payload: {} });
    const { events } = await exchange(doc);
    expect(events.audit).toMatchObject({ request_id: doc.id, type: 'ping', outcome: { status: 'approved' } });
    expect(events.audit.amount).toBeUndefined();
    expect(events.audit.card).toBeUndefined();
    expect(events.payment).toBeUndefined();
  });

  it('a replayed request: answered from the store, the same keys as the first answer', async () => {
    const doc = requestDoc();
    const body = h.seal(doc);
    const first = await exchange(doc, body);
    const processed = h.events.processed.length;
    await h.send(body, { correlationId: doc.id });
    await h.nthReply(doc.id as string, 2);
    await until(() => h.events.processed.length > processed);
    const second = await reader.waitFor((received) => received.audit.request_id === doc.id && received.audit.replayed_from_store);
    expect(first.events.audit.replayed_from_store).toBe(false);
    expect(second.audit.outcome).toEqual(first.events.audit.outcome);
    expect(second.auditKey).toBe(first.events.auditKey);
    expect(second.paymentKey).toBe(first.events.paymentKey);
    expect(second.audit.reply_body_sha256).not.toBe(first.events.audit.reply_body_sha256); // a new reply (new id, sent_at)
    await sentinel();
    expect(reader.of(doc.id as string)).toHaveLength(2);
  });

  it('a tampered message: dead-lettered, its audit record has no request id and matches the captured body', async () => {
    const der = smimeToDer(h.seal(requestDoc()));
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0x01; // inside the GCM tag
    const body = derToSmime(der);
    const received = await deadLettered(body, 'DECRYPT_FAILED');
    expect(received.audit.requester).toBeUndefined();
    expect(received.audit.crypto).toBeUndefined();
  });

  it('an untrusted signer: dead-lettered; the record matches the dead letter, a captured copy of the frame', async () => {
    const foreign = await makeForeignPki();
    const body = h.seal(requestDoc(), loadIdentity(foreign.client.certPem, foreign.client.keyPem));
    const before = h.deadLetters.messages.length;
    const received = await deadLettered(body, 'UNTRUSTED_SIGNER');
    await h.deadLetters.waitFor(before + 1);
    const letter = h.deadLetters.messages[before];
    expect(received.audit.request_body_sha256).toBe(sha256(letter?.body ?? Buffer.alloc(0)));
  });

  async function deadLettered(body: string, reason: string): Promise<ReceivedEvents> {
    const correlationId = await h.send(body);
    const received = await reader.waitFor((r) => r.audit.correlation_id === correlationId);
    expect(received.audit).toMatchObject({
      request_id: null,
      type: null,
      provider: 'counting',
      outcome: { status: 'dead_lettered', code: reason },
      dead_letter_reason: reason,
      replayed_from_store: false,
      request_body_sha256: sha256(body),
    });
    expect(received.audit.reply_body_sha256).toBeUndefined();
    expect(received.payment).toBeUndefined();
    expect(received.auditKey).toBe(sha256(`audit|counting|${sha256(body)}|dead_lettered|${reason}`));
    return received;
  }

  it('a correlation-id with a card number in it is recorded masked', async () => {
    const doc = requestDoc({ type: 'ping', payload: {} });
    await h.send(h.seal(doc), { correlationId: `order ${TEST_PAN}` });
    const received = await reader.waitFor((r) => r.audit.request_id === doc.id);
    expect(received.audit.correlation_id).toBe(`order ${MASKED_PAN}`);
  });

  it('a request signed by a trusted certificate without the client role: refused, the signer recorded', async () => {
    const doc = requestDoc();
    const gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
    // Answered to its signer (the gateway here), so the test client cannot open the reply: the record is what is checked.
    await h.send(h.seal(doc, gateway), { correlationId: doc.id });
    const events = await reader.waitFor((r) => r.audit.request_id === doc.id);
    expect(events.audit).toMatchObject({ outcome: { status: 'error', code: 'WRONG_SIGNER_ROLE' }, requester: { sha256: gateway.certificate.fingerprint } });
    expect(events.payment).toBeUndefined();
  });

  it('a reply that cannot be delivered: dead-lettered REPLY_UNDELIVERABLE, the record keeps the request id', async () => {
    const doc = requestDoc({ type: 'ping', payload: {} });
    await h.send(h.seal(doc), { correlationId: doc.id, headers: { 'reply-to': FORBIDDEN_REPLY_TO } });
    const received = await reader.waitFor((r) => r.audit.request_id === doc.id);
    expect(received.audit).toMatchObject({
      type: 'ping',
      outcome: { status: 'dead_lettered', code: 'REPLY_UNDELIVERABLE' },
      dead_letter_reason: 'REPLY_UNDELIVERABLE',
      requester: { sha256: Certificate.from(pki.client.certPem).fingerprint },
    });
    expect(received.audit.reply_body_sha256).toBeUndefined();
  });

  it('no card number anywhere in the events, whatever the request carried', async () => {
    const payload = authorizePayload();
    payload.description = 'a note';
    await exchange(requestDoc({ payload }));
    await sentinel();
    expect(reader.received.length).toBeGreaterThan(3);
    // One message per finished request: each request id once, but the replayed request (sent twice).
    const perRequest = new Map<string, number>();
    for (const { audit } of reader.received) {
      if (audit.request_id !== null) perRequest.set(audit.request_id, (perRequest.get(audit.request_id) ?? 0) + 1);
    }
    const replayed = reader.received.filter((r) => r.audit.replayed_from_store).map((r) => r.audit.request_id);
    expect(replayed).toHaveLength(1);
    for (const [id, count] of perRequest) expect(count, id).toBe(id === replayed[0] ? 2 : 1);
    for (const received of reader.received) {
      // SHA-256 digests (keys, body hashes, fingerprints, the HMAC) are hex: a digit run inside
      // one is Luhn-valid with a card's prefix now and then, and is no card number. Blanked.
      const text = received.yaml.replace(/\b[0-9a-f]{64}\b/g, '<sha256>');
      expect(findPans(text)).toEqual([]);
      expect(received.yaml).not.toContain(TEST_PAN);
      expect(received.yaml).not.toMatch(/cvc|exp_month|order_id/); // nothing of the payload but amount and masked card
    }
  });
});
