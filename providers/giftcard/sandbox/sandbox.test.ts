import { describe, expect, it } from 'vitest';
import { TEST_GIFTCARDS } from './test-data.ts';
import { call, CARD, post, useSandbox } from './test-support.ts';

const fixture = useSandbox();

/** The README's card table, written out independently of test-data.ts. */
const CARDS: [string, string, string, string | null][] = [
  ['6036280000000011', '1234', '10000 EUR', null],
  ['6036280000000029', '4321', '2500 EUR', null],
  ['6036280000000037', '0000', '0 EUR', null],
  ['6036280000000045', '1111', '5000 EUR', 'card_blocked'],
  ['6036280000000052', '2222', '5000 USD', null],
  ['6036280000000094', '9999', '', 'card_not_found'],
];

describe('giftcard sandbox: balance and the test cards', () => {
  it('documents exactly the cards of the table', () => {
    expect(Object.keys(TEST_GIFTCARDS).sort()).toEqual(CARDS.slice(0, -1).map(([card]) => card).sort());
  });

  it.each(CARDS)('card %s (PIN %s): balance %s, decline %s', async (card, pin, balance, decline) => {
    const answer = await call(fixture, { type: 'balance', card, pin });
    if (decline === null) expect(answer).toMatchObject({ http: '200', result: 'approved', code: 'ok', message: 'Approved', balance });
    else expect(answer).toMatchObject({ http: '200', result: 'declined', code: decline });
  });

  it('answers application/xml in the documented shape', async () => {
    const answer = await post(fixture, `<request><type>balance</type><card>${CARD.card}</card><pin>1234</pin></request>`);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^application\/xml/);
    expect(answer.body).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<response>\s*<result>approved<\/result>\s*<code>ok<\/code>\s*<message>Approved<\/message>\s*<balance currency="EUR">10000<\/balance>\s*<\/response>\s*$/);
  });

  it('declines a wrong PIN', async () => {
    expect(await call(fixture, { type: 'balance', card: CARD.card, pin: '9999' })).toMatchObject({ result: 'declined', code: 'invalid_pin' });
  });
});

describe('giftcard sandbox: redeem and reload', () => {
  it('redeems, records one masked ledger entry and lowers the balance', async () => {
    const answer = await call(fixture, { type: 'redeem', ...CARD, amount: [1500, 'EUR'], reference: 'order-1' });
    expect(answer).toMatchObject({ result: 'approved', code: 'ok', reference: 'order-1', amount: '1500 EUR', balance: '8500 EUR' });
    expect(answer.transaction).toMatch(/^GC[A-Z0-9]{12}$/);
    expect(fixture.sandbox.ledger).toEqual([expect.objectContaining({
      id: answer.transaction, reference: 'order-1', type: 'redeem', amount: 1500, currency: 'EUR', state: 'completed', parentId: null, card: '603628******0011',
    })]);
    expect((await call(fixture, { type: 'balance', ...CARD })).balance).toBe('8500 EUR');
  });

  it('declines more than the balance, the empty card, a wrong PIN, a blocked, unknown or foreign-currency card', async () => {
    expect(await call(fixture, { type: 'redeem', ...CARD, amount: [10_001 + 1, 'EUR'], reference: 'r1' })).toMatchObject({ result: 'declined', code: 'insufficient_balance', balance: '10000 EUR' });
    expect((await call(fixture, { type: 'redeem', card: '6036280000000037', pin: '0000', amount: [1, 'EUR'], reference: 'r2' })).code).toBe('insufficient_balance');
    expect((await call(fixture, { type: 'redeem', card: CARD.card, pin: '4321', amount: [100, 'EUR'], reference: 'r3' })).code).toBe('invalid_pin');
    expect((await call(fixture, { type: 'redeem', card: '6036280000000045', pin: '1111', amount: [100, 'EUR'], reference: 'r4' })).code).toBe('card_blocked');
    expect((await call(fixture, { type: 'redeem', card: '6036280000000094', pin: '1234', amount: [100, 'EUR'], reference: 'r5' })).code).toBe('card_not_found');
    expect((await call(fixture, { type: 'redeem', ...CARD, amount: [100, 'USD'], reference: 'r6' })).code).toBe('currency_mismatch');
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it('redeems the whole balance exactly, then declines one cent more', async () => {
    expect((await call(fixture, { type: 'redeem', card: '6036280000000029', pin: '4321', amount: [2500, 'EUR'], reference: 'all' })).balance).toBe('0 EUR');
    expect((await call(fixture, { type: 'redeem', card: '6036280000000029', pin: '4321', amount: [1, 'EUR'], reference: 'more' })).code).toBe('insufficient_balance');
  });

  it('reloads without a PIN, checks a PIN that is sent, and declines blocked cards', async () => {
    expect(await call(fixture, { type: 'reload', card: '6036280000000037', amount: [2000, 'EUR'], reference: 'load-1' })).toMatchObject({ result: 'approved', balance: '2000 EUR' });
    expect((await call(fixture, { type: 'reload', card: '6036280000000037', pin: '1234', amount: [1, 'EUR'], reference: 'load-2' })).code).toBe('invalid_pin');
    expect((await call(fixture, { type: 'reload', card: '6036280000000045', amount: [1, 'EUR'], reference: 'load-3' })).code).toBe('card_blocked');
    expect(fixture.sandbox.ledger.map((entry) => [entry.type, entry.amount])).toEqual([['reload', 2000]]);
  });

  it('answers 10001 minor units with the retryable internal_error, records nothing and leaves the reference free', async () => {
    expect(await call(fixture, { type: 'redeem', ...CARD, amount: [10_001, 'EUR'], reference: 'ie' })).toMatchObject({ http: '200', result: 'error', code: 'internal_error' });
    expect((await call(fixture, { type: 'reload', ...CARD, amount: [10_001, 'EUR'], reference: 'ie' })).code).toBe('internal_error');
    expect(fixture.sandbox.ledger).toEqual([]);
    expect((await call(fixture, { type: 'redeem', ...CARD, amount: [10_000, 'EUR'], reference: 'ie' })).result).toBe('approved');
  });
});

describe('giftcard sandbox: references (idempotency)', () => {
  it('answers a repeated reference with the original answer and moves money once', async () => {
    const first = await post(fixture, `<request><type>redeem</type><card>${CARD.card}</card><pin>1234</pin><amount currency="EUR">700</amount><reference>same</reference></request>`);
    const again = await post(fixture, `<request><type>redeem</type><card>${CARD.card}</card><pin>1234</pin><amount currency="EUR">900</amount><reference>same</reference></request>`);
    expect(again.body).toBe(first.body);
    expect(fixture.sandbox.ledger).toHaveLength(1);
    expect((await call(fixture, { type: 'balance', ...CARD })).balance).toBe('9300 EUR');
    expect(fixture.sandbox.logLines.at(-2)).toContain('replayed for reference');
  });

  it('replays a decline too, and refuses a reference reused by another type', async () => {
    const declined = await call(fixture, { type: 'redeem', card: '6036280000000037', pin: '0000', amount: [100, 'EUR'], reference: 'k' });
    await call(fixture, { type: 'reload', card: '6036280000000037', amount: [500, 'EUR'], reference: 'k2' });
    expect(await call(fixture, { type: 'redeem', card: '6036280000000037', pin: '0000', amount: [100, 'EUR'], reference: 'k' })).toEqual(declined);
    expect(await call(fixture, { type: 'reload', ...CARD, amount: [100, 'EUR'], reference: 'k2x' })).toMatchObject({ result: 'approved' });
    expect(await call(fixture, { type: 'redeem', ...CARD, amount: [100, 'EUR'], reference: 'k2' })).toMatchObject({ http: '409', result: 'error', code: 'reference_conflict' });
  });
});

describe('giftcard sandbox: void and status', () => {
  it('voids a redeem: the balance comes back, the redeem is voided, a second void is declined', async () => {
    const redeem = await call(fixture, { type: 'redeem', ...CARD, amount: [4000, 'EUR'], reference: 'v-1' });
    const voided = await call(fixture, { type: 'void', transaction: redeem.transaction ?? '', reference: 'void-1' });
    expect(voided).toMatchObject({ result: 'approved', amount: '4000 EUR', balance: '10000 EUR', reference: 'void-1' });
    expect(fixture.sandbox.ledger.map((entry) => [entry.type, entry.state, entry.parentId, entry.card])).toEqual([
      ['redeem', 'voided', null, '603628******0011'], ['void', 'completed', redeem.transaction, '603628******0011'],
    ]);
    expect((await call(fixture, { type: 'void', transaction: redeem.transaction ?? '' })).code).toBe('already_voided');
    expect((await call(fixture, { type: 'void', transaction: redeem.transaction ?? '', reference: 'void-1' })).transaction).toBe(voided.transaction);
    expect((await call(fixture, { type: 'void', transaction: voided.transaction ?? '' })).code).toBe('transaction_not_found');
    expect((await call(fixture, { type: 'void', transaction: 'GCNOPE' })).code).toBe('transaction_not_found');
  });

  it('voids a reload only while the balance covers it', async () => {
    const reload = await call(fixture, { type: 'reload', card: '6036280000000029', amount: [1000, 'EUR'], reference: 'l-1' });
    await call(fixture, { type: 'redeem', card: '6036280000000029', pin: '4321', amount: [3000, 'EUR'], reference: 'l-2' });
    expect(await call(fixture, { type: 'void', transaction: reload.transaction ?? '' })).toMatchObject({ result: 'declined', code: 'insufficient_balance', balance: '500 EUR' });
    await call(fixture, { type: 'reload', card: '6036280000000029', amount: [500, 'EUR'], reference: 'l-3' });
    expect(await call(fixture, { type: 'void', transaction: reload.transaction ?? '' })).toMatchObject({ result: 'approved', balance: '0 EUR' });
  });

  it('status finds a movement by reference or transaction and reports its state; unknown is not_found', async () => {
    const redeem = await call(fixture, { type: 'redeem', ...CARD, amount: [250, 'EUR'], reference: 's-1' });
    expect(await call(fixture, { type: 'status', reference: 's-1' })).toMatchObject({
      result: 'approved', code: 'ok', transaction: redeem.transaction, reference: 's-1', type: 'redeem', state: 'completed',
      card: '603628******0011', amount: '250 EUR', balance: '9750 EUR',
    });
    await call(fixture, { type: 'void', transaction: redeem.transaction ?? '', reference: 's-2' });
    expect((await call(fixture, { type: 'status', transaction: redeem.transaction ?? '' })).state).toBe('voided');
    expect(await call(fixture, { type: 'status', reference: 's-2' })).toMatchObject({ type: 'void', original: redeem.transaction });
    expect(await call(fixture, { type: 'status', reference: 'never' })).toMatchObject({ result: 'declined', code: 'not_found' });
    expect(fixture.sandbox.ledger).toHaveLength(2);
  });
});

describe('giftcard sandbox: API key and request checks', () => {
  it.each([['a wrong key', 'wrong-key-123'], ['no key', null]])('answers %s with 401 unauthorized and moves nothing', async (_what, apiKey) => {
    expect(await call(fixture, { type: 'redeem', ...CARD, amount: [100, 'EUR'], reference: 'x' }, { apiKey })).toMatchObject({ http: '401', result: 'error', code: 'unauthorized' });
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it.each([
    ['not XML', 'hello'],
    ['malformed XML', '<request><type>balance</type>'],
    ['another root', '<query><type>balance</type></query>'],
    ['a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE request [<!ENTITY a "b">]><request><type>balance</type></request>'],
    ['an entity bomb', `<!DOCTYPE r [<!ENTITY a "aaaa">${[1, 2, 3].map((n) => `<!ENTITY a${n} "${'&a;'.repeat(10)}">`).join('')}]><request><type>&a3;</type></request>`],
    ['an unknown type', '<request><type>transfer</type></request>'],
    ['an unknown element', '<request><type>balance</type><card>6036280000000011</card><pin>1234</pin><cvv>1</cvv></request>'],
    ['a missing field', '<request><type>redeem</type><card>6036280000000011</card><pin>1234</pin><reference>x</reference></request>'],
    ['an amount without currency', '<request><type>reload</type><card>6036280000000011</card><amount>5</amount><reference>x</reference></request>'],
    ['a decimal amount', '<request><type>reload</type><card>6036280000000011</card><amount currency="EUR">5.00</amount><reference>x</reference></request>'],
    ['status with both keys', '<request><type>status</type><reference>a</reference><transaction>GC1</transaction></request>'],
    ['two requests', '<request><type>balance</type></request><request/>'],
  ])('answers %s with 400 invalid_request', async (_what, body) => {
    const answer = await post(fixture, body);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('<code>invalid_request</code>');
    expect(answer.body).not.toContain('6036280000000011');
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it('refuses a wrong path, a foreign content type and an oversized body', async () => {
    expect((await post(fixture, '<request/>', { contentType: 'application/json' })).status).toBe(415);
    expect((await post(fixture, `<request><reference>${'x'.repeat(70_000)}</reference></request>`)).status).toBe(413);
    const other = await fixture.agent.request({ origin: new URL(fixture.sandbox.url).origin, path: '/other', method: 'POST', body: '<request/>', headers: { 'content-type': 'application/xml' } });
    await other.body.dump();
    expect(other.statusCode).toBe(404);
  });
});
