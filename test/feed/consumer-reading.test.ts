/**
 * Reading one events message (src/feed/events-reading.ts), without a broker: what is stored and
 * what is refused, and the card-number scan's exact reach (every string a client could have
 * written; not the hex digests, which read as card numbers by chance).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FEED, PAYMENTS_FEED } from '../../src/audit/events.ts';
import { readEvents, type ReadingContext } from '../../src/feed/events-reading.ts';
import { containsCardNumber, loadIdentity, SIGNER_ROLE_OIDS, TrustStore } from '../../src/wire/index.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { eventsDocument, sealEvents } from './consumer-support.ts';

/** A Luhn-valid Visa number: the scan must find it wherever text may be. */
const PAN = '4111111111111111';

describe('reading an events message', () => {
  let pki: TestPki;
  let context: ReadingContext;
  beforeAll(async () => {
    pki = await makeTestPki({ algo: 'ec' });
    context = { identity: loadIdentity(pki.feed.certPem, pki.feed.keyPem), trust: new TrustStore([pki.ca.certPem]), gatewayRoleOids: [SIGNER_ROLE_OIDS.gateway] };
  });
  const read = (document: unknown) => readEvents(Buffer.from(sealEvents(pki, document)), context);

  it('an audit record and a payment event become two chained appends with title, JSON content and key', () => {
    const document = eventsDocument();
    expect(read(document)).toEqual({
      kind: 'events',
      appends: [
        { feed: AUDIT_FEED, entry: { title: 'card authorize approved', content: JSON.stringify(document.events[0]?.record), contentType: 'application/json', key: document.events[0]?.key }, options: { chained: true } },
        { feed: PAYMENTS_FEED, entry: { title: 'card authorize approved', content: JSON.stringify(document.events[1]?.record), contentType: 'application/json', key: document.events[1]?.key }, options: { chained: true } },
      ],
      redacted: [],
    });
  });

  it('an audit record of a message that never opened: type unknown, the dead-letter status and code in the title', () => {
    const document = eventsDocument({ payment: false });
    const record = { ...document.events[0]?.record, request_id: null, type: null, outcome: { status: 'dead_lettered', code: 'BAD_SIGNATURE' }, dead_letter_reason: 'BAD_SIGNATURE' };
    const read1 = read({ ...document, events: [{ ...document.events[0], record }] });
    expect(read1.kind === 'events' && read1.appends[0]?.entry.title).toBe('card unknown dead_lettered BAD_SIGNATURE');
  });

  it('hex digests and serials that happen to hold a card-like digit run are not card numbers', () => {
    const digest = `${PAN}${'a'.repeat(48)}`;
    expect(containsCardNumber(digest)).toBe(true); // what a blind scan would refuse
    const document = eventsDocument();
    const audit = { ...document.events[0]?.record, request_body_sha256: digest, reply_body_sha256: digest, idempotency_key_hmac: digest, requester: { subject: 'CN=shop', serial: PAN, sha256: digest } };
    const payment = { ...document.events[1]?.record, requester_sha256: digest };
    const events = [{ ...document.events[0], record: audit }, { ...document.events[1], record: payment }];
    expect(read({ ...document, events }).kind).toBe('events');
  });

  it.each([
    ['the correlation id', (r: Record<string, unknown>) => ({ ...r, correlation_id: `order ${PAN}` }), 0, 'correlation_id', 'order 411111******1111'],
    ['the correlation id, dotted', (r: Record<string, unknown>) => ({ ...r, correlation_id: '4111.1111.1111.1111' }), 0, 'correlation_id', '4111.11**.****.1111'],
    ['the requester subject', (r: Record<string, unknown>) => ({ ...r, requester: { subject: `CN=${PAN}`, serial: '01', sha256: 'a'.repeat(64) } }), 0, 'requester.subject', 'CN=411111******1111'],
    ['a provider id', (r: Record<string, unknown>) => ({ ...r, provider_ids: { transaction_id: PAN } }), 1, 'provider_ids.transaction_id', '411111******1111'],
    ['the idempotency key', (r: Record<string, unknown>) => ({ ...r, idempotency_key: `k-${PAN}` }), 1, 'idempotency_key', 'k-411111******1111'],
  ] as const)('a card number in %s is masked and noted in `redacted`: the record is stored, not lost', (_what, change, index, path, masked) => {
    const document = eventsDocument();
    const events = document.events.map((event, i) => (i === index ? { ...event, record: change(event.record as Record<string, unknown>) } : event));
    const result = read({ ...document, events });
    if (result.kind !== 'events') throw new Error(`refused: ${JSON.stringify(result)}`);
    expect(result.redacted).toEqual([`events.${index}.record.${path}`]);
    expect(result.appends).toHaveLength(2);
    const stored = JSON.parse(result.appends[index]?.entry.content ?? '') as Record<string, unknown>;
    expect(path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], stored)).toBe(masked);
    expect(stored.redacted).toEqual([path]);
    expect(Object.keys(stored).at(-1)).toBe('redacted');
    expect(result.appends.map((a) => a.entry.content).join('')).not.toContain(PAN);
    // The other event of the message is untouched.
    expect(result.appends[1 - index]?.entry.content).toBe(JSON.stringify(events[1 - index]?.record));
  });

  it.each([
    ['an amount', (r: Record<string, unknown>) => ({ ...r, amount: { value: Number(PAN), currency: 'EUR' } }), 0, 'events.0.record.amount.value'],
    ['a provider id name', (r: Record<string, unknown>) => ({ ...r, provider_ids: { [`x${PAN}`]: 'ok' } }), 1, 'events.1.record.provider_ids.(a key)'],
    ['an outcome code (its form takes no mask)', (r: Record<string, unknown>) => ({ ...r, outcome: { status: 'declined', code: 'E_4111_1111_1111_1111' } }), 0, 'events.0.record.outcome.code'],
  ] as const)('a card number in %s, where no mask can go, is refused (EVENTS_CARD_DATA), naming the path and not the number', (_what, change, index, path) => {
    const document = eventsDocument();
    const events = document.events.map((event, i) => (i === index ? { ...event, record: change(event.record as Record<string, unknown>) } : event));
    const result = read({ ...document, events });
    expect(result).toMatchObject({ kind: 'refused', reason: 'EVENTS_CARD_DATA', decrypted: true });
    expect(result.kind === 'refused' && result.detail).toContain(path);
    expect(result.kind === 'refused' && result.detail).not.toContain(PAN);
  });

  it.each([
    ['U+FFFF', 'x\uFFFF'],
    ['U+FFFE', '\uFFFEx'],
  ])('a record with %s (JSON keeps it as it is, XML cannot carry it), which the store would refuse for good, is refused at once (EVENTS_UNSTORABLE)', (_what, correlationId) => {
    const document = eventsDocument({ correlationId });
    const result = read(document);
    expect(result).toMatchObject({ kind: 'refused', reason: 'EVENTS_UNSTORABLE', decrypted: true });
    expect(result.kind === 'refused' && result.detail).toContain('FEED_BAD_ENTRY');
  });

  it('gatewayRoleOids [] switches the role check off; the default refuses a client-signed message', () => {
    const body = Buffer.from(sealEvents(pki, eventsDocument(), pki.client));
    expect(readEvents(body, context)).toMatchObject({ kind: 'refused', reason: 'WRONG_SIGNER_ROLE', decrypted: true });
    expect(readEvents(body, { ...context, gatewayRoleOids: [] }).kind).toBe('events');
  });
});
