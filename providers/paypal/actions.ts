import type * as z from 'zod';
import type { ActionContext, ActionOutcome } from '../../src/providers/index.ts';
import { callNvp, type PaypalResources } from './client.ts';
import { parseCapture, parseDetails, parsePayment, parseRefund, parseVoid } from './parsers.ts';
import {
  captureRequest, captureResult, paymentRequest, paymentResult, refundRequest, refundResult, statusRequest, statusResult, voidRequest,
  voidResult, type CaptureResult, type PaymentResult, type RefundResult, type StatusResult, type VoidResult,
} from './schemas.ts';
import { captureFields, detailsFields, directPaymentFields, refundFields, voidFields } from './transformers.ts';

/**
 * The action table: each action is transform (payload → NVP fields), call (through the breaker,
 * with the request's signal), parse (answer → outcome). Declines are outcomes; transport
 * failures and unreadable answers are thrown for the worker to handle.
 */

type Context = ActionContext<PaypalResources>;

/** `sale`: DoDirectPayment, PAYMENTACTION=Sale. */
async function sale(payload: z.output<typeof paymentRequest>, context: Context): Promise<ActionOutcome<PaymentResult>> {
  const fields = directPaymentFields('Sale', payload, context.idempotencyKey);
  return parsePayment('sale', await callNvp(context.resources, fields, context.signal));
}

/** `authorize`: DoDirectPayment, PAYMENTACTION=Authorization; the result's `transaction_id` is the authorization id. */
async function authorize(payload: z.output<typeof paymentRequest>, context: Context): Promise<ActionOutcome<PaymentResult>> {
  const fields = directPaymentFields('Authorization', payload, context.idempotencyKey);
  return parsePayment('authorize', await callNvp(context.resources, fields, context.signal));
}

/** `capture`: DoCapture. */
async function capture(payload: z.output<typeof captureRequest>, context: Context): Promise<ActionOutcome<CaptureResult>> {
  return parseCapture(await callNvp(context.resources, captureFields(payload, context.idempotencyKey), context.signal));
}

/** `refund`: RefundTransaction, Full or Partial. */
async function refund(payload: z.output<typeof refundRequest>, context: Context): Promise<ActionOutcome<RefundResult>> {
  const answer = await callNvp(context.resources, refundFields(payload, context.idempotencyKey), context.signal);
  return parseRefund(payload.transaction_id, answer);
}

/** `void`: DoVoid. */
async function voidAuthorization(payload: z.output<typeof voidRequest>, context: Context): Promise<ActionOutcome<VoidResult>> {
  return parseVoid(await callNvp(context.resources, voidFields(payload, context.idempotencyKey), context.signal));
}

/** `status`: GetTransactionDetails (read-only). */
export async function transactionStatus(payload: z.output<typeof statusRequest>, context: Context): Promise<ActionOutcome<StatusResult>> {
  return parseDetails(await callNvp(context.resources, detailsFields(payload.transaction_id), context.signal));
}

/** The plugin's actions (capabilities, in this order). */
export const paypalActions = {
  sale: { request: paymentRequest, result: paymentResult, handler: sale },
  authorize: { request: paymentRequest, result: paymentResult, handler: authorize },
  capture: { request: captureRequest, result: captureResult, handler: capture },
  refund: { request: refundRequest, result: refundResult, handler: refund },
  void: { request: voidRequest, result: voidResult, handler: voidAuthorization },
  status: { request: statusRequest, result: statusResult, handler: transactionStatus },
};
