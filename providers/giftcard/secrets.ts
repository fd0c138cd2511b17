import * as z from 'zod';
import { CardNumber, revealSecret, Secret } from '../../src/wire/index.ts';

/**
 * The gift card's number and PIN as the wire's secrets, which print masked (`603628******0011`,
 * `***`) everywhere: logs, errors, `util.inspect`, `JSON.stringify`. Their clear values are read
 * only in `transformers.ts`, through {@link clearValue} (the wire's `revealSecret`, the door for
 * provider transformers), to write the provider's request.
 */

/** A gift card number (a `CardNumber`: prints its first 6 and last 4 digits at most). */
export type GiftcardNumber = CardNumber;
/** A gift card PIN (a `Secret`: always prints `***`). */
export type GiftcardPin = Secret;

/**
 * The clear value of a gift card number or PIN, for the provider's request document only
 * (`transformers.ts`). Never log, return or throw what this gives.
 */
export function clearValue(secret: GiftcardNumber | GiftcardPin): string {
  return revealSecret(secret);
}

/**
 * A gift card number: a string of 12–19 digits (spaces and dashes ignored), or a
 * {@link GiftcardNumber} already parsed. No Luhn or brand check: gift card schemes do not all
 * use them. Output: a {@link GiftcardNumber}. Messages never quote the input.
 */
export const giftcardNumberSchema = z
  .custom<string | GiftcardNumber>((v) => typeof v === 'string' || v instanceof CardNumber, {
    message: 'expected the gift card number as a string of digits',
  })
  .transform((input, ctx): GiftcardNumber => {
    if (input instanceof CardNumber) return input;
    const digits = input.replace(/[ -]/g, '');
    if (!/^\d{12,19}$/.test(digits)) {
      ctx.addIssue({ code: 'custom', message: 'gift card number must have 12 to 19 digits (spaces and dashes allowed)' });
      return z.NEVER;
    }
    return new CardNumber(digits);
  });

/** A gift card PIN: a string of 4–8 digits, or a {@link GiftcardPin}. Output: a {@link GiftcardPin}. */
export const giftcardPinSchema = z
  .custom<string | GiftcardPin>((v) => typeof v === 'string' || (v instanceof Secret && !(v instanceof CardNumber)), {
    message: 'expected the PIN as a string of digits',
  })
  .transform((input, ctx): GiftcardPin => {
    if (input instanceof Secret) return input;
    if (!/^\d{4,8}$/.test(input)) {
      ctx.addIssue({ code: 'custom', message: 'PIN must be 4 to 8 digits' });
      return z.NEVER;
    }
    return new Secret(input);
  });
