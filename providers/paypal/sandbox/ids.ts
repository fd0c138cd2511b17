import { randomInt } from 'node:crypto';

/**
 * Identifiers in PayPal's shapes: 17-character transaction ids (`4KG2317R5X309741P`), 13-character
 * correlation ids, and the `TIMESTAMP` format. Letters sit at every fourth position, so no id
 * ever holds a run of digits long enough to look like a card number to a PAN scanner.
 */

const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXY';
const DIGITS = '0123456789';

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)] ?? 'X';
}

function shaped(length: number, letters: string, other: string): string {
  let id = '';
  for (let i = 0; i < length; i++) id += i % 4 === 0 ? pick(letters) : pick(other);
  return id;
}

/** A new transaction id: 17 upper-case letters and digits. */
export function newTransactionId(): string {
  return shaped(17, LETTERS, `${LETTERS}${DIGITS}${DIGITS}`);
}

/** A new correlation id: 13 lower-case hex characters, one per API call. */
export function newCorrelationId(): string {
  return shaped(13, 'abcdef', '0123456789abcdef');
}

/** PayPal's `TIMESTAMP`: ISO 8601 in UTC without fractions (`2026-01-31T12:00:00Z`). */
export function timestamp(at: Date = new Date()): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}
