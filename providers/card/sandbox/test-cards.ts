/**
 * The documented test cards and amounts (providers/card/README.md has the same table): how the
 * sandbox decides an `Authorize` or `Sale` without any randomness.
 */
import { luhnValid } from '../../../src/wire/index.ts';
import type { AvsResult, CvvResult, ResponseCode } from './codes.ts';

/** A card with a fixed answer. */
export interface TestCard {
  code: ResponseCode;
  /** Overrides the CVV rule (M when a CVV is sent, P when not). */
  cvv?: CvvResult;
  note: string;
}

/** Cards with a fixed answer; every other Luhn-valid, unexpired card is approved. */
export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  '4111111111111111': { code: '00', note: 'approved (AVS Y)' },
  '4000000000000002': { code: '05', note: 'declined: do not honor' },
  '4000000000009995': { code: '51', note: 'declined: insufficient funds' },
  '4000000000000069': { code: '54', note: 'declined: expired card (whatever the expiry date)' },
  '4000000000000127': { code: '82', cvv: 'N', note: 'declined: CVV mismatch (CvvResult N)' },
  '4000000000020042': { code: '00', note: 'approved, AVS A' },
  '4000000000020034': { code: '00', note: 'approved, AVS Z' },
  '4000000000020026': { code: '00', note: 'approved, AVS N' },
  '4000000000020018': { code: '00', note: 'approved, AVS U' },
  '4000000000020083': { code: '00', cvv: 'U', note: 'approved, CvvResult U (issuer unavailable)' },
};

/** Largest amount CardGate accepts, in minor units. */
export const MAX_AMOUNT = 99_999_999;

/** Amounts whose minor units end in 96 (e.g. 10.96) make CardGate fail with a system error. */
export function isSystemErrorAmount(amount: number): boolean {
  return amount % 100 === 96;
}

/** Whether `amount` is one CardGate accepts (1 … {@link MAX_AMOUNT}). */
export function isValidAmount(amount: number): boolean {
  return Number.isSafeInteger(amount) && amount >= 1 && amount <= MAX_AMOUNT;
}

/** AVS from the card number's last digit: 0–1 Y, 2–3 A, 4–5 Z, 6–7 N, 8–9 U. */
export function avsFor(number: string): AvsResult {
  const last = Number(number.at(-1));
  return (['Y', 'Y', 'A', 'A', 'Z', 'Z', 'N', 'N', 'U', 'U'] as const)[last] ?? 'U';
}

/** The card fields a decision needs (the number in clear: it never leaves this process). */
export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvv?: string | undefined;
}

/** What the card rules decided. */
export interface CardDecision {
  code: ResponseCode;
  avs?: AvsResult;
  cvv?: CvvResult;
}

/**
 * The answer for `card` at `now`: a malformed or Luhn-invalid number is `14`; a listed test card
 * answers its code; an expiry month that has ended is `54`; anything else is approved.
 */
export function decideCard(card: CardInput, now: Date): CardDecision {
  if (!/^\d{12,19}$/.test(card.number) || !luhnValid(card.number)) return { code: '14' };
  const listed = TEST_CARDS[card.number];
  const avs = avsFor(card.number);
  const cvv: CvvResult = listed?.cvv ?? (card.cvv === undefined ? 'P' : 'M');
  if (listed && listed.code !== '00') return { code: listed.code, avs, cvv };
  // A card is valid through the last day of its expiry month.
  const endOfMonth = Date.UTC(card.expYear, card.expMonth, 1);
  if (endOfMonth <= now.getTime()) return { code: '54', avs, cvv };
  return { code: '00', avs, cvv };
}
