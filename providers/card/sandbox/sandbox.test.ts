/**
 * The CardGate sandbox through a real `soap` client (WSDL fetched from the sandbox, WS-Security
 * UsernameToken, TLS trusting the dev CA): every test card and response code, idempotency,
 * capture/refund/void rules, Status, authentication and the no-PAN rule for ledger and logs.
 * The knobs are in knobs.test.ts.
 */
import type * as soap from 'soap';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findPans } from '../../../test/helpers/pan-scan.ts';
import { makeTestPki, type TestPki } from '../../../test/helpers/pki.ts';
import { startCardSandbox, type CardSandbox } from './index.ts';
import { call, cardClient, envelope, EXP, fault, PASSWORD, rawRequest, USERNAME } from './test-client.ts';

let pki: TestPki;
let sandbox: CardSandbox;
let client: soap.Client;
const logLines: string[] = [];

beforeAll(async () => {
  pki = await makeTestPki({ algo: 'ec' });
  sandbox = await startCardSandbox({
    tls: { cert: pki.tls.certPem, key: pki.tls.keyPem },
    username: USERNAME,
    password: PASSWORD,
    log: (line) => logLines.push(line),
  });
  client = await cardClient(sandbox, pki.ca.certPem);
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

let refs = 0;
const ref = () => `order-${++refs}`;
const payment = (number: string, fields: Record<string, unknown> = {}) => ({
  MerchantRef: ref(),
  Amount: 1000,
  Currency: 'USD',
  Card: { Number: number, ...EXP, Cvv: '123' },
  ...fields,
});

describe('options', () => {
  it('are checked: a missing TLS pair or an unknown option is refused', async () => {
    await expect(startCardSandbox({} as never)).rejects.toThrow(/tls/);
    await expect(startCardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, prot: 1 } as never)).rejects.toThrow(/prot/);
  });
});

describe('WSDL', () => {
  it('is served at wsdlUrl with the sandbox address written in', async () => {
    const answer = await rawRequest(sandbox.wsdlUrl, pki.ca.certPem);
    expect(answer).toMatchObject({ kind: 'answer', status: 200 });
    const body = answer.kind === 'answer' ? answer.body : '';
    expect(body).toContain(`<soap:address location="${sandbox.url}"/>`);
    for (const op of ['Authorize', 'Capture', 'Sale', 'Refund', 'Void', 'Status']) {
      expect(body).toContain(`<wsdl:operation name="${op}">`);
    }
    expect(sandbox.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/cardgate$/);
  });
});

describe('test cards', () => {
  it.each([
    ['4111111111111111', '00', 'Y', 'M'],
    ['4000000000000002', '05', 'A', 'M'],
    ['4000000000009995', '51', 'Z', 'M'],
    ['4000000000000069', '54', 'U', 'M'],
    ['4000000000000127', '82', 'N', 'N'],
    ['4000000000020042', '00', 'A', 'M'],
    ['4000000000020034', '00', 'Z', 'M'],
    ['4000000000020026', '00', 'N', 'M'],
    ['4000000000020018', '00', 'U', 'M'],
    ['4000000000020083', '00', 'A', 'U'],
  ])('%s answers %s (AVS %s, CVV %s)', async (number, code, avs, cvv) => {
    const request = payment(number);
    const result = await call(client, 'Authorize', request);
    expect(result).toMatchObject({ ResponseCode: code, AvsResult: avs, CvvResult: cvv, Amount: '1000', Currency: 'USD' });
    expect(result.AuthCode !== undefined).toBe(code === '00');
    const [entry, ...more] = sandbox.ledger.entries;
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      transactionId: result.TransactionId,
      merchantRef: request.MerchantRef,
      type: 'authorize',
      amount: 1000,
      state: code === '00' ? 'authorized' : 'declined',
      responseCode: code,
      card: { first6: number.slice(0, 6), last4: number.slice(-4) },
    });
  });

  it('a Luhn-invalid number is 14, with no AVS/CVV result', async () => {
    const result = await call(client, 'Authorize', payment('4111111111111112'));
    expect(result).toMatchObject({ ResponseCode: '14', ResponseText: 'invalid card number' });
    expect(result.AvsResult).toBeUndefined();
    expect(sandbox.ledger.entries[0]?.state).toBe('declined');
  });

  it('an expiry month that has ended is 54; no CVV sent is CvvResult P', async () => {
    const expired = await call(client, 'Sale', payment('4111111111111111', { Card: { Number: '4111111111111111', ExpMonth: 1, ExpYear: 2020 } }));
    expect(expired).toMatchObject({ ResponseCode: '54', CvvResult: 'P' });
  });

  it('amount 0 or above the maximum is 13', async () => {
    expect(await call(client, 'Authorize', payment('4111111111111111', { Amount: 0 }))).toMatchObject({ ResponseCode: '13' });
    expect(await call(client, 'Sale', payment('4111111111111111', { Amount: 100_000_000 }))).toMatchObject({ ResponseCode: '13' });
  });

  it('an amount ending in 96 is a soap:Server fault (96) and charges nothing', async () => {
    const found = await fault(client, 'Sale', payment('4111111111111111', { Amount: 1096 }));
    expect(found).toMatchObject({ faultcode: 'soap:Server', faultstring: 'system error', detail: { CardGateFault: { ResponseCode: '96' } } });
    expect(sandbox.ledger.size).toBe(0);
  });

  it('a Sale is captured at once', async () => {
    const result = await call(client, 'Sale', payment('4111111111111111'));
    expect(result.ResponseCode).toBe('00');
    expect(sandbox.ledger.entries[0]).toMatchObject({ type: 'sale', state: 'captured', captured: 1000 });
  });
});

describe('idempotency by MerchantRef', () => {
  it('a repeated Authorize returns the original transaction and writes nothing', async () => {
    const request = payment('4111111111111111');
    const first = await call(client, 'Authorize', request);
    const again = await call(client, 'Authorize', { ...request, Amount: 5000 });
    expect(again).toEqual(first);
    expect(sandbox.ledger.size).toBe(1);
    expect(sandbox.calls.Authorize).toBe(2);
  });

  it('a repeated declined Sale replays the decline', async () => {
    const request = payment('4000000000000002');
    expect(await call(client, 'Sale', request)).toEqual(await call(client, 'Sale', request));
    expect(sandbox.ledger.size).toBe(1);
  });

  it('a MerchantRef reused for another operation is 12', async () => {
    const request = payment('4111111111111111');
    await call(client, 'Authorize', request);
    expect(await call(client, 'Sale', request)).toMatchObject({ ResponseCode: '12' });
    expect(sandbox.ledger.size).toBe(1);
  });
});

describe('capture, void, refund', () => {
  const authorize = async (amount = 1000) => {
    const result = await call(client, 'Authorize', payment('4111111111111111', { Amount: amount }));
    return String(result.TransactionId);
  };

  it('a partial capture captures that much, once', async () => {
    const id = await authorize();
    const captured = await call(client, 'Capture', { MerchantRef: ref(), TransactionId: id, Amount: 600 });
    expect(captured).toMatchObject({ ResponseCode: '00', Amount: '600', Currency: 'USD' });
    expect(sandbox.ledger.byTransactionId(id)).toMatchObject({ state: 'captured', captured: 600 });
    expect(sandbox.ledger.byTransactionId(String(captured.TransactionId))).toMatchObject({ type: 'capture', parentId: id, amount: 600 });
    expect(await call(client, 'Capture', { MerchantRef: ref(), TransactionId: id })).toMatchObject({ ResponseCode: '12' });
  });

  it('capturing more than authorized is 13; unknown or voided transactions are 12', async () => {
    const id = await authorize();
    expect(await call(client, 'Capture', { MerchantRef: ref(), TransactionId: id, Amount: 1001 })).toMatchObject({ ResponseCode: '13' });
    expect(await call(client, 'Capture', { MerchantRef: ref(), TransactionId: 'cg-999999' })).toMatchObject({ ResponseCode: '12' });
    expect(await call(client, 'Void', { MerchantRef: ref(), TransactionId: id })).toMatchObject({ ResponseCode: '00' });
    expect(await call(client, 'Capture', { MerchantRef: ref(), TransactionId: id })).toMatchObject({ ResponseCode: '12' });
    expect(await call(client, 'Void', { MerchantRef: ref(), TransactionId: id })).toMatchObject({ ResponseCode: '12' });
    expect(sandbox.ledger.entries.map((e) => [e.type, e.state])).toEqual([
      ['authorize', 'voided'],
      ['void', 'voided'],
    ]);
  });

  it('refunds in parts up to what was captured, then the payment is refunded', async () => {
    const sale = await call(client, 'Sale', payment('4111111111111111'));
    const id = String(sale.TransactionId);
    expect(await call(client, 'Refund', { MerchantRef: ref(), TransactionId: id, Amount: 400 })).toMatchObject({ ResponseCode: '00', Amount: '400' });
    expect(await call(client, 'Refund', { MerchantRef: ref(), TransactionId: id, Amount: 700 })).toMatchObject({ ResponseCode: '13' });
    expect(await call(client, 'Refund', { MerchantRef: ref(), TransactionId: id })).toMatchObject({ ResponseCode: '00', Amount: '600' });
    expect(sandbox.ledger.byTransactionId(id)).toMatchObject({ state: 'refunded', refunded: 1000 });
    expect(await call(client, 'Refund', { MerchantRef: ref(), TransactionId: id, Amount: 1 })).toMatchObject({ ResponseCode: '12' });
  });

  it('a captured sale can be voided; a refund may name the capture', async () => {
    const sold = await call(client, 'Sale', payment('4111111111111111'));
    expect(await call(client, 'Void', { MerchantRef: ref(), TransactionId: sold.TransactionId })).toMatchObject({ ResponseCode: '00', Amount: '1000' });
    expect(sandbox.ledger.byTransactionId(String(sold.TransactionId))?.state).toBe('voided');
    const id = await authorize();
    const captured = await call(client, 'Capture', { MerchantRef: ref(), TransactionId: id });
    expect(await call(client, 'Refund', { MerchantRef: ref(), TransactionId: captured.TransactionId, Amount: 250 })).toMatchObject({ ResponseCode: '00' });
    expect(sandbox.ledger.byTransactionId(id)).toMatchObject({ state: 'captured', captured: 1000, refunded: 250 });
  });

  it('an authorization that was never captured cannot be refunded (12)', async () => {
    const id = await authorize();
    expect(await call(client, 'Refund', { MerchantRef: ref(), TransactionId: id })).toMatchObject({ ResponseCode: '12' });
  });
});

describe('Status', () => {
  it('reports what the ledger knows for a MerchantRef', async () => {
    const request = payment('4111111111111111');
    const auth = await call(client, 'Authorize', request);
    await call(client, 'Capture', { MerchantRef: ref(), TransactionId: auth.TransactionId });
    const status = await call(client, 'Status', { MerchantRef: request.MerchantRef });
    expect(status).toMatchObject({
      ResponseCode: '00',
      State: 'captured',
      Operation: 'Authorize',
      TransactionId: auth.TransactionId,
      OriginalResponseCode: '00',
      AuthCode: auth.AuthCode,
    });
  });

  it('reports a decline with its original code, and not_found for an unknown MerchantRef', async () => {
    const declined = payment('4000000000009995');
    await call(client, 'Sale', declined);
    expect(await call(client, 'Status', { MerchantRef: declined.MerchantRef })).toMatchObject({ State: 'declined', OriginalResponseCode: '51' });
    const unknown = await call(client, 'Status', { MerchantRef: 'never-sent' });
    expect(unknown).toMatchObject({ ResponseCode: '00', State: 'not_found' });
    expect(unknown.TransactionId).toBeUndefined();
  });
});

describe('authentication and bad requests', () => {
  it('a wrong password is a soap:Client "authentication failed" fault and charges nothing', async () => {
    const intruder = await cardClient(sandbox, pki.ca.certPem, { password: 'wrong' });
    const found = await fault(intruder, 'Sale', payment('4111111111111111'));
    expect(found).toMatchObject({ faultcode: 'soap:Client', faultstring: 'authentication failed' });
    expect(sandbox.ledger.size).toBe(0);
    expect(sandbox.calls.Sale).toBe(1);
  });

  it('a missing UsernameToken is the same fault, a well-formed SOAP 1.1 envelope with HTTP 500', async () => {
    const bare = envelope('Status', '<MerchantRef>x</MerchantRef>').replace(/<soap:Header>.*<\/soap:Header>/, '');
    const answer = await rawRequest(sandbox.url, pki.ca.certPem, bare);
    expect(answer).toMatchObject({ kind: 'answer', status: 500 });
    const body = answer.kind === 'answer' ? answer.body : '';
    expect(body).toMatch(/^<\?xml[^>]*\?><soap:Envelope xmlns:soap="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/"/);
    expect(body).toContain('<soap:Fault><faultcode>soap:Client</faultcode><faultstring>authentication failed</faultstring>');
  });

  it('accepts a PasswordDigest token', async () => {
    const digest = await cardClient(sandbox, pki.ca.certPem, { passwordType: 'PasswordDigest' });
    expect(await call(digest, 'Status', { MerchantRef: 'x' })).toMatchObject({ State: 'not_found' });
    const wrong = await cardClient(sandbox, pki.ca.certPem, { passwordType: 'PasswordDigest', password: 'wrong' });
    expect(await fault(wrong, 'Status', { MerchantRef: 'x' })).toMatchObject({ faultstring: 'authentication failed' });
  });

  it('a request that breaks the schema is a soap:Client fault naming the path, not the value', async () => {
    const found = await fault(client, 'Authorize', payment('4111111111111111', { Card: { Number: '4111111111111111', ExpMonth: 13, ExpYear: 2039 } }));
    expect(found).toMatchObject({ faultcode: 'soap:Client' });
    expect(String(found.faultstring)).toMatch(/^invalid request: Card\.ExpMonth: must be 1–12$/);
    const noRef = await fault(client, 'Status', {});
    expect(String(noRef.faultstring)).toContain('MerchantRef');
  });
});

describe('card data', () => {
  it('never reaches the ledger or a log line in full, nor does a CVV or the password', async () => {
    for (const number of ['4111111111111111', '4000000000000002', '5555555555554444', '4111111111111112']) {
      await call(client, 'Authorize', payment(number, { Card: { Number: number, ...EXP, Cvv: '9731' } }));
    }
    await fault(client, 'Sale', payment('4111111111111111', { Amount: 2096 }));
    const ledger = JSON.stringify(sandbox.ledger.entries);
    expect(findPans(ledger, { thorough: true })).toEqual([]);
    expect(ledger).not.toContain('9731');
    expect(logLines.length).toBeGreaterThan(10);
    const logs = logLines.join('\n');
    expect(logs).toContain('<Cvv>***</Cvv>');
    expect(findPans(logs)).toEqual([]);
    expect(logs).not.toContain('4111111111111112');
    expect(logs).not.toMatch(/Cvv>\d/);
    expect(logs).not.toContain('9731');
    expect(logs).not.toContain(PASSWORD);
  });
});
