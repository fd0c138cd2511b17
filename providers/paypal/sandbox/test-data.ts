import type { PaypalErrorCode } from './errors.ts';

/**
 * The sandbox's deterministic test data: what each documented card number does in
 * `DoDirectPayment`, and the amount that provokes the retryable internal error. The README's
 * tables are written from this file; keep the two in step.
 */

/** What a card does: approve (with these AVS/CVV2 results) or decline with a PayPal error code. */
export interface TestCard {
  readonly label: string;
  /** `undefined`: approved. */
  readonly decline?: PaypalErrorCode;
  /** `AVSCODE` answered (X: exact match; N: no match). */
  readonly avs: string;
  /** `CVV2MATCH` answered (M: match; N: no match). */
  readonly cvv2: string;
  /** Authorizations on this card are already expired: DoCapture and DoVoid answer 10601. */
  readonly authorizationExpired?: boolean;
}

/** The documented cards. Any other Luhn-valid number behaves like 4111111111111111. */
export const TEST_CARDS: Readonly<Record<string, TestCard>> = Object.freeze({
  '4111111111111111': { label: 'Visa: approved', avs: 'X', cvv2: 'M' },
  '5555555555554444': { label: 'Mastercard: approved', avs: 'X', cvv2: 'M' },
  '4000000000000010': { label: 'approved, address does not match', avs: 'N', cvv2: 'M' },
  '4000000000000259': { label: 'approved; its authorizations are already expired', avs: 'X', cvv2: 'M', authorizationExpired: true },
  '4000000000000002': { label: 'declined by the issuer (generic decline)', decline: 15005, avs: 'X', cvv2: 'M' },
  '4000000000009995': { label: 'insufficient funds', decline: 10417, avs: 'X', cvv2: 'M' },
  '4000000000000069': { label: 'expired card', decline: 10502, avs: 'X', cvv2: 'M' },
  '4000000000000127': { label: 'CVV2 does not match', decline: 15004, avs: 'X', cvv2: 'N' },
});

/** The behaviour of a Luhn-valid number that is not in {@link TEST_CARDS}. */
export const DEFAULT_CARD: TestCard = Object.freeze({ label: 'any other valid number: approved', avs: 'X', cvv2: 'M' });

/**
 * An amount of exactly this many minor units (100.01 EUR, 10001 JPY) is answered with error
 * 10001 Internal Error (retryable) on `DoDirectPayment`, `DoCapture` and `RefundTransaction`,
 * whatever the card; nothing is recorded.
 */
export const INTERNAL_ERROR_MINOR_UNITS = 10_001;

/** Luhn mod-10 over a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let digit = Number(digits[i]);
    if (double) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/** The test behaviour of card number `account` (digits, Luhn-valid). */
export function cardBehaviour(account: string): TestCard {
  return TEST_CARDS[account] ?? DEFAULT_CARD;
}
