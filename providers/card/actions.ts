/**
 * The `card` action table: request type → request schema, result schema, handler. Each handler
 * builds CardGate's arguments (transformers.ts), calls the operation through the SOAP transport
 * with the request's signal, and reads the answer (parsers.ts, faults.ts). Transport failures
 * are not caught: the worker knows what they mean for the money (docs/providers.md, "Setup").
 */
import type { ActionOutcome, ProviderCodeTable } from '../../src/providers/index.ts';
import { formatMoney } from '../../src/wire/index.ts';
import { CAPTURE_CODES, PAYMENT_CODES, REFUND_CODES, VOID_CODES } from './codes.ts';
import { faultOutcome } from './faults.ts';
import { captureOutcome, paymentOutcome, readTransaction, refundOutcome, voidOutcome, type TransactionAnswer } from './parsers.ts';
import type { CardContext } from './resources.ts';
import {
  captureRequest, captureResult, paymentRequest, paymentResult, refundRequest, refundResult, statusRequest, statusResult, voidRequest, voidResult,
  type CaptureRequest, type PaymentRequest, type RefundRequest, type VoidRequest,
} from './schemas.ts';
import { statusAction } from './status.ts';
import { captureArgs, paymentArgs, refundArgs, voidArgs } from './transformers.ts';

/**
 * Calls `operation` and reads its answer: a fault through faults.ts, a result through
 * `readTransaction` and then `settle` (the action's parser).
 */
async function perform<R>(
  context: CardContext,
  operation: string,
  args: unknown,
  table: ProviderCodeTable,
  settle: (answer: TransactionAnswer, host: string) => ActionOutcome<R>,
): Promise<ActionOutcome<R>> {
  const { soap } = context.resources;
  const answer = await soap.call(operation, args, { signal: context.signal });
  if (answer.fault) return faultOutcome(operation, answer.fault, table, soap.host);
  return settle(readTransaction(soap.host, operation, answer.result), soap.host);
}

/** Authorize or Sale. */
function payment(operation: 'Authorize' | 'Sale') {
  return async (payload: PaymentRequest, context: CardContext) => {
    context.log.info(`card ${operation}`, { amount: formatMoney(payload.amount), card: payload.card.number });
    return perform(context, operation, paymentArgs(payload, context), PAYMENT_CODES, (answer, host) =>
      paymentOutcome(operation, answer, payload.amount, PAYMENT_CODES, host));
  };
}

/** The action table. */
export const cardActions = {
  authorize: { request: paymentRequest, result: paymentResult, handler: payment('Authorize') },
  sale: { request: paymentRequest, result: paymentResult, handler: payment('Sale') },
  capture: {
    request: captureRequest,
    result: captureResult,
    handler: (payload: CaptureRequest, context: CardContext) =>
      perform(context, 'Capture', captureArgs(payload, context), CAPTURE_CODES, (answer, host) =>
        captureOutcome(answer, payload.authorization_id, CAPTURE_CODES, host)),
  },
  refund: {
    request: refundRequest,
    result: refundResult,
    handler: (payload: RefundRequest, context: CardContext) =>
      perform(context, 'Refund', refundArgs(payload, context), REFUND_CODES, (answer, host) =>
        refundOutcome(answer, payload.transaction_id, REFUND_CODES, host)),
  },
  void: {
    request: voidRequest,
    result: voidResult,
    handler: (payload: VoidRequest, context: CardContext) =>
      perform(context, 'Void', voidArgs(payload, context), VOID_CODES, (answer, host) =>
        voidOutcome(answer, payload.transaction_id, VOID_CODES, host)),
  },
  status: { request: statusRequest, result: statusResult, handler: statusAction },
};
