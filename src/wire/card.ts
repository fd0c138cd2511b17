import cardValidator from 'card-validator';
import * as z from 'zod';
import { CardNumber, Cvc, luhnValid, revealSecret } from './secret.ts';

/**
 * Card data on the wire (snake_case): `{ number, exp_month, exp_year, cvc?, holder? }`.
 *
 * Validated values come out as secrets (`CardNumber`, `Cvc`), so a parsed card can be logged
 * or inspected without leaking. Every issue message is our own and names the problem only:
 * zod's defaults never quote input, and ours never do either.
 */

/** A card brand as card-validator names it: `visa`, `mastercard`, `american-express`, … */
export type CardBrand = string;

/** Brand facts needed for validation. */
interface BrandInfo {
  brand: CardBrand;
  lengths: number[];
  cvcLength: number;
}

function brandOf(digits: string): BrandInfo | undefined {
  // luhnValidateUnionPay: card-validator would otherwise accept UnionPay numbers without Luhn.
  const { card } = cardValidator.number(digits, { luhnValidateUnionPay: true });
  return card ? { brand: card.type, lengths: card.lengths, cvcLength: card.code.size } : undefined;
}

/** The brand of a card number (`visa`, `mastercard`, `american-express`, …), if known. */
export function cardBrand(number: CardNumber): CardBrand | undefined {
  return brandOf(revealSecret(number))?.brand;
}

/**
 * A card number: a string of 12–19 digits (spaces and dashes ignored) or an existing
 * `CardNumber`, that passes Luhn and belongs to a known brand with a fitting length.
 * Output: a `CardNumber` secret.
 */
export const cardNumberSchema = z
  .custom<string | CardNumber>((v) => typeof v === 'string' || v instanceof CardNumber, {
    message: 'expected a card number as a string of digits',
  })
  .transform((input, ctx): CardNumber => {
    const digits = (input instanceof CardNumber ? revealSecret(input) : input).replace(/[ -]/g, '');
    const problem = cardNumberProblem(digits);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return new CardNumber(digits);
  });

function cardNumberProblem(digits: string): string | undefined {
  if (!/^\d+$/.test(digits)) return 'card number must hold digits only (spaces and dashes allowed)';
  if (digits.length < 12 || digits.length > 19) return 'card number must have 12 to 19 digits';
  if (!luhnValid(digits)) return 'card number fails the Luhn check';
  const info = brandOf(digits);
  if (!info) return 'card number does not belong to a known card brand';
  if (!info.lengths.includes(digits.length)) return `card number length does not fit the ${info.brand} brand`;
  return undefined;
}

/**
 * A card verification code: 3 or 4 digits (or an existing `Cvc`). Output: a `Cvc` secret.
 * The length expected by the brand is checked by {@link cardSchema}, which knows the number.
 */
export const cvcSchema = z
  .custom<string | Cvc>((v) => typeof v === 'string' || v instanceof Cvc, {
    message: 'expected a card verification code as a string of digits',
  })
  .transform((input, ctx): Cvc => {
    const value = input instanceof Cvc ? revealSecret(input) : input;
    if (!/^\d{3,4}$/.test(value)) {
      ctx.addIssue({ code: 'custom', message: 'card verification code must be 3 or 4 digits' });
      return z.NEVER;
    }
    return new Cvc(value);
  });

/** Expiry month, 1–12. */
export const expMonthSchema = z.number().int().min(1, 'month must be 1 to 12').max(12, 'month must be 1 to 12');

/** Expiry year, four digits. Whether it is in the past is checked by {@link cardSchema}. */
export const expYearSchema = z.number().int().min(2000, 'year must have four digits').max(2099, 'year must have four digits');

/** How far ahead an expiry may be; card-validator's own default is 19 years. */
const MAX_YEARS_AHEAD = 20;

/** Options of {@link makeCardSchema}. */
export interface CardSchemaOptions {
  /** The clock the expiry is checked against (default: the system clock). */
  now?: () => Date;
}

/**
 * Builds the card schema against a clock. A card is valid through the last day of its expiry
 * month; the month is compared in UTC.
 */
export function makeCardSchema(options: CardSchemaOptions = {}) {
  const now = options.now ?? (() => new Date());
  return z
    .strictObject({
      number: cardNumberSchema,
      exp_month: expMonthSchema,
      exp_year: expYearSchema,
      cvc: cvcSchema.optional(),
      holder: z.string().trim().min(1, 'holder must not be empty').max(128, 'holder is too long').optional(),
    })
    .superRefine((card, ctx) => {
      // zod runs this even when a field failed; check only fields that came out valid.
      const month = expMonthSchema.safeParse(card.exp_month).success ? card.exp_month : undefined;
      const year = expYearSchema.safeParse(card.exp_year).success ? card.exp_year : undefined;
      if (month !== undefined && year !== undefined) {
        const problem = expiryProblem(month, year, now());
        if (problem) ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
      }
      if (card.number instanceof CardNumber && card.cvc instanceof Cvc) {
        const info = brandOf(revealSecret(card.number));
        if (info && revealSecret(card.cvc).length !== info.cvcLength) {
          const message = `card verification code of ${info.brand} has ${info.cvcLength} digits`;
          ctx.addIssue({ code: 'custom', path: ['cvc'], message });
        }
      }
    });
}

/** Why a card with this expiry cannot be used at `today`, if it cannot. */
function expiryProblem(month: number, year: number, today: Date): { path: string; message: string } | undefined {
  const thisYear = today.getUTCFullYear();
  if (year < thisYear) return { path: 'exp_year', message: 'card has expired' };
  if (year === thisYear && month < today.getUTCMonth() + 1) return { path: 'exp_month', message: 'card has expired' };
  if (year > thisYear + MAX_YEARS_AHEAD) {
    return { path: 'exp_year', message: `expiry is more than ${MAX_YEARS_AHEAD} years ahead` };
  }
  return undefined;
}

/** The card on the wire, checked against the system clock. */
export const cardSchema = makeCardSchema();

/** A validated card. */
export type Card = z.output<typeof cardSchema>;
/** A card as it may be given (before validation). */
export type CardInput = z.input<typeof cardSchema>;
