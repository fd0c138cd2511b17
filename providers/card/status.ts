/**
 * Reconciliation through CardGate's `Status` (by `MerchantRef`, i.e. the idempotency key the
 * earlier call was made with): the plugin's `status` hook, which rebuilds the original outcome
 * of a call whose answer was lost, and the `status` action, which reports what CardGate knows.
 */
import * as z from 'zod';
import type { ActionOutcome } from '../../src/providers/index.ts';
import { approved, TransportError } from '../../src/providers/index.ts';
import { CAPTURE_CODES, PAYMENT_CODES, REFUND_CODES, VOID_CODES, avsOf, cvvOf } from './codes.ts';
import { faultOutcome } from './faults.ts';
import {
  badAnswer, captureOutcome, paymentOutcome, refundOutcome, transactionAnswerSchema, voidOutcome, type TransactionAnswer,
} from './parsers.ts';
import type { CardContext } from './resources.ts';
import {
  CARD_STATES, type CaptureRequest, type CaptureResult, type PaymentRequest, type PaymentResult, type RefundRequest, type RefundResult, type StatusRequest,
  type StatusResult, type VoidRequest, type VoidResult,
} from './schemas.ts';
import { statusArgs } from './transformers.ts';

/** The WSDL's StatusResponse: the inquiry's own code, the state, and the original answer when found. */
const statusAnswerSchema = transactionAnswerSchema
  .omit({ ResponseCode: true, ResponseText: true })
  .extend({
    ResponseCode: z.literal('00'),
    ResponseText: z.string().max(1024).optional(),
    State: z.enum(CARD_STATES),
    Operation: z.enum(['Authorize', 'Capture', 'Sale', 'Refund', 'Void']).optional(),
    OriginalResponseCode: transactionAnswerSchema.shape.ResponseCode.optional(),
    OriginalResponseText: z.string().max(1024).optional(),
  });

type StatusAnswer = z.output<typeof statusAnswerSchema>;

/** A request whose outcome the worker asks about (the original type and its validated payload). */
export type CardInquiry =
  | { readonly type: 'authorize' | 'sale'; readonly payload: PaymentRequest }
  | { readonly type: 'capture'; readonly payload: CaptureRequest }
  | { readonly type: 'refund'; readonly payload: RefundRequest }
  | { readonly type: 'void'; readonly payload: VoidRequest }
  | { readonly type: 'status'; readonly payload: StatusRequest };

/** Any action's result. */
type CardResult = PaymentResult | CaptureResult | RefundResult | VoidResult | StatusResult;

/** The CardGate operation of each money-moving action. */
const OPERATION = { authorize: 'Authorize', sale: 'Sale', capture: 'Capture', refund: 'Refund', void: 'Void' } as const;

/** Calls `Status` for `merchantRef`; a fault is thrown (an inquiry cannot be declined), a result read. */
async function inquire(context: CardContext, merchantRef: string): Promise<StatusAnswer> {
  const { soap } = context.resources;
  const answer = await soap.call('Status', statusArgs(merchantRef), { signal: context.signal });
  if (answer.fault) {
    const outcome = faultOutcome('Status', answer.fault, {}, soap.host);
    throw new TransportError('PROVIDER_BAD_RESPONSE', `provider ${soap.host} refused Status: ${outcome.error?.message ?? 'a fault'}`);
  }
  const parsed = statusAnswerSchema.safeParse(answer.result);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(answer)'))].join(', ');
    throw badAnswer(soap.host, 'Status', `a result the plugin cannot read (${fields})`);
  }
  return parsed.data;
}

/** The original answer inside a StatusResponse, as the operation itself would have answered it. */
function originalAnswer(found: StatusAnswer, host: string): TransactionAnswer {
  if (found.OriginalResponseCode === undefined) throw badAnswer(host, 'Status', 'a found transaction without its original response code');
  const { OriginalResponseCode, OriginalResponseText, TransactionId, AuthCode, AvsResult, CvvResult, Amount, Currency } = found;
  return { ResponseCode: OriginalResponseCode, ResponseText: OriginalResponseText, TransactionId, AuthCode, AvsResult, CvvResult, Amount, Currency };
}

/**
 * The plugin's reconciliation hook: what became of the call made with `context.idempotencyKey`.
 * `null` when CardGate has no record of it (the call never arrived, or was refused before
 * processing) or recorded another operation under that key; otherwise the outcome the call
 * itself would have answered, rebuilt from `OriginalResponseCode` and the original fields.
 */
export async function reconcile(inquiry: CardInquiry, context: CardContext): Promise<ActionOutcome<CardResult> | null> {
  if (inquiry.type === 'status') return statusAction(inquiry.payload, context);
  const found = await inquire(context, context.idempotencyKey);
  if (found.State === 'not_found' || found.Operation !== OPERATION[inquiry.type]) return null;
  const host = context.resources.soap.host;
  const answer = originalAnswer(found, host);
  switch (inquiry.type) {
    case 'authorize':
    case 'sale':
      return paymentOutcome(OPERATION[inquiry.type], answer, inquiry.payload.amount, PAYMENT_CODES, host);
    case 'capture':
      return captureOutcome(answer, inquiry.payload.authorization_id, CAPTURE_CODES, host);
    case 'refund':
      return refundOutcome(answer, inquiry.payload.transaction_id, REFUND_CODES, host);
    case 'void':
      return voidOutcome(answer, inquiry.payload.transaction_id, VOID_CODES, host);
  }
}

/** The `status` action: what CardGate knows of the request sent with `payload.idempotency_key` (read-only). */
export async function statusAction(payload: StatusRequest, context: CardContext): Promise<ActionOutcome<StatusResult>> {
  const found = await inquire(context, payload.idempotency_key);
  const avs = avsOf(found.AvsResult);
  const cvv = cvvOf(found.CvvResult);
  const amount = found.Amount !== undefined && found.Currency !== undefined ? { value: found.Amount, currency: found.Currency } : undefined;
  return approved({
    provider_code: found.ResponseCode,
    ...(avs === undefined ? {} : { avs }),
    ...(cvv === undefined ? {} : { cvv }),
    state: found.State,
    ...(found.Operation === undefined ? {} : { operation: found.Operation.toLowerCase() as Lowercase<typeof found.Operation> }),
    ...(found.TransactionId === undefined ? {} : { transaction_id: found.TransactionId }),
    ...(amount === undefined ? {} : { amount }),
    ...(found.OriginalResponseCode === undefined ? {} : { original_code: found.OriginalResponseCode }),
    ...(found.AuthCode === undefined ? {} : { auth_code: found.AuthCode }),
  });
}
