import { isFailure, readMoney } from './amounts.ts';
import type { PaypalBook, PaypalTransaction } from './book.ts';
import { failure, type PaypalFailure } from './errors.ts';
import { formatAmount } from './money.ts';
import { echoMsgSubId, type MethodAnswer, type NvpParams } from './nvp.ts';
import { INTERNAL_ERROR_MINOR_UNITS } from './test-data.ts';

/**
 * The authorization and capture methods: `DoCapture` (AUTHORIZATIONID, AMT, CURRENCYCODE,
 * COMPLETETYPE=Complete|NotComplete, optional INVNUM) and `DoVoid` (AUTHORIZATIONID).
 * Several `NotComplete` captures may follow one authorization up to its amount; `Complete`
 * (or reaching the amount) closes it. `DoVoid` releases what is still authorized.
 */

/** The authorization named by AUTHORIZATIONID, if it can still be captured or voided. */
function openAuthorization(params: NvpParams, book: PaypalBook): PaypalTransaction | PaypalFailure {
  const authorization = book.get(params.get('AUTHORIZATIONID'));
  if (authorization?.type !== 'authorization') return failure(10609);
  if (authorization.state === 'Voided') return failure(10600);
  if (authorization.expired) return failure(10601);
  if (authorization.state === 'Completed') return failure(10602);
  return authorization;
}

/** Handles `METHOD=DoCapture`. */
export function doCapture(params: NvpParams, book: PaypalBook): MethodAnswer {
  const authorization = openAuthorization(params, book);
  if (isFailure(authorization)) return authorization;
  const completeType = params.get('COMPLETETYPE');
  if (completeType !== 'Complete' && completeType !== 'NotComplete') return failure(10004, 'CompleteType is invalid.');
  const money = readMoney(params, 10004);
  if (isFailure(money)) return money;
  if (money.currency !== authorization.currency) {
    return failure(10004, 'Currency of capture must be the same as currency of authorization.');
  }
  if (money.minor === INTERNAL_ERROR_MINOR_UNITS) return failure(10001);
  if (money.minor > authorization.amount - authorization.captured) return failure(10610);
  const capture = book.record({
    type: 'capture',
    reference: params.get('MSGSUBID') ?? null,
    invoice: params.get('INVNUM') ?? authorization.invoice,
    amount: money.minor,
    currency: money.currency,
    state: 'Completed',
    parentId: authorization.id,
    card: authorization.card,
  });
  authorization.captured += money.minor;
  if (completeType === 'Complete' || authorization.captured === authorization.amount) authorization.state = 'Completed';
  return {
    ok: true,
    fields: {
      AUTHORIZATIONID: authorization.id,
      ...echoMsgSubId(params),
      TRANSACTIONID: capture.id,
      PARENTTRANSACTIONID: authorization.id,
      TRANSACTIONTYPE: 'webaccept',
      PAYMENTTYPE: 'instant',
      ORDERTIME: capture.at,
      AMT: formatAmount(capture.amount, capture.currency),
      CURRENCYCODE: capture.currency,
      PAYMENTSTATUS: 'Completed',
      PENDINGREASON: 'None',
    },
  };
}

/** Handles `METHOD=DoVoid`. */
export function doVoid(params: NvpParams, book: PaypalBook): MethodAnswer {
  const authorization = openAuthorization(params, book);
  if (isFailure(authorization)) return authorization;
  book.record({
    type: 'void',
    reference: params.get('MSGSUBID') ?? null,
    invoice: authorization.invoice,
    amount: authorization.amount - authorization.captured,
    currency: authorization.currency,
    state: 'Completed',
    parentId: authorization.id,
    card: authorization.card,
  });
  authorization.state = 'Voided';
  return { ok: true, fields: { AUTHORIZATIONID: authorization.id, ...echoMsgSubId(params) } };
}
