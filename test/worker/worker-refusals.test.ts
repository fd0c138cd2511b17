/**
 * What the worker refuses, and how: error replies for requests it can answer (unknown type,
 * invalid payload, stale or expired, replayed, wrong provider), dead letters for messages it
 * cannot answer safely (expired frame, tampered, unsigned, untrusted or expired signer, clear
 * text, no reply-to, no document). Each dead letter keeps the original bytes, the plugin is
 * never called, and the worker keeps serving.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadIdentity, requestHeaders } from '../../src/wire/index.ts';
import { derToSmime, openssl, recipientArgs, smimeToDer } from '../helpers/openssl.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { issueExpiredClient, makeForeignPki } from '../helpers/pki.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { QUEUE, TEST_PAN, authorizePayload, requestDoc, startHarness, until, WAIT_MS, type Harness } from './harness.ts';
import { encodeYaml } from '../../src/wire/index.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  counter.reset();
  h.clockOffsetMs = 0;
});

describe('error replies', () => {
  it('UNSUPPORTED_TYPE for a type the provider does not have', async () => {
    const reply = await h.roundTrip(requestDoc({ type: 'refund' }));
    expect(reply).toMatchObject({ status: 'error', type: 'refund', error: { code: 'UNSUPPORTED_TYPE', retryable: false } });
    expect(counter.total).toBe(0);
  });

  it('INVALID_REQUEST naming the paths, without card digits in the reply or the logs', async () => {
    const payload = authorizePayload();
    const card = payload.card as Record<string, unknown>;
    card.exp_month = 13;
    card.pan_copy = TEST_PAN; // an unknown key whose value is a card number
    payload.order_id = TEST_PAN.repeat(5); // too long, and full of card digits
    const reply = await h.roundTrip(requestDoc({ payload }));
    expect(reply.status).toBe('error');
    expect(reply.error?.code).toBe('INVALID_REQUEST');
    expect(reply.error?.message).toContain('card.exp_month');
    expect(reply.error?.message).toContain('order_id');
    expect(findPans(JSON.stringify(reply))).toEqual([]);
    expect(findPans(h.logs.join('\n'))).toEqual([]);
    expect(findPans(JSON.stringify(h.events))).toEqual([]);
    expect(counter.total).toBe(0);
  });

  it('INVALID_REQUEST for a document that does not validate but has an id, with its zod paths', async () => {
    const doc = { ...requestDoc(), kind: 'reqest', payload: authorizePayload() };
    const correlationId = await h.send(h.seal(doc));
    const reply = await h.reply(correlationId);
    expect(reply).toMatchObject({ status: 'error', request_id: doc.id, error: { code: 'INVALID_REQUEST' } });
    expect(reply.error?.message).toContain('kind');
  });

  it('INVALID_REQUEST for a request naming another provider than its queue', async () => {
    const reply = await h.roundTrip(requestDoc({ provider: 'card' }));
    expect(reply).toMatchObject({ status: 'error', provider: 'counting', error: { code: 'INVALID_REQUEST' } });
    expect(counter.total).toBe(0);
  });

  it('STALE_REQUEST when sent_at is outside the freshness window, either way', async () => {
    const now = Date.now();
    const old = requestDoc({ sent_at: new Date(now - 5 * 60_000).toISOString(), expires_at: new Date(now + 30_000).toISOString() });
    const future = requestDoc({ sent_at: new Date(now + 5 * 60_000).toISOString(), expires_at: new Date(now + 6 * 60_000).toISOString() });
    for (const doc of [old, future]) {
      const reply = await h.roundTrip(doc);
      expect(reply.error?.code).toBe('STALE_REQUEST');
    }
    expect(counter.total).toBe(0);
  });

  it('REQUEST_EXPIRED when expires_at has passed (the frame itself is still deliverable)', async () => {
    const now = Date.now();
    const reply = await h.roundTrip(requestDoc({ sent_at: new Date(now - 10_000).toISOString(), expires_at: new Date(now - 1).toISOString() }));
    expect(reply.error?.code).toBe('REQUEST_EXPIRED');
    expect(counter.total).toBe(0);
  });

  it('REPLAYED_REQUEST for the exact same frame sent again; the plugin is not called again', async () => {
    const doc = requestDoc({ idempotency_key: 'ord-replayed' });
    const body = h.seal(doc);
    const headers = requestHeaders({ replyTo: h.replyTo, correlationId: doc.id, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
    await h.send(body, { headers, correlationId: doc.id });
    expect((await h.reply(doc.id)).status).toBe('approved');
    h.replies.delete(doc.id);
    await h.send(body, { headers, correlationId: doc.id });
    const second = await h.reply(doc.id);
    expect(second).toMatchObject({ status: 'error', request_id: doc.id, error: { code: 'REPLAYED_REQUEST', retryable: false } });
    expect(counter.calls('ord-replayed')).toBe(1);
  });
});

describe('dead letters', () => {
  async function expectDeadLetter(body: string | Buffer, reason: string, headers?: Record<string, string>): Promise<void> {
    const before = h.deadLetters.messages.length;
    const correlationId = await h.send(body, headers === undefined ? {} : { headers });
    const letter = await h.deadLetters.next(WAIT_MS);
    expect(h.deadLetters.messages.length).toBe(before + 1);
    expect(letter.headers['paygate-dlq-reason']).toBe(reason);
    expect(Number(letter.headers['paygate-dlq-at'])).toBeGreaterThan(Date.now() - 60_000);
    expect(letter.headers['correlation-id']).toBe(correlationId);
    expect(letter.body.equals(Buffer.from(body))).toBe(true); // the original bytes, still sealed
    expect(h.replies.has(correlationId)).toBe(false);
    expect(counter.total).toBe(0);
    await until(() => h.events.deadLetter.some((e) => e.reason === reason));
  }

  it('REQUEST_EXPIRED: the frame header expires is past when the worker gets it', async () => {
    h.clockOffsetMs = 60_000; // the broker delivers it (its clock says fresh); the worker's says expired
    await expectDeadLetter(h.seal(requestDoc()), 'REQUEST_EXPIRED');
  });

  it('DECRYPT_FAILED: one byte of the ciphertext changed', async () => {
    const der = smimeToDer(h.seal(requestDoc()));
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0x01; // inside the GCM tag
    await expectDeadLetter(derToSmime(der), 'DECRYPT_FAILED');
  });

  it('UNSIGNED: an envelope around plain YAML (openssl cms -encrypt)', async () => {
    const yaml = encodeYaml(requestDoc());
    const envelope = openssl(['cms', '-encrypt', '-aes-256-gcm', ...recipientArgs(h.pki.gateway.certPath, 'rsa')], yaml);
    await expectDeadLetter(envelope.toString(), 'UNSIGNED');
  });

  it('UNTRUSTED_SIGNER: signed by a client of a foreign CA', async () => {
    const foreign = await makeForeignPki();
    await expectDeadLetter(h.seal(requestDoc(), loadIdentity(foreign.client.certPem, foreign.client.keyPem)), 'UNTRUSTED_SIGNER');
  });

  it('CERT_EXPIRED: signed with an expired client certificate', async () => {
    const expired = await issueExpiredClient(h.pki);
    await expectDeadLetter(h.seal(requestDoc(), loadIdentity(expired.certPem, expired.keyPem)), 'CERT_EXPIRED');
  });

  it('NOT_ENCRYPTED: the YAML in clear (and never echoed into a log)', async () => {
    await expectDeadLetter(`Content-Type: application/yaml\n\n${encodeYaml(requestDoc())}`, 'NOT_ENCRYPTED');
    expect(findPans(h.logs.join('\n'))).toEqual([]);
    expect(h.logs.join('\n')).not.toContain('order_id');
  });

  it('NO_REPLY_TO: a request nobody can be answered on', async () => {
    const body = h.seal(requestDoc());
    const headers = requestHeaders({ replyTo: 'x', correlationId: 'c-no-reply', cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
    delete (headers as Record<string, string | undefined>)['reply-to'];
    await h.client.send(QUEUE, body, { headers, receipt: true });
    const letter = await h.deadLetters.next(WAIT_MS);
    expect(letter.headers['paygate-dlq-reason']).toBe('NO_REPLY_TO');
    expect(letter.body.equals(Buffer.from(body))).toBe(true);
  });

  it('SCHEMA_INVALID: a signed document without a usable id cannot be answered', async () => {
    await expectDeadLetter(h.seal({ ...requestDoc(), id: 'not-a-uuid' }), 'SCHEMA_INVALID');
  });

  it('keeps serving after all of them: a good request succeeds afterwards', async () => {
    await until(() => h.events.deadLetter.length === 8);
    expect(new Set(h.events.deadLetter.map((e) => e.reason))).toEqual(
      new Set(['REQUEST_EXPIRED', 'DECRYPT_FAILED', 'UNSIGNED', 'UNTRUSTED_SIGNER', 'CERT_EXPIRED', 'NOT_ENCRYPTED', 'NO_REPLY_TO', 'SCHEMA_INVALID']),
    );
    const reply = await h.roundTrip(requestDoc({ idempotency_key: 'ord-after-refusals' }));
    expect(reply.status).toBe('approved');
    expect(counter.calls('ord-after-refusals')).toBe(1);
    expect(h.events.error).toEqual([]);
  });
});
