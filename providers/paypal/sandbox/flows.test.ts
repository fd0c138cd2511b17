import { describe, expect, it } from 'vitest';
import { nvp, payment, useSandbox } from './test-support.ts';

const fixture = useSandbox();

async function authorize(overrides: Record<string, string> = {}): Promise<string> {
  const fields = await nvp(fixture, payment({ PAYMENTACTION: 'Authorization', AMT: '100.00', ...overrides }));
  expect(fields.ACK).toBe('Success');
  return fields.TRANSACTIONID ?? '';
}

async function sale(overrides: Record<string, string> = {}): Promise<string> {
  const fields = await nvp(fixture, payment({ AMT: '100.00', ...overrides }));
  expect(fields.ACK).toBe('Success');
  return fields.TRANSACTIONID ?? '';
}

const capture = (id: string, amount: string, complete: 'Complete' | 'NotComplete', extra: Record<string, string> = {}) =>
  nvp(fixture, { METHOD: 'DoCapture', AUTHORIZATIONID: id, AMT: amount, CURRENCYCODE: 'EUR', COMPLETETYPE: complete, ...extra });
const refund = (id: string, extra: Record<string, string> = {}) => nvp(fixture, { METHOD: 'RefundTransaction', TRANSACTIONID: id, ...extra });
const details = (id: string) => nvp(fixture, { METHOD: 'GetTransactionDetails', TRANSACTIONID: id });

describe('paypal sandbox: authorization, capture, void', () => {
  it('captures partially, then completes, and refuses anything further', async () => {
    const auth = await authorize({ INVNUM: 'INV-7' });
    expect(await details(auth)).toMatchObject({ TRANSACTIONTYPE: 'Authorization', PAYMENTSTATUS: 'Pending', PENDINGREASON: 'authorization' });
    const first = await capture(auth, '30.00', 'NotComplete', { MSGSUBID: 'cap-1' });
    expect(first).toMatchObject({ ACK: 'Success', AUTHORIZATIONID: auth, PARENTTRANSACTIONID: auth, AMT: '30.00', PAYMENTSTATUS: 'Completed', MSGSUBID: 'cap-1' });
    expect(first.TRANSACTIONID).not.toBe(auth);
    expect((await capture(auth, '70.01', 'NotComplete')).L_ERRORCODE0).toBe('10610');
    expect((await capture(auth, '20.00', 'Complete')).ACK).toBe('Success');
    expect((await capture(auth, '1.00', 'NotComplete')).L_ERRORCODE0).toBe('10602');
    expect((await nvp(fixture, { METHOD: 'DoVoid', AUTHORIZATIONID: auth })).L_ERRORCODE0).toBe('10602');
    expect((await details(auth)).PAYMENTSTATUS).toBe('Completed');
    expect(fixture.sandbox.ledger.map((entry) => [entry.type, entry.amount, entry.parentId, entry.invoice])).toEqual([
      ['authorization', 10000, null, 'INV-7'], ['capture', 3000, auth, 'INV-7'], ['capture', 2000, auth, 'INV-7'],
    ]);
  });

  it('closes the authorization when the captures reach its amount', async () => {
    const auth = await authorize();
    expect((await capture(auth, '100.00', 'NotComplete')).ACK).toBe('Success');
    expect((await capture(auth, '0.01', 'NotComplete')).L_ERRORCODE0).toBe('10602');
  });

  it('voids what is still authorized, then refuses capture and a second void with 10600', async () => {
    const auth = await authorize();
    await capture(auth, '40.00', 'NotComplete');
    const voided = await nvp(fixture, { METHOD: 'DoVoid', AUTHORIZATIONID: auth, MSGSUBID: 'void-1' });
    expect(voided).toMatchObject({ ACK: 'Success', AUTHORIZATIONID: auth, MSGSUBID: 'void-1' });
    expect(fixture.sandbox.ledger.at(-1)).toMatchObject({ type: 'void', amount: 6000, parentId: auth, reference: 'void-1' });
    expect(fixture.sandbox.ledger[0]?.state).toBe('Voided');
    expect((await capture(auth, '1.00', 'NotComplete')).L_ERRORCODE0).toBe('10600');
    expect((await nvp(fixture, { METHOD: 'DoVoid', AUTHORIZATIONID: auth })).L_ERRORCODE0).toBe('10600');
  });

  it('answers 10601 for an authorization on the expired-authorization card', async () => {
    const auth = await authorize({ ACCT: '4000000000000259' });
    expect((await capture(auth, '1.00', 'Complete')).L_ERRORCODE0).toBe('10601');
    expect((await nvp(fixture, { METHOD: 'DoVoid', AUTHORIZATIONID: auth })).L_ERRORCODE0).toBe('10601');
  });

  it('refuses unknown ids, sales, bad COMPLETETYPE, another currency and the error amount', async () => {
    const auth = await authorize();
    const saleId = await sale();
    expect((await capture('NOPE', '1.00', 'Complete')).L_ERRORCODE0).toBe('10609');
    expect((await capture(saleId, '1.00', 'Complete')).L_ERRORCODE0).toBe('10609');
    expect((await nvp(fixture, { METHOD: 'DoVoid', AUTHORIZATIONID: saleId })).L_ERRORCODE0).toBe('10609');
    expect((await capture(auth, '1.00', 'Partly' as 'Complete')).L_ERRORCODE0).toBe('10004');
    expect((await capture(auth, '1.00', 'Complete', { CURRENCYCODE: 'USD' })).L_ERRORCODE0).toBe('10004');
    expect((await capture(auth, '1.0', 'Complete')).L_ERRORCODE0).toBe('10004');
    expect((await capture(auth, '100.01', 'Complete')).L_ERRORCODE0).toBe('10001');
    expect(fixture.sandbox.ledger.map((entry) => entry.type)).toEqual(['authorization', 'sale']);
  });
});

describe('paypal sandbox: RefundTransaction', () => {
  it('refunds a sale in full once', async () => {
    const id = await sale();
    const done = await refund(id, { REFUNDTYPE: 'Full', MSGSUBID: 'ref-1' });
    expect(done).toMatchObject({ ACK: 'Success', GROSSREFUNDAMT: '100.00', NETREFUNDAMT: '100.00', FEEREFUNDAMT: '0.00', TOTALREFUNDEDAMOUNT: '100.00', CURRENCYCODE: 'EUR', REFUNDSTATUS: 'Instant', MSGSUBID: 'ref-1' });
    expect(done.REFUNDTRANSACTIONID).toMatch(/^[A-Z0-9]{17}$/);
    expect((await details(id)).PAYMENTSTATUS).toBe('Refunded');
    expect(await refund(id)).toMatchObject({ L_ERRORCODE0: '10009', L_LONGMESSAGE0: 'This transaction has already been fully refunded' });
    expect(fixture.sandbox.ledger.at(-1)).toMatchObject({ type: 'refund', amount: 10000, parentId: id, reference: 'ref-1' });
  });

  it('refunds partially up to the amount, refuses more and a full refund afterwards', async () => {
    const id = await sale();
    expect(await refund(id, { REFUNDTYPE: 'Partial', AMT: '25.00', CURRENCYCODE: 'EUR' })).toMatchObject({ ACK: 'Success', TOTALREFUNDEDAMOUNT: '25.00' });
    expect((await details(id)).PAYMENTSTATUS).toBe('Partially-Refunded');
    expect((await refund(id, { REFUNDTYPE: 'Partial', AMT: '75.01', CURRENCYCODE: 'EUR' })).L_ERRORCODE0).toBe('10009');
    expect((await refund(id, { REFUNDTYPE: 'Full' })).L_LONGMESSAGE0).toBe('Can not do a full refund after a partial refund');
    expect(await refund(id, { REFUNDTYPE: 'Partial', AMT: '75.00', CURRENCYCODE: 'EUR' })).toMatchObject({ ACK: 'Success', TOTALREFUNDEDAMOUNT: '100.00' });
    expect((await details(id)).PAYMENTSTATUS).toBe('Refunded');
  });

  it('refunds a capture, not an authorization', async () => {
    const auth = await authorize();
    const captured = await capture(auth, '60.00', 'Complete');
    expect((await refund(auth)).L_LONGMESSAGE0).toBe('You can not refund this type of transaction');
    expect(await refund(captured.TRANSACTIONID ?? '')).toMatchObject({ ACK: 'Success', GROSSREFUNDAMT: '60.00' });
  });

  it('refuses an unknown id, a full refund with an amount, a bad type, a bad amount and the error amount', async () => {
    const id = await sale();
    expect((await refund('UNKNOWN')).L_ERRORCODE0).toBe('10004');
    expect((await refund(id, { REFUNDTYPE: 'Full', AMT: '100.00' })).L_ERRORCODE0).toBe('10004');
    expect((await refund(id, { REFUNDTYPE: 'Some' })).L_ERRORCODE0).toBe('10004');
    expect((await refund(id, { REFUNDTYPE: 'Partial', CURRENCYCODE: 'EUR' })).L_ERRORCODE0).toBe('10004');
    expect((await refund(id, { REFUNDTYPE: 'Partial', AMT: '1.00', CURRENCYCODE: 'USD' })).L_ERRORCODE0).toBe('10004');
    expect((await refund(id, { REFUNDTYPE: 'Partial', AMT: '100.01', CURRENCYCODE: 'EUR' })).L_ERRORCODE0).toBe('10001');
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });
});

describe('paypal sandbox: lookups for reconciliation', () => {
  it('GetTransactionDetails reports a sale with its checks and keys; unknown ids are 10004', async () => {
    const id = await sale({ MSGSUBID: 'look-1', INVNUM: 'INV-9', ACCT: '4000000000000010' });
    expect(await details(id)).toMatchObject({
      ACK: 'Success', TRANSACTIONID: id, TRANSACTIONTYPE: 'Sale', AMT: '100.00', CURRENCYCODE: 'EUR', PAYMENTSTATUS: 'Completed',
      PENDINGREASON: 'None', INVNUM: 'INV-9', MSGSUBID: 'look-1', AVSCODE: 'N', CVV2MATCH: 'M',
    });
    expect((await details('NOPE')).L_ERRORCODE0).toBe('10004');
  });

  it('TransactionSearch finds by MSGSUBID, INVNUM, TRANSACTIONID and STARTDATE, and answers no rows with Success', async () => {
    const saleId = await sale({ MSGSUBID: 'search-1', INVNUM: 'INV-A' });
    await refund(saleId, { REFUNDTYPE: 'Partial', AMT: '10.00', CURRENCYCODE: 'EUR', MSGSUBID: 'search-2' });
    const byKey = await nvp(fixture, { METHOD: 'TransactionSearch', MSGSUBID: 'search-1' });
    expect(byKey).toMatchObject({ ACK: 'Success', L_TRANSACTIONID0: saleId, L_TYPE0: 'Sale', L_STATUS0: 'Partially-Refunded', L_AMT0: '100.00', L_CURRENCYCODE0: 'EUR', L_MSGSUBID0: 'search-1', L_INVNUM0: 'INV-A' });
    expect(byKey.L_TRANSACTIONID1).toBeUndefined();
    const byInvoice = await nvp(fixture, { METHOD: 'TransactionSearch', INVNUM: 'INV-A' });
    expect([byInvoice.L_TYPE0, byInvoice.L_TYPE1, byInvoice.L_PARENTTRANSACTIONID1]).toEqual(['Sale', 'Refund', saleId]);
    expect((await nvp(fixture, { METHOD: 'TransactionSearch', TRANSACTIONID: saleId })).L_TRANSACTIONID0).toBe(saleId);
    expect((await nvp(fixture, { METHOD: 'TransactionSearch', STARTDATE: '2000-01-01T00:00:00Z' })).L_TRANSACTIONID1).toBeDefined();
    expect((await nvp(fixture, { METHOD: 'TransactionSearch', STARTDATE: '2999-01-01T00:00:00Z' })).L_TRANSACTIONID0).toBeUndefined();
    const none = await nvp(fixture, { METHOD: 'TransactionSearch', MSGSUBID: 'never-sent' });
    expect(none.ACK).toBe('Success');
    expect(Object.keys(none).filter((name) => name.startsWith('L_'))).toEqual([]);
    expect((await nvp(fixture, { METHOD: 'TransactionSearch' })).L_ERRORCODE0).toBe('10004');
  });

  it('lookups move nothing and do not bind a MSGSUBID', async () => {
    await nvp(fixture, { METHOD: 'TransactionSearch', MSGSUBID: 'later' });
    expect((await nvp(fixture, payment({ MSGSUBID: 'later' }))).ACK).toBe('Success');
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });
});
