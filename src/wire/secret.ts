import { inspect } from 'node:util';

/**
 * Sensitive strings (card numbers, CVCs, credentials) wrapped so that every ordinary way of
 * printing them shows a mask: `String()`, template strings, `JSON.stringify`, `util.inspect`
 * and `console.log`. The clear value lives in a `#private` field, which no reflection
 * (`Object.keys`, spread, `structuredClone`, inspect's `showHidden`) can see.
 *
 * The only way back to the clear value is {@link revealSecret}.
 */

/** Filled in by the class's static block: the one accessor of `#value` outside the class. */
let readValue: (secret: Secret) => string;

/** A sensitive string that prints as `***`; subclasses choose a more informative mask. */
export class Secret {
  readonly #value: string;

  static {
    readValue = (secret) => secret.#value;
  }

  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError('a Secret holds a string');
    this.#value = value;
  }

  /** The masked form that every printing path shows. */
  get masked(): string {
    return this.mask(this.#value);
  }

  /** How this kind of secret is masked; never returns more than is safe to log. */
  protected mask(_value: string): string {
    return '***';
  }

  toString(): string {
    return this.masked;
  }

  /** `JSON.stringify` (and the `yaml` package, which calls `toJSON` itself) see the mask. */
  toJSON(): string {
    return this.masked;
  }

  [Symbol.toPrimitive](): string {
    return this.masked;
  }

  /** `util.inspect`, `console.log` and test-runner diffs show e.g. `[CardNumber 411111******1111]`. */
  [inspect.custom](): string {
    return `[${this.constructor.name} ${this.masked}]`;
  }
}

/** A primary account number (digits only); prints its first 6 and last 4 digits at most. */
export class CardNumber extends Secret {
  /** @param digits the PAN; spaces and dashes are removed, anything else but digits is refused. */
  constructor(digits: string) {
    const clean = typeof digits === 'string' ? digits.replace(/[ -]/g, '') : '';
    // The message never repeats the input: it may be a card number with a typo.
    if (!/^\d+$/.test(clean)) throw new TypeError('a CardNumber holds digits only');
    super(clean);
  }

  protected override mask(value: string): string {
    return maskDigits(value);
  }
}

/** A card verification code (CVC/CVV/CID); always prints `***`, whatever its length. */
export class Cvc extends Secret {}

/**
 * Returns the clear value of a secret.
 *
 * INTERNAL: the one deliberate door to clear values. Only `encodeYaml` (which writes the wire
 * document) and provider transformers (which build the provider's request) may call it; every
 * other use is a leak waiting to happen.
 */
export function revealSecret(secret: Secret): string {
  return readValue(secret);
}

/** Luhn (mod 10) checksum of a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * How many leading and trailing digits of an `n`-digit PAN may be shown: PCI DSS's "first six,
 * last four" for real PAN lengths (13+); below that at most half the digits, so a short secret
 * is never mostly revealed.
 */
function visibleDigits(n: number): { head: number; tail: number } {
  if (n >= 13) return { head: 6, tail: 4 };
  const shown = Math.floor(n / 2);
  const tail = Math.min(4, Math.ceil(shown / 2));
  return { head: shown - tail, tail };
}

/** Masks a digit string, keeping separators in place: `4111 1111 1111 1111` → `4111 11** **** 1111`. */
function maskDigits(text: string): string {
  const total = (text.match(/\p{Nd}/gu) ?? []).length;
  const { head, tail } = visibleDigits(total);
  let seen = 0;
  return text.replace(/\p{Nd}/gu, (d) => {
    seen++;
    return seen <= head || seen > total - tail ? d : '*';
  });
}

/**
 * What may stand between two digit groups of a written card number: up to two of space, tab,
 * no-break or thin space, `.`, `/`, `_`, hyphen or dash. The same set for the mask here and for
 * the detector in card-text.ts, so whatever the detector finds, the mask covers.
 */
export const CARD_SEPARATOR = '[ \\t\\u00a0\\u2007\\u2009\\u202f._/\\-\\u2010-\\u2015]';

/**
 * A UUID, or a run of decimal digits (any script's: fullwidth `４` too) with up to two
 * separators between them. UUIDs come first in the alternation so that one whose groups happen
 * to be all digits (request ids are logged often) is consumed whole and left alone rather than
 * read as a dash-separated number.
 */
const UUID_OR_DIGIT_RUN = new RegExp(
  `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|\\p{Nd}(?:${CARD_SEPARATOR}{0,2}\\p{Nd})*`,
  'giu',
);

/**
 * Masks every card number hidden in `text` (log lines, error messages, inspect output).
 *
 * A run of digits (separators as {@link CARD_SEPARATOR} allows between them) is suspect when
 * any window of 13–19 of its digits passes Luhn. A run that is exactly one such window (a PAN
 * standing alone) keeps its first 6 / last 4; any other suspect run (a PAN glued to a CVC or to
 * other numbers) is masked completely, because which digits belong to the PAN is ambiguous
 * there and showing the ends could reveal a CVC. False positives (a Luhn-valid timestamp) are
 * accepted: they cost some readability, a miss would cost a PAN.
 */
export function maskPan(text: string): string {
  return text.replace(UUID_OR_DIGIT_RUN, (run: string, uuid: string | undefined) => {
    if (uuid !== undefined) return run;
    const digits = asciiDigitsOf(run);
    if (digits.length < 13) return run;
    if (digits.length <= 19 && luhnValid(digits)) return maskDigits(run);
    return hasLuhnWindow(digits) ? run.replace(/\p{Nd}/gu, '*') : run;
  });
}

/** The decimal digits of `run`, each written as its ASCII digit. */
function asciiDigitsOf(run: string): string {
  let digits = '';
  for (const [d] of run.matchAll(/\p{Nd}/gu)) digits += String(decimalDigitValue(d));
  return digits;
}

let digitValues: Map<number, number> | undefined;

/** The value (0–9) of a Unicode decimal digit (`\p{Nd}`): its distance from the first digit of its run of ten. */
export function decimalDigitValue(digit: string): number {
  const code = digit.codePointAt(0) ?? 0;
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (digitValues === undefined) {
    // Built once, on the first non-ASCII digit: every block of Nd characters is ten in a row, 0–9.
    digitValues = new Map();
    const isDigit = /^\p{Nd}$/u;
    for (let c = 0x30, run = 0; c <= 0x1fbff; c++) {
      if (isDigit.test(String.fromCodePoint(c))) digitValues.set(c, run++ % 10);
      else run = 0;
    }
  }
  return digitValues.get(code) ?? 0;
}

/** Whether any 13–19-digit window of `digits` passes Luhn. */
function hasLuhnWindow(digits: string): boolean {
  for (let len = 13; len <= 19 && len <= digits.length; len++) {
    for (let start = 0; start + len <= digits.length; start++) {
      if (luhnValid(digits.slice(start, start + len))) return true;
    }
  }
  return false;
}
