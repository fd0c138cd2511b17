/**
 * The pure parts of the worker's events (src/worker/audit-events.ts): which result fields become
 * a payment event's provider ids (never one holding a card number), the de-duplication keys'
 * formulas (docs/audit.md), which statuses are payment outcomes, and the audit HMAC key (the same
 * for every worker holding the gateway key, distinct from the other derived keys).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordText, type AuditRecord, type PaymentEvent } from '../../src/audit/events.ts';
import { containsCardNumber, loadIdentity } from '../../src/wire/index.ts';
import { auditKey, deriveAuditKey, paymentKey, PAYMENT_STATUSES, providerIds } from '../../src/worker/audit-events.ts';
import { deriveDeadLetterKey } from '../../src/worker/dead-letter.ts';
import { deriveDigestKey } from '../../src/worker/payload-digest.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { TEST_PAN } from './harness.ts';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('provider ids', () => {
  it('takes the top-level text fields named *_id or reference', () => {
    const ids = providerIds({ authorization_id: 'auth_1', reference: 'R-77', capture_id: 'c9', status_text: 'ok', id: 'x', nested: { order_id: 'o' } });
    expect(ids).toEqual({ authorization_id: 'auth_1', reference: 'R-77', capture_id: 'c9' });
  });

  it('leaves out a value with a card number (however written), one over 128 characters, one XML cannot carry, a non-string and a name outside the schema', () => {
    const ids = providerIds({
      transaction_id: `tx-${TEST_PAN}`,
      spaced_id: TEST_PAN.replace(/(\d{4})/g, '$1 ').trim(),
      long_id: 'a'.repeat(129),
      number_id: 42,
      Upper_id: 'A',
      ok_id: 'a'.repeat(128),
      dotted_id: '4111.1111.1111.1111',
      ffff_id: 'tx\uFFFF',
    });
    expect(ids).toEqual({ ok_id: 'a'.repeat(128) });
  });

  it('is empty without a result', () => {
    expect(providerIds(undefined)).toEqual({});
  });
});

describe('keys', () => {
  it('audit: provider, request body hash, status and code', () => {
    const body = sha256('body');
    const record = { provider: 'card', request_body_sha256: body, outcome: { status: 'declined', code: 'CARD_DECLINED' } } as AuditRecord;
    expect(auditKey(record)).toBe(sha256(`audit|card|${body}|declined|CARD_DECLINED`));
    expect(auditKey({ ...record, outcome: { status: 'approved' } })).toBe(sha256(`audit|card|${body}|approved|`));
  });

  it('payment: the answer key (request id|provider|signer fingerprint), status and code', () => {
    const fingerprint = sha256('cert');
    const id = '6f1c1d5e-8a1b-4c3d-9e2f-0a1b2c3d4e5f';
    const event = { request_id: id, provider: 'card', requester_sha256: fingerprint, status: 'approved' } as PaymentEvent;
    expect(paymentKey(event)).toBe(sha256(`payment|${id}|card|${fingerprint}|approved|`));
    expect(paymentKey({ ...event, status: 'pending' })).not.toBe(paymentKey(event));
  });
});

describe('payment outcomes', () => {
  it('approved, declined, pending and action_required; not error nor unknown', () => {
    expect([...PAYMENT_STATUSES].sort()).toEqual(['action_required', 'approved', 'declined', 'pending']);
  });
});

describe('the audit HMAC key', () => {
  it('derives from the gateway key alone, and differs from the digest and dead-letter keys', async () => {
    const pki = await makeTestPki();
    const gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem).privateKey;
    const again = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem).privateKey;
    const key = deriveAuditKey(gateway);
    expect(key).toHaveLength(32);
    expect(deriveAuditKey(again).equals(key)).toBe(true);
    expect(key.equals(deriveDeadLetterKey(gateway))).toBe(false);
    expect(key.equals(deriveDigestKey(gateway))).toBe(false);
    const client = loadIdentity(pki.client.certPem, pki.client.keyPem).privateKey;
    expect(deriveAuditKey(client).equals(key)).toBe(false);
  });
});

describe('client-set text in a record (recordText)', () => {
  it('replaces what XML 1.0 cannot carry with U+FFFD, so the feed can store it', () => {
    expect(recordText('x\uFFFF', 256)).toBe('x\uFFFD');
    expect(recordText('\uFFFEa\u0001b\uD800c', 256)).toBe('\uFFFDa\uFFFDb\uFFFDc');
    expect(recordText('tab\tok 😀', 256)).toBe('tab\tok 😀');
  });

  it('masks a card number however written, by the rule the feed scans by, before cutting', () => {
    for (const text of ['4111.1111.1111.1111', '4111_1111_1111_1111', `ref \uff14${'\uff11'.repeat(15)}`, '\u2074\u00b9\u00b9\u00b9 1111 1111 1111']) {
      expect(containsCardNumber(text)).toBe(true);
      expect(containsCardNumber(recordText(text, 256))).toBe(false);
    }
    expect(recordText('4111.1111.1111.1111', 256)).toBe('4111.11**.****.1111');
    // Cut through the middle of a card number: masked first, so no prefix of it is left in clear.
    expect(recordText(`${'a'.repeat(250)}${TEST_PAN}`, 256)).toBe(`${'a'.repeat(250)}411111`);
    expect(recordText(`${'a'.repeat(245)}${TEST_PAN}`, 256)).toBe(`${'a'.repeat(245)}411111*****`);
  });

  it('never splits a surrogate pair when it cuts', () => {
    expect(recordText(`${'a'.repeat(255)}😀`, 256)).toBe('a'.repeat(255));
    expect(recordText(`${'a'.repeat(254)}😀`, 256)).toBe(`${'a'.repeat(254)}😀`);
  });
});
