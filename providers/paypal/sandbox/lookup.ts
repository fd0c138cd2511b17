import type { PaypalBook, PaypalMovement, PaypalTransaction } from './book.ts';
import { failure } from './errors.ts';
import { formatAmount } from './money.ts';
import type { MethodAnswer, NvpFields, NvpParams } from './nvp.ts';

/**
 * The read-only methods, for reconciliation: `GetTransactionDetails` (TRANSACTIONID) and
 * `TransactionSearch` (any of STARTDATE, TRANSACTIONID, INVNUM and, a sandbox extension,
 * MSGSUBID). Neither changes anything, and neither binds a MSGSUBID.
 */

/** `TRANSACTIONTYPE` / `L_TYPEn` of each movement kind (sandbox values; real PayPal's differ). */
export const MOVEMENT_TYPES: Readonly<Record<PaypalMovement, string>> = Object.freeze({
  sale: 'Sale',
  authorization: 'Authorization',
  capture: 'Capture',
  refund: 'Refund',
  void: 'Void',
});

function optional(name: string, value: string | null): NvpFields {
  return value === null ? {} : { [name]: value };
}

/** Handles `METHOD=GetTransactionDetails`. */
export function getTransactionDetails(params: NvpParams, book: PaypalBook): MethodAnswer {
  const found = book.get(params.get('TRANSACTIONID'));
  if (!found) return failure(10004, 'The transaction id is not valid');
  return {
    ok: true,
    fields: {
      TRANSACTIONID: found.id,
      ...optional('PARENTTRANSACTIONID', found.parentId),
      TRANSACTIONTYPE: MOVEMENT_TYPES[found.type],
      PAYMENTTYPE: 'instant',
      ORDERTIME: found.at,
      AMT: formatAmount(found.amount, found.currency),
      CURRENCYCODE: found.currency,
      PAYMENTSTATUS: found.state,
      PENDINGREASON: found.state === 'Pending' ? 'authorization' : 'None',
      ...optional('INVNUM', found.invoice),
      ...optional('MSGSUBID', found.reference),
      ...optional('AVSCODE', found.avs),
      ...optional('CVV2MATCH', found.cvv2),
    },
  };
}

function matches(params: NvpParams, transaction: PaypalTransaction): boolean {
  const start = params.get('STARTDATE');
  const id = params.get('TRANSACTIONID');
  const invoice = params.get('INVNUM');
  const reference = params.get('MSGSUBID');
  return (start === undefined || transaction.at >= start)
    && (id === undefined || transaction.id === id)
    && (invoice === undefined || transaction.invoice === invoice)
    && (reference === undefined || transaction.reference === reference);
}

function row(index: number, transaction: PaypalTransaction): NvpFields {
  return {
    [`L_TIMESTAMP${index}`]: transaction.at,
    [`L_TIMEZONE${index}`]: 'GMT',
    [`L_TYPE${index}`]: MOVEMENT_TYPES[transaction.type],
    [`L_TRANSACTIONID${index}`]: transaction.id,
    ...optional(`L_PARENTTRANSACTIONID${index}`, transaction.parentId),
    [`L_STATUS${index}`]: transaction.state,
    [`L_AMT${index}`]: formatAmount(transaction.amount, transaction.currency),
    [`L_CURRENCYCODE${index}`]: transaction.currency,
    ...optional(`L_INVNUM${index}`, transaction.invoice),
    ...optional(`L_MSGSUBID${index}`, transaction.reference),
  };
}

/** Handles `METHOD=TransactionSearch`: matching transactions oldest first, none is still `ACK=Success`. */
export function transactionSearch(params: NvpParams, book: PaypalBook): MethodAnswer {
  const filters = ['STARTDATE', 'TRANSACTIONID', 'INVNUM', 'MSGSUBID'];
  if (!filters.some((name) => params.has(name))) return failure(10004, 'Start date is a required parameter.');
  const found = book.all().filter((transaction) => matches(params, transaction));
  return { ok: true, fields: Object.assign({}, ...found.map((transaction, index) => row(index, transaction))) as NvpFields };
}
