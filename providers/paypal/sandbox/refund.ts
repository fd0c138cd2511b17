import { isFailure, readMoney } from './amounts.ts';
import type { PaypalBook, PaypalTransaction } from './book.ts';
import { failure, type PaypalFailure } from './errors.ts';
import { formatAmount } from './money.ts';
import { echoMsgSubId, type MethodAnswer, type NvpParams } from './nvp.ts';
import { INTERNAL_ERROR_MINOR_UNITS } from './test-data.ts';

/**
 * `RefundTransaction`: TRANSACTIONID (a sale or a capture), REFUNDTYPE=Full|Partial (default
 * Full), AMT and CURRENCYCODE for a partial refund (a full refund takes no AMT). Several partial
 * refunds may follow each other up to the amount; a full refund after a partial one is refused,
 * as PayPal does (10009).
 */

/** How much to refund, or why not. */
function refundAmount(params: NvpParams, target: PaypalTransaction): number | PaypalFailure {
  const type = params.get('REFUNDTYPE') ?? 'Full';
  if (type === 'Full') {
    if (params.has('AMT')) return failure(10004, 'The amount must be blank for a full refund.');
    if (target.refunded > 0) return failure(10009, 'Can not do a full refund after a partial refund');
    return target.amount;
  }
  if (type !== 'Partial') return failure(10004, 'RefundType is invalid.');
  const money = readMoney(params, 10004);
  if (isFailure(money)) return money;
  if (money.currency !== target.currency) return failure(10004, 'The currency does not match the transaction\'s.');
  if (money.minor === INTERNAL_ERROR_MINOR_UNITS) return failure(10001);
  if (money.minor > target.amount - target.refunded) {
    return failure(10009, 'The partial refund amount must be less than or equal to the remaining amount');
  }
  return money.minor;
}

/** Handles `METHOD=RefundTransaction`. */
export function refundTransaction(params: NvpParams, book: PaypalBook): MethodAnswer {
  const target = book.get(params.get('TRANSACTIONID'));
  if (!target) return failure(10004, 'The transaction id is not valid');
  if (target.type !== 'sale' && target.type !== 'capture') return failure(10009, 'You can not refund this type of transaction');
  if (target.refunded >= target.amount) return failure(10009, 'This transaction has already been fully refunded');
  const amount = refundAmount(params, target);
  if (typeof amount !== 'number') return amount;
  const refund = book.record({
    type: 'refund',
    reference: params.get('MSGSUBID') ?? null,
    invoice: target.invoice,
    amount,
    currency: target.currency,
    state: 'Completed',
    parentId: target.id,
    card: target.card,
  });
  target.refunded += amount;
  target.state = target.refunded === target.amount ? 'Refunded' : 'Partially-Refunded';
  const text = formatAmount(amount, target.currency);
  return {
    ok: true,
    fields: {
      REFUNDTRANSACTIONID: refund.id,
      FEEREFUNDAMT: formatAmount(0, target.currency),
      GROSSREFUNDAMT: text,
      NETREFUNDAMT: text,
      CURRENCYCODE: target.currency,
      TOTALREFUNDEDAMOUNT: formatAmount(target.refunded, target.currency),
      ...echoMsgSubId(params),
      REFUNDSTATUS: 'Instant',
      PENDINGREASON: 'None',
    },
  };
}
