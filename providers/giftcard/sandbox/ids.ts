import { randomInt } from 'node:crypto';

/**
 * Transaction ids: `GC` and 12 upper-case letters and digits, a letter at every fourth position
 * so no id ever holds a run of digits long enough to look like a card number to a PAN scanner.
 */

const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXY';
const OTHERS = `${LETTERS}01234567890123456789`;

/** A new transaction id, e.g. `GCK42MR7T0XP9A`. */
export function newTransactionId(): string {
  let id = 'GC';
  for (let i = 0; i < 12; i++) {
    const alphabet = i % 4 === 0 ? LETTERS : OTHERS;
    id += alphabet[randomInt(alphabet.length)] ?? 'X';
  }
  return id;
}
