/**
 * The `card` plugin's request and result schemas: what SDK callers write and get. Requests use
 * the wire's building blocks (`moneySchema`, `cardSchema`: the number and CVC come out as
 * secrets); every result keeps the processor's raw code (`provider_code`) and, for payments, the
 * AVS and CVV results. Messages name the problem, never the input.
 */
import * as z from 'zod';
import { providerResultFields } from '../../src/providers/index.ts';
import { cardSchema, moneySchema } from '../../src/wire/index.ts';

/** A CardGate transaction id (`cg-000001`): 1–64 printable characters without spaces. */
export const transactionIdSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,64}$/, 'transaction ids are 1 to 64 printable characters without spaces');

/** The CardGate transaction states, as `Status` reports them. */
export const CARD_STATES = ['authorized', 'captured', 'refunded', 'voided', 'declined', 'not_found'] as const;

/** The money-moving actions, as `Status` names their operation (lower-cased). */
export const CARD_OPERATIONS = ['authorize', 'capture', 'sale', 'refund', 'void'] as const;

/** Authorize and Sale. */
export const paymentRequest = z.strictObject({ amount: moneySchema, card: cardSchema });

/** Authorize and Sale: the transaction (also for a decline, which CardGate records), amount, auth code, AVS/CVV. */
export const paymentResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  amount: moneySchema,
  auth_code: z.string().min(1).max(64).optional(),
});

/** Capture an authorization, in full (no `amount`) or in part. The currency must be the authorization's. */
export const captureRequest = z.strictObject({ authorization_id: transactionIdSchema, amount: moneySchema.optional() });

/** The capture's own transaction id, the authorization it captured, and the amount captured. */
export const captureResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  authorization_id: transactionIdSchema,
  amount: moneySchema,
});

/** Refund a sale, or a captured authorization (its id or its capture's), in full (no `amount`) or in part. */
export const refundRequest = z.strictObject({ transaction_id: transactionIdSchema, amount: moneySchema.optional() });

/** The refund's own transaction id, the transaction refunded, and the amount refunded. */
export const refundResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  refunded_id: transactionIdSchema,
  amount: moneySchema,
});

/** Void an authorization, or a captured payment nothing was refunded from. */
export const voidRequest = z.strictObject({ transaction_id: transactionIdSchema });

/** The void's own transaction id, the transaction voided, and the amount released. */
export const voidResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  voided_id: transactionIdSchema,
  amount: moneySchema,
});

/** Ask CardGate what became of an earlier request, by the idempotency key it was sent with. */
export const statusRequest = z.strictObject({
  idempotency_key: z.string().regex(/^[\x20-\x7e]{1,128}$/, 'idempotency keys are 1 to 128 printable ASCII characters'),
});

/** What CardGate knows of that request: its state, and the original answer when found. */
export const statusResult = z.strictObject({
  ...providerResultFields,
  state: z.enum(CARD_STATES),
  operation: z.enum(CARD_OPERATIONS).optional(),
  transaction_id: transactionIdSchema.optional(),
  amount: moneySchema.optional(),
  original_code: z.string().min(1).max(64).optional(),
  auth_code: z.string().min(1).max(64).optional(),
});

export type PaymentRequest = z.output<typeof paymentRequest>;
export type CaptureRequest = z.output<typeof captureRequest>;
export type RefundRequest = z.output<typeof refundRequest>;
export type VoidRequest = z.output<typeof voidRequest>;
export type StatusRequest = z.output<typeof statusRequest>;
export type PaymentResult = z.input<typeof paymentResult>;
export type CaptureResult = z.input<typeof captureResult>;
export type RefundResult = z.input<typeof refundResult>;
export type VoidResult = z.input<typeof voidResult>;
export type StatusResult = z.input<typeof statusResult>;
