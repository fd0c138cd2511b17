import * as z from 'zod';

/**
 * The request schema: `<request>` with `<type>` and, as the type needs them, `<card>`, `<pin>`,
 * `<amount currency="EUR">` (integer minor units), `<reference>` and `<transaction>`. Unknown
 * elements are refused. Messages name fields and rules, never values.
 */

/** Request types. */
export const GIFTCARD_TYPES = ['balance', 'redeem', 'reload', 'void', 'status'] as const;
export type GiftcardType = (typeof GIFTCARD_TYPES)[number];

const amountSchema = z.strictObject({
  '#text': z.string().regex(/^[1-9]\d{0,11}$/, 'amount must be a positive integer of minor units'),
  '@_currency': z.string().regex(/^[A-Z]{3}$/, 'currency must be three upper-case letters'),
}, 'amount needs a currency attribute and an integer value');

const requestSchema = z.strictObject({
  type: z.enum(GIFTCARD_TYPES, 'type must be balance, redeem, reload, void or status'),
  card: z.string().regex(/^\d{12,19}$/, 'card must be 12 to 19 digits').optional(),
  pin: z.string().regex(/^\d{4,8}$/, 'pin must be 4 to 8 digits').optional(),
  amount: amountSchema.optional(),
  reference: z.string().regex(/^[\x20-\x7e]{1,128}$/, 'reference must be 1 to 128 printable characters').optional(),
  transaction: z.string().regex(/^[A-Z0-9]{1,32}$/, 'transaction must be an id of letters and digits').optional(),
}, 'the request must be an element with children');

/** The fields each type needs. */
const REQUIRED: Readonly<Record<GiftcardType, readonly string[]>> = {
  balance: ['card', 'pin'],
  redeem: ['card', 'pin', 'amount', 'reference'],
  reload: ['card', 'amount', 'reference'],
  void: ['transaction'],
  status: [],
};

/** A checked request. */
export interface GiftcardRequest {
  readonly type: GiftcardType;
  readonly card?: string;
  readonly pin?: string;
  readonly amount?: { readonly minor: number; readonly currency: string };
  readonly reference?: string;
  readonly transaction?: string;
}

/** Checks the parsed `<request>` content; returns the request or a message naming the first problem. */
export function checkRequest(content: unknown): GiftcardRequest | string {
  const parsed = requestSchema.safeParse(content === '' ? {} : content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') || 'request';
    return `${path}: ${issue?.message ?? 'invalid'}`;
  }
  const { amount, ...rest } = parsed.data;
  const missing = REQUIRED[rest.type].find((name) => !(name in parsed.data));
  if (missing !== undefined) return `${missing}: required for ${rest.type}`;
  if (rest.type === 'status' && (rest.reference === undefined) === (rest.transaction === undefined)) {
    return 'status: give exactly one of reference and transaction';
  }
  return { ...rest, ...(amount ? { amount: { minor: Number(amount['#text']), currency: amount['@_currency'] } } : {}) };
}
