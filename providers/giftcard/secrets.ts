import * as z from 'zod';
import { CardNumber, Secret } from '../../src/wire/index.ts';

/**
 * The gift card's number and PIN as secrets that print masked (`603628******0011`, `***`)
 * everywhere: logs, errors, `util.inspect`, `JSON.stringify`.
 *
 * The framework gives plugins no public way back to a secret's clear value (`revealSecret` in
 * `src/wire/secret.ts` is internal and deliberately not exported from `src/wire/index.ts`). So
 * these subclasses of the wire's `CardNumber` and `Secret` keep their own copy of the value in a
 * `#private` field, readable only through {@link clearValue} — which only `transformers.ts`
 * calls, to write the provider's request. They are still `CardNumber`/`Secret` instances: the
 * SDK's `encodeYaml` writes them on the wire as it writes any secret, and the worker's result
 * and log masking treat them as such.
 */

/** Filled in by the classes' static blocks: the plugin's one door to clear values. */
let readNumber: (secret: GiftcardNumber) => string;
let readPin: (secret: GiftcardPin) => string;

/** A gift card number: 12–19 digits; prints its first 6 and last 4 digits at most. */
export class GiftcardNumber extends CardNumber {
  readonly #clear: string;

  static {
    readNumber = (secret) => secret.#clear;
  }

  constructor(digits: string) {
    super(digits);
    this.#clear = digits.replace(/[ -]/g, '');
  }
}

/** A gift card PIN: 4–8 digits; always prints `***`. */
export class GiftcardPin extends Secret {
  readonly #clear: string;

  static {
    readPin = (secret) => secret.#clear;
  }

  constructor(pin: string) {
    super(pin);
    this.#clear = pin;
  }
}

/**
 * The clear value of a gift card number or PIN, for the provider's request document only
 * (`transformers.ts`). Never log, return or throw what this gives.
 */
export function clearValue(secret: GiftcardNumber | GiftcardPin): string {
  return secret instanceof GiftcardNumber ? readNumber(secret) : readPin(secret);
}

/**
 * A gift card number: a string of 12–19 digits (spaces and dashes ignored), or a
 * {@link GiftcardNumber} already parsed. No Luhn or brand check: gift card schemes do not all
 * use them. Output: a {@link GiftcardNumber}. Messages never quote the input.
 */
export const giftcardNumberSchema = z
  .custom<string | GiftcardNumber>((v) => typeof v === 'string' || v instanceof GiftcardNumber, {
    message: 'expected the gift card number as a string of digits',
  })
  .transform((input, ctx): GiftcardNumber => {
    if (input instanceof GiftcardNumber) return input;
    const digits = input.replace(/[ -]/g, '');
    if (!/^\d{12,19}$/.test(digits)) {
      ctx.addIssue({ code: 'custom', message: 'gift card number must have 12 to 19 digits (spaces and dashes allowed)' });
      return z.NEVER;
    }
    return new GiftcardNumber(digits);
  });

/** A gift card PIN: a string of 4–8 digits, or a {@link GiftcardPin}. Output: a {@link GiftcardPin}. */
export const giftcardPinSchema = z
  .custom<string | GiftcardPin>((v) => typeof v === 'string' || v instanceof GiftcardPin, {
    message: 'expected the PIN as a string of digits',
  })
  .transform((input, ctx): GiftcardPin => {
    if (input instanceof GiftcardPin) return input;
    if (!/^\d{4,8}$/.test(input)) {
      ctx.addIssue({ code: 'custom', message: 'PIN must be 4 to 8 digits' });
      return z.NEVER;
    }
    return new GiftcardPin(input);
  });
