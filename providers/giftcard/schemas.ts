import * as z from 'zod';
import { providerResultFields } from '../../src/providers/index.ts';
import { moneySchema } from '../../src/wire/index.ts';
import { giftcardNumberSchema, giftcardPinSchema } from './secrets.ts';

/**
 * The request and result schemas of the giftcard actions (what SDK callers write and get).
 * Requests are strict objects; the card number and PIN come out as secrets that print masked.
 * Results never hold a card number or PIN: `card` in a status result is the provider's masked
 * form (`603628******0011`).
 */

/** The provider's transaction ids: `GC` and 12 letters or digits. */
export const transactionIdSchema = z.string().regex(/^GC[A-Z0-9]{12}$/, 'transaction ids look like GC followed by 12 letters or digits');

/** A reference (the idempotency key of the call that made a transaction). */
export const referenceSchema = z.string().regex(/^[\x20-\x7e]{1,128}$/, 'reference must be 1 to 128 printable characters');

/** `balance`: the card and its PIN. */
export const balanceRequest = z.strictObject({ card_number: giftcardNumberSchema, pin: giftcardPinSchema });
/** `balance` result: the card's balance. */
export const balanceResult = z.strictObject({ ...providerResultFields, balance: moneySchema });

/** `redeem`: take `amount` off the card (PIN required). */
export const redeemRequest = z.strictObject({ card_number: giftcardNumberSchema, pin: giftcardPinSchema, amount: moneySchema });
/** `reload`: put `amount` on the card (the PIN is optional; when sent, it is checked). */
export const reloadRequest = z.strictObject({ card_number: giftcardNumberSchema, pin: giftcardPinSchema.optional(), amount: moneySchema });
/** `redeem` / `reload` result: the movement's id, its amount and the balance after it. */
export const movementResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  amount: moneySchema,
  balance: moneySchema,
});

/** `void`: undo a redeem or a reload by its transaction id. */
export const voidRequest = z.strictObject({ transaction_id: transactionIdSchema });
/** `void` result: the void's own id, the transaction it undid, the amount given back or taken off, the balance after. */
export const voidResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  voided_transaction_id: transactionIdSchema,
  amount: moneySchema,
  balance: moneySchema,
});

/** `status`: look a transaction up by the reference it was made with, or by its id (exactly one). */
export const statusRequest = z
  .strictObject({ reference: referenceSchema.optional(), transaction_id: transactionIdSchema.optional() })
  .refine((p) => (p.reference === undefined) !== (p.transaction_id === undefined), 'give exactly one of reference and transaction_id');
/** `status` result: what the provider recorded. */
export const statusResult = z.strictObject({
  ...providerResultFields,
  transaction_id: transactionIdSchema,
  reference: referenceSchema.optional(),
  type: z.enum(['redeem', 'reload', 'void']),
  state: z.enum(['completed', 'voided']),
  /** For a void: the transaction it undid. */
  voided_transaction_id: transactionIdSchema.optional(),
  /** The card, masked by the provider (first six, last four). */
  card: z.string().regex(/^[\d*]{12,19}$/, 'card must be the masked card number').optional(),
  amount: moneySchema,
  /** The card's balance now. */
  balance: moneySchema,
});

export type BalanceResult = z.input<typeof balanceResult>;
export type MovementResult = z.input<typeof movementResult>;
export type VoidResult = z.input<typeof voidResult>;
export type StatusResult = z.input<typeof statusResult>;
export type BalancePayload = z.output<typeof balanceRequest>;
export type RedeemPayload = z.output<typeof redeemRequest>;
export type ReloadPayload = z.output<typeof reloadRequest>;
export type VoidPayload = z.output<typeof voidRequest>;
export type StatusPayload = z.output<typeof statusRequest>;
