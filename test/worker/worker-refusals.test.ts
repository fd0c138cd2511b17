/**
 * What the worker refuses, and how: error replies for requests it can answer (unknown type,
 * invalid payload, stale or expired, wrong provider), dead letters for messages it cannot answer
 * safely (expired frame, tampered, unsigned, untrusted or expired signer, clear text, no or bad
 * reply-to, no document). A dead letter keeps the original bytes only when they decrypted with
 * the gateway's key (proven ciphertext); any other body is withheld (size and keyed digest
 * only). The plugin is never called, and the worker keeps serving.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StompMessage } from '../../src/stomp/index.ts';
import { loadIdentity, requestHeaders } from '../../src/wire/index.ts';
import { derToSmime, openssl, recipientArgs, smimeToDer } from '../helpers/openssl.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { issueExpiredClient, makeForeignPki } from '../helpers/pki.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { TEST_PAN, authorizePayload, requestDoc, startHarness, until, WAIT_MS, type Harness } from './harness.ts';
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
    const reply = await h.roundTrip(requestDoc({ provider: 'card' }), h.queue());
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

  it('the exact same frame sent again gets its first answer again; the plugin is not called again', async () => {
    const doc = requestDoc({ idempotency_key: 'ord-replayed' });
    const body = h.seal(doc);
    const headers = requestHeaders({ replyTo: h.replyTo, correlationId: doc.id, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
    await h.send(body, { headers, correlationId: doc.id });
    const first = await h.reply(doc.id);
    expect(first.status).toBe('approved');
    await h.send(body, { headers, correlationId: doc.id });
    const second = await h.nthReply(doc.id, 2);
    expect(second).toMatchObject({ status: 'approved', request_id: doc.id, result: first.result });
    expect(second.id).not.toBe(first.id);
    expect(counter.calls('ord-replayed')).toBe(1);
  });
});

describe('dead letters', () => {
  /** Sends `body`, takes the next dead letter and checks its reason, its headers and whether the body was kept. */
  async function expectDeadLetter(body: string | Buffer, reason: string, kept: boolean, headers?: Record<string, string>): Promise<void> {
    const before = h.deadLetters.messages.length;
    const correlationId = await h.send(body, headers === undefined ? {} : { headers });
    const letter = await h.deadLetters.next(WAIT_MS);
    expect(h.deadLetters.messages.length).toBe(before + 1);
    expect(letter.headers['paygate-dlq-reason']).toBe(reason);
    expect(Number(letter.headers['paygate-dlq-at'])).toBeGreaterThan(Date.now() - 60_000);
    expect(letter.headers['correlation-id']).toBe(correlationId);
    if (kept) {
      expect(letter.body.equals(Buffer.from(body))).toBe(true); // the original bytes, still sealed
      expect(letter.headers['paygate-dlq-body']).toBeUndefined();
    } else {
      expectWithheld(letter, body);
    }
    expect(h.replies.has(correlationId)).toBe(false);
    expect(counter.total).toBe(0);
    await until(() => h.events.deadLetter.some((e) => e.reason === reason));
  }

  /** A dead letter whose body was not shown to be ciphertext: no body, its size and a keyed digest instead. */
  function expectWithheld(letter: StompMessage, body: string | Buffer): void {
    const bytes = Buffer.from(body);
    expect(letter.body.length).toBe(0);
    expect(letter.headers['paygate-dlq-body']).toBe('withheld');
    expect(letter.headers['paygate-dlq-body-bytes']).toBe(String(bytes.length));
    expect(letter.headers['paygate-dlq-body-hmac-sha256']).toMatch(/^[0-9a-f]{64}$/);
    // Keyed: not the plain SHA-256, which could be reversed for a short body such as a bare card number.
    expect(letter.headers['paygate-dlq-body-hmac-sha256']).not.toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(findPans(JSON.stringify(letter.headers))).toEqual([]);
  }

  it('REQUEST_EXPIRED: the frame header expires is past when the worker gets it', async () => {
    h.clockOffsetMs = 60_000; // the broker delivers it (its clock says fresh); the worker's says expired
    await expectDeadLetter(h.seal(requestDoc()), 'REQUEST_EXPIRED', true);
  });

  it('DECRYPT_FAILED: one byte of the ciphertext changed (withheld: an envelope that does not decrypt may hold anything)', async () => {
    const der = smimeToDer(h.seal(requestDoc()));
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0x01; // inside the GCM tag
    await expectDeadLetter(derToSmime(der), 'DECRYPT_FAILED', false);
  });

  it('UNSIGNED: an envelope around plain YAML (openssl cms -encrypt)', async () => {
    const yaml = encodeYaml(requestDoc());
    const envelope = openssl(['cms', '-encrypt', '-aes-256-gcm', ...recipientArgs(h.pki.gateway.certPath, 'rsa')], yaml);
    await expectDeadLetter(envelope.toString(), 'UNSIGNED', true);
  });

  it('UNTRUSTED_SIGNER: signed by a client of a foreign CA', async () => {
    const foreign = await makeForeignPki();
    await expectDeadLetter(h.seal(requestDoc(), loadIdentity(foreign.client.certPem, foreign.client.keyPem)), 'UNTRUSTED_SIGNER', true);
  });

  it('CERT_EXPIRED: signed with an expired client certificate', async () => {
    const expired = await issueExpiredClient(h.pki);
    await expectDeadLetter(h.seal(requestDoc(), loadIdentity(expired.certPem, expired.keyPem)), 'CERT_EXPIRED', true);
  });

  it('NOT_ENCRYPTED: the YAML in clear, with a card number: withheld from the DLQ and never echoed into a log', async () => {
    const clear = `Content-Type: application/yaml\n\n${encodeYaml(requestDoc())}`;
    expect(clear).toContain(TEST_PAN);
    await expectDeadLetter(clear, 'NOT_ENCRYPTED', false);
    expect(findPans(h.logs.join('\n'))).toEqual([]);
    expect(h.logs.join('\n')).not.toContain('order_id');
  });

  it('MALFORMED_MIME: a bare card number as the body is withheld; its digest is keyed', async () => {
    await expectDeadLetter(TEST_PAN, 'MALFORMED_MIME', false);
  });

  it('NO_REPLY_TO: a request nobody can be answered on (sealed: the body is kept)', async () => {
    const body = h.seal(requestDoc());
    const headers = requestHeaders({ replyTo: 'x', correlationId: 'c-no-reply', cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
    delete (headers as Record<string, string | undefined>)['reply-to'];
    await h.client.send(h.queue(), body, { headers, receipt: true });
    const letter = await h.deadLetters.next(WAIT_MS);
    expect(letter.headers['paygate-dlq-reason']).toBe('NO_REPLY_TO');
    expect(letter.body.equals(Buffer.from(body))).toBe(true);
  });

  it('NO_REPLY_TO in clear text: the body is withheld (it never decrypted)', async () => {
    const clear = `Content-Type: application/yaml\n\n${encodeYaml(requestDoc())}`;
    const headers = requestHeaders({ replyTo: 'x', correlationId: 'c-no-reply-clear', cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
    delete (headers as Record<string, string | undefined>)['reply-to'];
    await h.client.send(h.queue(), clear, { headers, receipt: true });
    const letter = await h.deadLetters.next(WAIT_MS);
    expect(letter.headers['paygate-dlq-reason']).toBe('NO_REPLY_TO');
    expectWithheld(letter, clear);
  });

  it.each(['/queue/x', 'nonsense', '/reply-queue/paygate.card', '/remote-temp-queue/../queue/paygate.card'])(
    'BAD_REPLY_TO: reply-to %s is not a reply queue of the broker; nothing is sent there',
    async (replyTo) => {
      await expectDeadLetter(h.seal(requestDoc()), 'BAD_REPLY_TO', true, { 'reply-to': replyTo });
    },
  );

  it('SCHEMA_INVALID: a signed document without a usable id cannot be answered', async () => {
    await expectDeadLetter(h.seal({ ...requestDoc(), id: 'not-a-uuid' }), 'SCHEMA_INVALID', true);
  });

  it('keeps serving after all of them: a good request succeeds afterwards', async () => {
    const reasons = ['REQUEST_EXPIRED', 'DECRYPT_FAILED', 'UNSIGNED', 'UNTRUSTED_SIGNER', 'CERT_EXPIRED', 'NOT_ENCRYPTED', 'MALFORMED_MIME', 'NO_REPLY_TO', 'BAD_REPLY_TO', 'SCHEMA_INVALID'];
    await until(() => h.events.deadLetter.length === 14);
    expect(new Set(h.events.deadLetter.map((e) => e.reason))).toEqual(new Set(reasons));
    const reply = await h.roundTrip(requestDoc({ idempotency_key: 'ord-after-refusals' }));
    expect(reply.status).toBe('approved');
    expect(counter.calls('ord-after-refusals')).toBe(1);
    expect(h.events.error).toEqual([]);
    expect(h.worker.connectionLosses).toEqual({ consume: 0, publish: 0 });
  });
});
