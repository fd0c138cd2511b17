/**
 * The sandbox's deterministic test data: the gift cards that exist when it starts (and after
 * `reset()`), and the amount that provokes the retryable internal error. The README's tables
 * are written from this file; keep the two in step.
 */

/** A gift card's starting state. */
export interface TestGiftcard {
  readonly label: string;
  readonly pin: string;
  /** Starting balance, minor units. */
  readonly balance: number;
  readonly currency: string;
  /** Blocked cards answer every operation with `card_blocked`. */
  readonly blocked: boolean;
}

/** The cards, by number. Any other number is `card_not_found` (e.g. 6036280000000094). */
export const TEST_GIFTCARDS: Readonly<Record<string, TestGiftcard>> = Object.freeze({
  '6036280000000011': { label: 'active, 100.00 EUR', pin: '1234', balance: 10_000, currency: 'EUR', blocked: false },
  '6036280000000029': { label: 'active, 25.00 EUR', pin: '4321', balance: 2_500, currency: 'EUR', blocked: false },
  '6036280000000037': { label: 'active, empty (0.00 EUR)', pin: '0000', balance: 0, currency: 'EUR', blocked: false },
  '6036280000000045': { label: 'blocked (frozen), 50.00 EUR', pin: '1111', balance: 5_000, currency: 'EUR', blocked: true },
  '6036280000000052': { label: 'active, 50.00 USD', pin: '2222', balance: 5_000, currency: 'USD', blocked: false },
});

/** A well-formed number that is no card: `card_not_found`. */
export const UNKNOWN_GIFTCARD = '6036280000000094';

/**
 * A `redeem` or `reload` of exactly this many minor units (100.01 EUR) is answered
 * `<result>error</result><code>internal_error</code>` (retryable), whatever the card; nothing
 * is recorded and the reference stays free.
 */
export const INTERNAL_ERROR_MINOR_UNITS = 10_001;
