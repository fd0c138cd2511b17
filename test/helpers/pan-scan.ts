import cardValidator from 'card-validator';

/**
 * A card-number detector for tests: scans logs, error messages and inspect output for PANs
 * (acceptance: "No PAN or CVV appears in any error message, log line or inspect output").
 *
 * Deliberately written independently of `src/wire/secret.ts`'s `maskPan`: a test oracle that
 * shares the code under test shares its bugs.
 */

/** Options of {@link findPans}. */
export interface FindPansOptions {
  /**
   * Report every Luhn-valid window of 13–19 digits at any position of a run, whatever its
   * prefix. Default `false`: only windows aligned on the run's separators whose prefix and
   * length fit a known card brand, so a Luhn-valid millisecond timestamp (one in ten is) or a
   * long decimal serial does not make a test flaky. UUIDs are skipped too (their groups are
   * sometimes all digits), and so are hex digests (32 or more hex digits with at least one
   * letter, as a SHA-256 or an HMAC header): one in a few hundred holds a 19-digit run, and
   * one such run in ten passes Luhn. ActiveMQ message ids (`ID:host-43799-1765117966531-3:1:1:1:1`)
   * too: their port and timestamp, joined by a dash, form a 18–19-digit run.
   */
  thorough?: boolean;
}

/** Digits joined by at most one space or dash. */
const RUN = /\d(?:[ -]?\d)*/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** A hex digest: a whole word of 32+ hex digits, at least one of them a letter. */
const HEX_DIGEST = /\b(?=[0-9]*[a-f])[0-9a-f]{32,}\b/gi;
/** An ActiveMQ message id: `ID:`, the host, its port, a timestamp and counters. */
const ACTIVEMQ_ID = /ID:[\w.-]+(?::\d+)+/g;

/** Luhn mod-10 check, kept local on purpose (see the module comment). */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = Number(digits[i]);
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

function knownBrand(digits: string): boolean {
  const { card } = cardValidator.number(digits, { skipLuhnValidation: true });
  return card !== null && card.lengths.includes(digits.length);
}

/**
 * Every card number in `text`: runs of 13–19 digits (single spaces or dashes between digits
 * allowed) that pass Luhn, returned as bare digits in order of appearance. A run that is
 * longer (a PAN followed by ` 123`, two PANs in a row) is searched window by window. Masked
 * forms such as `411111******1111` contain no such run and are not reported.
 */
export function findPans(text: string, options: FindPansOptions = {}): string[] {
  const found: string[] = [];
  const scanned = options.thorough ? text : text.replace(UUID, '<uuid>').replace(HEX_DIGEST, '<hex>').replace(ACTIVEMQ_ID, '<id>');
  for (const match of scanned.matchAll(RUN)) {
    const run = match[0];
    const digits = run.replace(/\D/g, '');
    if (digits.length < 13) continue;
    // Digit indexes where a group starts (0 and after each separator) and where one ends.
    const starts = [0];
    const ends: number[] = [];
    let index = 0;
    for (const ch of run) {
      if (ch === ' ' || ch === '-') {
        ends.push(index);
        starts.push(index);
      } else {
        index++;
      }
    }
    ends.push(digits.length);
    const startSet = options.thorough ? undefined : new Set(starts);
    const endSet = options.thorough ? undefined : new Set(ends);
    for (let start = 0; start + 13 <= digits.length; start++) {
      if (startSet && !startSet.has(start)) continue;
      for (let end = start + 13; end <= Math.min(start + 19, digits.length); end++) {
        if (endSet && !endSet.has(end)) continue;
        const window = digits.slice(start, end);
        if (luhn(window) && (options.thorough || knownBrand(window))) found.push(window);
      }
    }
  }
  return found;
}
