import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { TEST_CARDS } from './test-data.ts';
import { nvp, payment, post, useSandbox } from './test-support.ts';

const fixture = useSandbox();

describe('paypal sandbox: DoDirectPayment', () => {
  it('approves a sale with PayPal-shaped fields and records one masked ledger entry', async () => {
    const answer = await post(fixture, payment({ MSGSUBID: 'order-1', INVNUM: 'INV-1' }));
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^text\/plain/);
    expect(answer.body).toMatch(/^TIMESTAMP=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\dZ&CORRELATIONID=[0-9a-f]{13}&ACK=Success&VERSION=204\.0&/);
    const fields = Object.fromEntries(new URLSearchParams(answer.body));
    expect(fields).toMatchObject({ ACK: 'Success', AMT: '19.99', CURRENCYCODE: 'EUR', AVSCODE: 'X', CVV2MATCH: 'M', MSGSUBID: 'order-1' });
    expect(fields.TRANSACTIONID).toMatch(/^[A-Z0-9]{17}$/);
    expect(fixture.sandbox.ledger).toEqual([expect.objectContaining({
      id: fields.TRANSACTIONID, reference: 'order-1', invoice: 'INV-1', type: 'sale', amount: 1999, currency: 'EUR',
      state: 'Completed', parentId: null, card: '411111******1111',
    })]);
  });

  /** The README's card table, written out independently of test-data.ts. */
  const CARDS: [string, string | null, string, string][] = [
    ['4111111111111111', null, 'X', 'M'],
    ['5555555555554444', null, 'X', 'M'],
    ['4000000000000010', null, 'N', 'M'],
    ['4000000000000259', null, 'X', 'M'],
    ['4000000000000002', '15005', 'X', 'M'],
    ['4000000000009995', '10417', 'X', 'M'],
    ['4000000000000069', '10502', 'X', 'M'],
    ['4000000000000127', '15004', 'X', 'N'],
    ['378282246310005', null, 'X', 'M'],
  ];

  it('documents exactly the cards of the table', () => {
    expect(Object.keys(TEST_CARDS).sort()).toEqual(CARDS.slice(0, -1).map(([account]) => account).sort());
  });

  it.each(CARDS)('card %s: error %s, AVSCODE %s, CVV2MATCH %s', async (account, decline, avs, cvv2) => {
    const fields = await nvp(fixture, payment({ ACCT: account }));
    expect(fields.AVSCODE).toBe(avs);
    expect(fields.CVV2MATCH).toBe(cvv2);
    if (decline === null) {
      expect(fields.ACK).toBe('Success');
      expect(fixture.sandbox.ledger).toHaveLength(1);
    } else {
      expect(fields).toMatchObject({ ACK: 'Failure', L_ERRORCODE0: decline, L_SEVERITYCODE0: 'Error', AMT: '19.99' });
      expect(fields.L_SHORTMESSAGE0).not.toBe('');
      expect(fields.L_LONGMESSAGE0).not.toBe('');
      expect(fields.TRANSACTIONID).toBeUndefined();
      expect(fixture.sandbox.ledger).toEqual([]);
    }
  });

  it.each([
    ['a number failing Luhn', { ACCT: '4111111111111112' }, '10759'],
    ['a number too short', { ACCT: '411111' }, '10759'],
    ['an expiry date in the past', { EXPDATE: '012020' }, '10502'],
    ['a malformed expiry date', { EXPDATE: '2099-12' }, '10508'],
    ['no CVV2', { CVV2: '' }, '10748'],
    ['an unsupported currency', { CURRENCYCODE: 'BHD', AMT: '1.000' }, '10605'],
    ['an amount with the wrong number of decimals', { AMT: '19.9' }, '10401'],
    ['decimals on a currency without minor units', { CURRENCYCODE: 'JPY', AMT: '1000.00' }, '10401'],
    ['a zero amount', { AMT: '0.00' }, '10401'],
    ['an unknown PAYMENTACTION', { PAYMENTACTION: 'Order' }, '10004'],
  ])('refuses %s', async (_what, overrides, code) => {
    const fields = await nvp(fixture, payment(overrides));
    expect(fields).toMatchObject({ ACK: 'Failure', L_ERRORCODE0: code, L_SEVERITYCODE0: 'Error' });
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it('takes JPY without decimals', async () => {
    const fields = await nvp(fixture, payment({ CURRENCYCODE: 'JPY', AMT: '1000' }));
    expect(fields).toMatchObject({ ACK: 'Success', AMT: '1000', CURRENCYCODE: 'JPY' });
    expect(fixture.sandbox.ledger[0]).toMatchObject({ amount: 1000, currency: 'JPY' });
  });

  it('answers 100.01 with the retryable 10001 Internal Error, records nothing and does not bind the MSGSUBID', async () => {
    const failed = await nvp(fixture, payment({ AMT: '100.01', MSGSUBID: 'retry-me' }));
    expect(failed).toMatchObject({ ACK: 'Failure', L_ERRORCODE0: '10001', L_SHORTMESSAGE0: 'Internal Error', L_SEVERITYCODE0: 'Error' });
    expect(fixture.sandbox.ledger).toEqual([]);
    const retried = await nvp(fixture, payment({ AMT: '100.00', MSGSUBID: 'retry-me' }));
    expect(retried.ACK).toBe('Success');
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });
});

describe('paypal sandbox: credentials, methods and HTTP', () => {
  it.each([
    ['a wrong password', { PWD: 'nope' }],
    ['a wrong signature', { SIGNATURE: 'nope' }],
    ['a wrong user', { USER: 'someone-else' }],
  ])('answers %s with 10002 Security error and moves nothing', async (_what, overrides) => {
    const fields = await nvp(fixture, payment(overrides));
    expect(fields).toMatchObject({ ACK: 'Failure', L_ERRORCODE0: '10002', L_SHORTMESSAGE0: 'Security error' });
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it('answers missing credentials with 10002', async () => {
    const fields = await nvp(fixture, payment(), { credentials: false });
    expect(fields.L_ERRORCODE0).toBe('10002');
  });

  it('answers an unknown METHOD with 81002', async () => {
    expect((await nvp(fixture, { METHOD: 'DoExpressCheckoutPayment' })).L_ERRORCODE0).toBe('81002');
    expect((await nvp(fixture, {})).L_ERRORCODE0).toBe('81002');
  });

  it('echoes the request VERSION', async () => {
    expect((await nvp(fixture, payment({ VERSION: '98.0' }))).VERSION).toBe('98.0');
  });

  it('refuses a wrong path, a GET, a foreign content type and an oversized body', async () => {
    const base = { method: 'POST' as const, dispatcher: fixture.agent, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    const status = async (url: string, options: Parameters<typeof request>[1]): Promise<number> => {
      const answer = await request(url, options);
      await answer.body.dump();
      return answer.statusCode;
    };
    expect(await status(fixture.sandbox.url.replace('/nvp', '/other'), { ...base, body: 'METHOD=x' })).toBe(404);
    expect(await status(fixture.sandbox.url, { method: 'GET', dispatcher: fixture.agent })).toBe(405);
    expect(await status(fixture.sandbox.url, { ...base, headers: { 'content-type': 'application/json' }, body: '{}' })).toBe(415);
    expect(await status(fixture.sandbox.url, { ...base, body: `METHOD=${'x'.repeat(70_000)}` })).toBe(413);
  });
});

describe('paypal sandbox: MSGSUBID idempotency', () => {
  it('answers a repeated MSGSUBID with the original answer and moves money once', async () => {
    const first = await post(fixture, payment({ MSGSUBID: 'same-key' }));
    const second = await post(fixture, payment({ MSGSUBID: 'same-key', AMT: '50.00' }));
    expect(second.body).toBe(first.body);
    expect(fixture.sandbox.ledger).toHaveLength(1);
    expect(fixture.sandbox.logLines.at(-1)).toContain('replayed for MSGSUBID');
  });

  it('replays a decline too', async () => {
    const first = await post(fixture, payment({ MSGSUBID: 'declined-key', ACCT: '4000000000009995' }));
    const second = await post(fixture, payment({ MSGSUBID: 'declined-key' }));
    expect(second.body).toBe(first.body);
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it('refuses a MSGSUBID reused by another METHOD, and one longer than 38 characters', async () => {
    const sale = await nvp(fixture, payment({ MSGSUBID: 'k-1' }));
    const refund = await nvp(fixture, { METHOD: 'RefundTransaction', TRANSACTIONID: sale.TRANSACTIONID ?? '', MSGSUBID: 'k-1' });
    expect(refund).toMatchObject({ ACK: 'Failure', L_ERRORCODE0: '10004' });
    const long = await nvp(fixture, payment({ MSGSUBID: 'k'.repeat(39) }));
    expect(long).toMatchObject({ ACK: 'Failure', L_ERRORCODE0: '10004' });
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it('without MSGSUBID every call moves money', async () => {
    await nvp(fixture, payment());
    await nvp(fixture, payment());
    expect(fixture.sandbox.ledger).toHaveLength(2);
  });
});
