import { approved, declined, mapProviderCode, type ActionOutcome } from '../../src/providers/index.ts';
import { fromAmt } from './amounts.ts';
import { PAYPAL_CODES, refineCode, type PaypalAction } from './codes.ts';
import { PAYMENT_STATES, TRANSACTION_KINDS, type CaptureResult, type PaymentResult, type RefundResult, type StatusResult, type VoidResult } from './schemas.ts';
import { verificationOf } from './verification.ts';

/**
 * NVP answers → outcomes. `ACK=Success` / `SuccessWithWarning` is approved (the ACK kept as
 * `provider_code`); `ACK=Failure` / `FailureWithWarning` is a decline with the standard code
 * of `L_ERRORCODE0` (the raw code kept in the message, `(provider code 10417)`). An answer
 * without a known ACK, or a success without its fields, is a fault: it throws, and the worker
 * reconciles through `status`.
 */

/** The answer's fields, as the form transport decoded them. */
export type NvpAnswer = Readonly<Record<string, string>>;

const SUCCESS = new Set(['Success', 'SuccessWithWarning']);
const FAILURE = new Set(['Failure', 'FailureWithWarning']);

/** Thrown for an answer that is name-value pairs but not a PayPal answer we can read. */
export class PaypalAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaypalAnswerError';
  }
}

/** The declined outcome of a failure answer, or `undefined` for a success; throws for neither. */
export function failureOf(action: PaypalAction, fields: NvpAnswer): ActionOutcome<never> | undefined {
  const ack = fields.ACK;
  if (ack !== undefined && SUCCESS.has(ack)) return undefined;
  if (ack === undefined || !FAILURE.has(ack)) throw new PaypalAnswerError('paypal answered without a known ACK');
  const raw = fields.L_ERRORCODE0 ?? '';
  if (raw === '') throw new PaypalAnswerError('paypal answered ACK=Failure without L_ERRORCODE0');
  const mapped = mapProviderCode(PAYPAL_CODES, raw);
  const refined = refineCode(action, mapped.providerCode.trim(), fields.L_LONGMESSAGE0 ?? '');
  const message = [fields.L_SHORTMESSAGE0, fields.L_LONGMESSAGE0].filter((text) => text !== undefined && text !== '').join(': ');
  return declined(refined ?? mapped.code, `paypal ${action} refused: ${message || 'no message'}`, {
    providerCode: mapped.providerCode,
    ...(refined === undefined ? { retryable: mapped.retryable } : {}),
  });
}

/** A field a success answer must carry. */
function required(fields: NvpAnswer, name: string): string {
  const value = fields[name];
  if (value === undefined || value === '') throw new PaypalAnswerError(`paypal's success answer lacks ${name}`);
  return value;
}

/** DoDirectPayment (Sale or Authorization) → `sale` / `authorize` outcome. */
export function parsePayment(action: 'sale' | 'authorize', fields: NvpAnswer): ActionOutcome<PaymentResult> {
  const failed = failureOf(action, fields);
  if (failed !== undefined) return failed;
  return approved({
    provider_code: required(fields, 'ACK'),
    transaction_id: required(fields, 'TRANSACTIONID'),
    amount: fromAmt(fields.AMT, fields.CURRENCYCODE),
    ...verificationOf(fields),
  });
}

/** DoCapture → `capture` outcome. */
export function parseCapture(fields: NvpAnswer): ActionOutcome<CaptureResult> {
  const failed = failureOf('capture', fields);
  if (failed !== undefined) return failed;
  return approved({
    provider_code: required(fields, 'ACK'),
    transaction_id: required(fields, 'TRANSACTIONID'),
    authorization_id: required(fields, 'AUTHORIZATIONID'),
    amount: fromAmt(fields.AMT, fields.CURRENCYCODE),
  });
}

/** RefundTransaction → `refund` outcome. */
export function parseRefund(refunded: string, fields: NvpAnswer): ActionOutcome<RefundResult> {
  const failed = failureOf('refund', fields);
  if (failed !== undefined) return failed;
  return approved({
    provider_code: required(fields, 'ACK'),
    transaction_id: required(fields, 'REFUNDTRANSACTIONID'),
    refunded_transaction_id: refunded,
    amount: fromAmt(fields.GROSSREFUNDAMT, fields.CURRENCYCODE),
    ...(fields.TOTALREFUNDEDAMOUNT === undefined ? {} : { total_refunded: fromAmt(fields.TOTALREFUNDEDAMOUNT, fields.CURRENCYCODE) }),
  });
}

/** DoVoid → `void` outcome. */
export function parseVoid(fields: NvpAnswer): ActionOutcome<VoidResult> {
  const failed = failureOf('void', fields);
  if (failed !== undefined) return failed;
  return approved({ provider_code: required(fields, 'ACK'), authorization_id: required(fields, 'AUTHORIZATIONID') });
}

/** `TRANSACTIONTYPE` / `L_TYPEn` → kind; `Sale`, `Authorization`, … (case and `webaccept` tolerated). */
export function kindOf(type: string | undefined): StatusResult['kind'] | undefined {
  const kind = type?.toLowerCase();
  if (kind === 'webaccept' || kind === 'cart' || kind === 'expresscheckout') return 'sale';
  return TRANSACTION_KINDS.find((k) => k === kind);
}

/** `PAYMENTSTATUS` → state (`Partially-Refunded` → `partially_refunded`). */
export function stateOf(status: string | undefined): StatusResult['state'] | undefined {
  const state = status?.toLowerCase().replace(/-/g, '_');
  return PAYMENT_STATES.find((s) => s === state);
}

/** GetTransactionDetails → `status` outcome. */
export function parseDetails(fields: NvpAnswer): ActionOutcome<StatusResult> {
  const failed = failureOf('status', fields);
  if (failed !== undefined) return failed;
  const kind = kindOf(fields.TRANSACTIONTYPE);
  const state = stateOf(fields.PAYMENTSTATUS);
  if (kind === undefined || state === undefined) throw new PaypalAnswerError('paypal answered with an unknown transaction type or payment status');
  return approved({
    provider_code: required(fields, 'ACK'),
    transaction_id: required(fields, 'TRANSACTIONID'),
    kind,
    state,
    amount: fromAmt(fields.AMT, fields.CURRENCYCODE),
    ...(fields.PARENTTRANSACTIONID ? { parent_transaction_id: fields.PARENTTRANSACTIONID } : {}),
    ...(fields.INVNUM ? { invoice: fields.INVNUM } : {}),
    ...verificationOf(fields),
  });
}
