/**
 * Card numbers where none belongs. A PAN typed into an order id, an idempotency key or a
 * description would travel and be stored as ordinary text: in the idempotency store, the
 * provider's merchant reference, logs and feeds. Such a value is refused, not masked: masking it
 * would silently change the caller's reference.
 *
 * What is refused is narrower than what `maskPan` masks, on purpose. Masking a false positive
 * costs some readability in a log; refusing one fails a payment. So a value is refused when it
 * holds a run of digits in which one group, or consecutive groups of 3–8 digits each (the way card
 * numbers are written: 4-4-4-4, Amex's 4-6-5, 4-4-4-4-3), add up to 13–19 digits that form a
 * number card-validator accepts as a card: Luhn-valid, with the prefix and length of a known
 * brand. A counter and a timestamp glued into a key (`order-7-1765432101234`,
 * `sale-412-1796621691251`) are never joined, so such keys pass whatever their digits; `4111
 * 1111 1111 1111` or `ref-4111111111111111` does not. One 16-digit number in ten with a brand's prefix passes
 * Luhn by chance: long plain-number references that start like a card (4…, 51–55…) should carry
 * a letter.
 *
 * People write card numbers in many ways, and copy-paste brings more: the groups may be apart by
 * up to two of space, tab, no-break or thin space, `.`, `/`, `_`, hyphen or dash, and the digits
 * may be any Unicode decimal digits (fullwidth `４`, Arabic-Indic `٤`…), read by their value. A
 * UUID (version 1–8, RFC 9562 variant) is left alone, since request ids and the SDK's default
 * idempotency keys are UUIDs and their all-digit groups would otherwise fail at random.
 */
import cardValidator from 'card-validator';
import { CARD_SEPARATOR as SEPARATOR, decimalDigitValue, maskPan, Secret } from './secret.ts';
/** A UUID (left alone), or a digit run with separators of at most two characters. */
const UUID_OR_DIGIT_RUN = new RegExp(
  `([0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})|\\d(?:${SEPARATOR}{0,2}\\d)*`,
  'giu',
);
const GROUP_BREAK = new RegExp(`${SEPARATOR}+`, 'u');

/** Whether `text` holds a card number (see the module comment for the exact rule). */
export function containsCardNumber(text: string): boolean {
  for (const match of asciiDigits(text).matchAll(UUID_OR_DIGIT_RUN)) {
    if (match[1] !== undefined) continue;
    const groups = match[0].split(GROUP_BREAK);
    for (let first = 0; first < groups.length; first++) {
      let digits = '';
      for (let last = first; last < groups.length && digits.length < 19; last++) {
        const group = groups[last] as string;
        // A group joins others only if it is sized like a card number's group.
        if (last > first && !(isJoinable(group) && isJoinable(groups[first] as string))) break;
        digits += group;
        if (digits.length >= 13 && digits.length <= 19 && isCardNumber(digits)) return true;
      }
    }
  }
  return false;
}

/** A group of 3–8 digits: what card numbers are written in (a counter or a timestamp is not). */
function isJoinable(group: string): boolean {
  return group.length >= 3 && group.length <= 8;
}

function isCardNumber(digits: string): boolean {
  return cardValidator.number(digits, { luhnValidateUnionPay: true }).isValid;
}

/** `text` with every Unicode decimal digit written as its ASCII digit (ASCII text is returned as is). */
function asciiDigits(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return text.normalize('NFKC').replace(/\p{Nd}/gu, (digit) => String(decimalDigitValue(digit)));
}

/**
 * `text` with every card number masked so that {@link containsCardNumber} finds none: `maskPan`
 * (first 6 / last 4 kept) where that is enough, else every character that is or folds (NFKC) to
 * a digit written as `*`. The one rule for text a client set that goes into a record: whatever
 * the detector would refuse, this masks.
 */
export function maskCardNumbers(text: string): string {
  const masked = maskPan(text);
  if (!containsCardNumber(masked)) return masked;
  let out = '';
  for (const char of masked) out += /\p{Nd}/u.test(char.normalize('NFKC')) ? '*' : char;
  return out;
}

const MAX_DEPTH = 64;

/**
 * The path (`payload.order_id`, `items.2.note`) of the first string or number in `value` that
 * holds a card number, or undefined when there is none. `Secret` values (a validated card's
 * number and CVC) are where card data belongs and are skipped.
 * Mapping keys are checked too.
 */
export function findCardNumber(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') return containsCardNumber(value) ? path || '(value)' : undefined;
  if (typeof value === 'number' || typeof value === 'bigint') return findCardNumber(String(value), path, depth);
  if (value instanceof Secret || value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined;
  // The path goes into error messages: keys are shown only when plain (shownKey).
  const join = (shown: string): string => (path === '' ? shown : `${path}.${shown}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findCardNumber(value[i], join(String(i)), depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (containsCardNumber(key)) return join('(a key)');
    const found = findCardNumber(item, join(shownKey(key)), depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * A key received from outside as it may appear in a message: itself when it is a plain name
 * (letters, digits, `_`, `-`, at most 64 characters) or an array index, else a placeholder. Keys
 * are input too: one may hold control characters, a megabyte, or card data split over keys.
 */
export function shownKey(key: PropertyKey): string {
  const text = String(key);
  return /^(?:[A-Za-z_][\w-]{0,63}|\d{1,9})$/.test(text) && maskPan(text) === text ? text : '(a key not shown)';
}
