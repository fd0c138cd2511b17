import * as z from 'zod';
import { providerResultFields } from '../../src/providers/index.ts';
import { cardSchema, moneySchema } from '../../src/wire/index.ts';

/**
 * The paypal plugin's request and result schemas: what SDK callers write and get. Messages name
 * the problem, never the input.
 */

/** A PayPal transaction id (sale, authorization, capture, refund): 17 upper-case letters and digits. */
export const transactionIdSchema = z.string().regex(/^[A-Z0-9]{17}$/, 'paypal transaction ids are 17 upper-case letters or digits');

/** An amount PayPal can move: more than zero (PayPal refuses zero with 10401). */
export const positiveMoneySchema = moneySchema.refine((money) => money.value > 0, 'amount must be more than zero');

/** The merchant's own invoice number (`INVNUM`), up to 127 printable characters. */
const invoiceSchema = z.string().regex(/^[\x20-\x7e]{1,127}$/, 'invoice is 1 to 127 printable ASCII characters');

/** `sale` and `authorize`: a card payment. */
export const paymentRequest = z.strictObject({
  amount: positiveMoneySchema,
  card: cardSchema,
  invoice: invoiceSchema.optional(),
});

/** `sale` / `authorize` results: the transaction (for `authorize`, the authorization id to capture or void). */
export const paymentResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  amount: moneySchema,
});

/** `capture`: all or part of an authorization; `final: false` leaves the rest open for more captures. */
export const captureRequest = z.strictObject({
  authorization_id: transactionIdSchema,
  amount: positiveMoneySchema,
  final: z.boolean().default(true),
  invoice: invoiceSchema.optional(),
});

/** `capture` result: the capture's own transaction id. */
export const captureResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  authorization_id: transactionIdSchema,
  amount: moneySchema,
});

/** `refund`: of a sale or a capture; without `amount`, in full. */
export const refundRequest = z.strictObject({
  transaction_id: transactionIdSchema,
  amount: positiveMoneySchema.optional(),
});

/** `refund` result: the refund's transaction id, what it returned and (when PayPal says) the total so far. */
export const refundResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  refunded_transaction_id: transactionIdSchema,
  amount: moneySchema,
  total_refunded: moneySchema.optional(),
});

/** `void`: releases what is left of an authorization. */
export const voidRequest = z.strictObject({ authorization_id: transactionIdSchema });

/** `void` result. */
export const voidResult = z.strictObject({ ...providerResultFields, authorization_id: transactionIdSchema });

/** Transaction kinds as `status` reports them. */
export const TRANSACTION_KINDS = ['sale', 'authorization', 'capture', 'refund', 'void'] as const;
/** Payment states as `status` reports them (PayPal's PAYMENTSTATUS, snake_case). */
export const PAYMENT_STATES = ['completed', 'pending', 'voided', 'refunded', 'partially_refunded'] as const;

/** `status`: what became of a transaction (read-only). */
export const statusRequest = z.strictObject({ transaction_id: transactionIdSchema });

/** `status` result. */
export const statusResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  kind: z.enum(TRANSACTION_KINDS),
  state: z.enum(PAYMENT_STATES),
  amount: moneySchema,
  parent_transaction_id: transactionIdSchema.optional(),
  invoice: z.string().optional(),
});

export type PaymentResult = z.input<typeof paymentResult>;
export type CaptureResult = z.input<typeof captureResult>;
export type RefundResult = z.input<typeof refundResult>;
export type VoidResult = z.input<typeof voidResult>;
export type StatusResult = z.input<typeof statusResult>;
