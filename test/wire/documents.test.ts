import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  parseReplyDocument,
  parseRequestDocument,
  replyDocumentSchema,
  requestDocumentSchema,
} from '../../src/wire/documents.ts';
import type { ReplyDocumentInput, RequestDocumentInput } from '../../src/wire/documents.ts';
import { WireError } from '../../src/wire/errors.ts';
import { decodeYaml, encodeYaml } from '../../src/wire/yaml.ts';
import { findPans } from '../helpers/pan-scan.ts';

const ID = '6f1c8b2a-5d4e-4c3b-9a2f-1e0d9c8b7a6f';
const OTHER_ID = '0b6e7a52-3f0c-4d8e-8a7b-2c1d0e9f8a7b';
const PAN = '4111111111111111';

const request: RequestDocumentInput = {
  paygate: 1,
  kind: 'request',
  id: ID,
  idempotency_key: 'ord-1001-auth',
  provider: 'card',
  type: 'authorize',
  sent_at: '2026-11-23T13:00:00.000Z',
  expires_at: '2026-11-23T13:00:30.000Z',
  payload: { amount: { value: 1999, currency: 'EUR' }, order_id: 'ord-1001' },
};

const reply: ReplyDocumentInput = {
  paygate: 1,
  kind: 'reply',
  id: OTHER_ID,
  request_id: ID,
  provider: 'card',
  type: 'authorize',
  sent_at: '2026-11-23T13:00:01.250Z',
  status: 'approved',
  result: { authorization: 'A1B2C3' },
};

function schemaError(fn: () => unknown): WireError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    expect((error as WireError).code).toBe('SCHEMA_INVALID');
    return error as WireError;
  }
  throw new Error('expected SCHEMA_INVALID');
}

describe('request document', () => {
  it("accepts the wire contract's example", () => {
    expect(parseRequestDocument(request)).toEqual(request);
  });

  it('defaults idempotency_key to id, in its schema position', () => {
    const { idempotency_key: _dropped, ...withoutKey } = request;
    const doc = parseRequestDocument(withoutKey);
    expect(doc.idempotency_key).toBe(ID);
    expect(Object.keys(doc)).toEqual(Object.keys(request));
  });

  it('puts keys in schema order whatever the input order, so encoding is deterministic', () => {
    const shuffled = Object.fromEntries(Object.entries(request).reverse());
    const doc = parseRequestDocument(shuffled);
    expect(Object.keys(doc)).toEqual(Object.keys(request));
    expect(encodeYaml(doc)).toBe(encodeYaml(parseRequestDocument(request)));
  });

  it('round-trips through YAML', () => {
    const text = encodeYaml(parseRequestDocument(request));
    expect(text.startsWith('paygate: 1\nkind: request\nid: 6f1c8b2a')).toBe(true);
    expect(parseRequestDocument(decodeYaml(text))).toEqual(request);
  });

  it.each([
    ['paygate', { paygate: 2 }],
    ['kind', { kind: 'reply' }],
    ['id', { id: 'not-a-uuid' }],
    ['idempotency_key', { idempotency_key: '' }],
    ['idempotency_key', { idempotency_key: 'x'.repeat(129) }],
    ['idempotency_key', { idempotency_key: 'tab\there' }],
    ['idempotency_key', { idempotency_key: 'naïve' }],
    ['provider', { provider: 'Card' }],
    ['provider', { provider: 'paygate.card' }],
    ['type', { type: '' }],
    ['type', { type: '3ds' }],
    ['sent_at', { sent_at: '2026-11-23T13:00:00Z' }],
    ['sent_at', { sent_at: '2026-11-23T14:00:00.000+01:00' }],
    ['sent_at', { sent_at: '2026-02-30T13:00:00.000Z' }],
    ['expires_at', { expires_at: '2026-11-23T13:00:00.000Z' }],
    ['expires_at', { expires_at: '2026-11-23T12:59:59.999Z' }],
    ['payload', { payload: [] }],
    ['payload', { payload: 'x' }],
  ])('refuses a bad %s, naming the path', (path, change) => {
    const e = schemaError(() => parseRequestDocument({ ...request, ...change }));
    expect(e.message).toMatch(new RegExp(`(^|: |; )${path}: `));
  });

  it('accepts a printable ASCII key of 128 characters and names with _ and -', () => {
    const doc = parseRequestDocument({ ...request, idempotency_key: '~'.repeat(128), provider: 'gift-card', type: 'pre_auth' });
    expect(doc.provider).toBe('gift-card');
  });

  it('refuses missing fields and unknown keys', () => {
    const { payload: _p, ...noPayload } = request;
    expect(schemaError(() => parseRequestDocument(noPayload)).message).toMatch(/payload: /);
    expect(schemaError(() => parseRequestDocument({ ...request, 'idempotency-key': 'x' })).message).toMatch(
      /Unrecognized key/,
    );
    expect(schemaError(() => parseRequestDocument(null)).message).toMatch(/\(document\)/);
  });

  it('never puts input values in the message', () => {
    const bad = { ...request, id: 'x'.repeat(40), idempotency_key: 'secret\u0000', provider: 'Secret-Provider', type: 'x'.repeat(100), sent_at: 'yesterday' };
    const e = schemaError(() => parseRequestDocument(bad));
    for (const value of ['xxxxxxxx', 'secret', 'Secret-Provider', 'yesterday']) expect(e.message).not.toContain(value);
    expect(e.cause).toBeUndefined();
  });

  it('shows unknown keys only when they are plain names (keys are input too)', () => {
    const split = { '4111 1111': 1, '1111 1111': 2 };
    const e = schemaError(() => parseRequestDocument({ ...request, 'idempotency-key': 'x', 'line\nbreak': 1, ['k'.repeat(65)]: 1, ...split }));
    const hidden = '"(a key not shown)"';
    expect(e.message).toContain(`Unrecognized keys: "idempotency-key", ${hidden}, ${hidden}, ${hidden}, ${hidden}`);
    expect(e.message).not.toMatch(/line|kkkk|1111/);
    const one = schemaError(() => parseRequestDocument({ ...request, idempotency_kee: 'x' }));
    expect(one.message).toContain('(document): Unrecognized key: "idempotency_kee"');
  });

  it('lists at most ten issues', () => {
    // 8 missing required fields + 3 inside an empty error + 1 unknown key.
    const e = schemaError(() => parseReplyDocument({ error: {}, extra: 1 }));
    expect(e.message).toMatch(/; and 2 more$/);
    expect(e.message.split('; ')).toHaveLength(11);
  });
});

function cardError(fn: () => unknown): WireError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    expect((error as WireError).code).toBe('CARD_DATA_IN_TEXT');
    expect(findPans(shown(error as WireError), { thorough: true })).toEqual([]);
    return error as WireError;
  }
  throw new Error('expected CARD_DATA_IN_TEXT');
}

/** Everything an error carries that could be shown or logged. */
function shown(error: WireError): string {
  return `${error.message} ${inspect(error)} ${JSON.stringify(error)}`;
}

describe('card numbers outside the payload', () => {
  it.each([
    ['idempotency_key', { idempotency_key: PAN }],
    ['idempotency_key', { idempotency_key: `ord-${PAN}-auth` }],
    ['idempotency_key', { idempotency_key: '4111 1111 1111 1111' }],
    ['idempotency_key', { idempotency_key: '4111-1111-1111-1111' }],
    ['type', { type: 'x-4111-1111-1111-1111' }],
    ['provider', { provider: `p-${PAN}` }],
    ['id', { id: PAN }],
    ['sent_at', { sent_at: PAN }],
    ['paygate', { paygate: Number(PAN) }],
    ['extra', { extra: { deep: [PAN] } }],
    ['(a key)', { [PAN]: 'x' }],
  ])('refuses a card number in %s with CARD_DATA_IN_TEXT naming the field, never the value', (field, change) => {
    const e = cardError(() => parseRequestDocument({ ...request, ...change }));
    expect(e.message).toMatch(new RegExp(`^request document: ${field.replace(/[()]/g, '\\$&')}(\\.|\\s)`));
    expect(e.message).toContain("card numbers belong only in the payload's card fields");
    // The bare schema refuses it too, for callers that do not go through parseRequestDocument.
    expect(requestDocumentSchema.safeParse({ ...request, ...change }).success).toBe(false);
  });

  it('names a nested field by its path, and a strange key by a placeholder', () => {
    expect(cardError(() => parseRequestDocument({ ...request, extra: { deep: [PAN] } })).message).toMatch(/^request document: extra\.deep\.0 /);
    expect(cardError(() => parseRequestDocument({ ...request, 'a\nb': { c: PAN } })).message).toMatch(/^request document: \(a key not shown\)\.c /);
  });

  it('wins over every other schema problem', () => {
    const e = cardError(() => parseRequestDocument({ ...request, kind: 'nope', id: 'x', idempotency_key: PAN }));
    expect(e.message).toMatch(/^request document: idempotency_key /);
  });

  it('leaves the payload to the provider schema, and accepts references that are not card numbers', () => {
    expect(parseRequestDocument({ ...request, payload: { card: { number: PAN } } }).payload).toEqual({ card: { number: PAN } });
    // Too short, a UUID, short numbers joined by dashes: none is a card number.
    for (const key of ['411111111111', ID, 'ord-2026-11-23-0001', 'shop-1/order-123456/auth']) {
      expect(parseRequestDocument({ ...request, idempotency_key: key }).idempotency_key).toBe(key);
    }
  });
});

describe('reply document', () => {
  it('accepts a reply and keeps schema order', () => {
    const doc = parseReplyDocument(Object.fromEntries(Object.entries(reply).reverse()));
    expect(doc).toEqual(reply);
    expect(Object.keys(doc)).toEqual(Object.keys(reply));
    expect(parseReplyDocument(decodeYaml(encodeYaml(doc)))).toEqual(reply);
  });

  it.each(['approved', 'declined', 'pending', 'action_required', 'unknown'])('accepts status %s without error', (status) => {
    expect(replyDocumentSchema.safeParse({ ...reply, status }).success).toBe(true);
  });

  it('requires error when status is error', () => {
    const e = schemaError(() => parseReplyDocument({ ...reply, status: 'error', result: undefined }));
    expect(e.message).toMatch(/error: required when status is error/);
    const withError = {
      ...reply,
      status: 'error',
      error: { code: 'PROVIDER_TIMEOUT', message: 'no answer in 30 s', retryable: false },
    };
    expect(parseReplyDocument(withError).error?.code).toBe('PROVIDER_TIMEOUT');
  });

  it('allows an error with other statuses (a decline with its reason)', () => {
    const declined = { ...reply, status: 'declined', error: { code: 'CARD_DECLINED', message: 'declined', retryable: false } };
    expect(parseReplyDocument(declined).status).toBe('declined');
  });

  it.each([
    ['status', { status: 'ok' }],
    ['request_id', { request_id: 'nope' }],
    ['result', { result: [1] }],
    ['error.code', { error: { code: 'lower', message: 'm', retryable: true } }],
    ['error.retryable', { error: { code: 'X', message: 'm', retryable: 'yes' } }],
    ['error', { error: { code: 'X', message: 'm', retryable: true, extra: 1 } }],
    ['kind', { kind: 'request' }],
  ])('refuses a bad %s', (path, change) => {
    const e = schemaError(() => parseReplyDocument({ ...reply, ...change }));
    expect(e.message).toMatch(new RegExp(`(^|: |; )${path.replace('.', '\\.')}: `));
  });
});

describe('schemas', () => {
  it('are exported for composition (payload and result stay open mappings)', () => {
    const parsed = requestDocumentSchema.parse({ ...request, payload: { anything: { goes: [1, 2] } } });
    expect(parsed.payload).toEqual({ anything: { goes: [1, 2] } });
  });
});
