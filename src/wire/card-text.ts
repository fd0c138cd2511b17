/**
 * Card numbers where none belongs. A PAN typed into an order id, an idempotency key or a
 * description would travel and be stored as ordinary text: in the idempotency store, the
 * provider's merchant reference, logs and feeds. Such a value is refused, not masked: masking it
 * would silently change the caller's reference.
 *
 * "Looks like a card number" is exactly what `maskPan` masks (a run of 13 or more digits, single
 * spaces or dashes allowed between them, in which some 13–19 digit window passes Luhn; UUIDs
 * excepted), so what is refused here is what the logs would have hidden. About one number in ten
 * passes Luhn by chance, and a run of n ≥ 13 digits has (n−12)(n−11)/2 windows (ten for 16
 * digits): references that are long plain numbers are refused more often than not, and should
 * break their digits every 12 at most with a letter or a separator other than a space or dash.
 */
import { maskPan, Secret } from './secret.ts';

const MAX_DEPTH = 64;

/**
 * The path (`payload.order_id`, `items.2.note`) of the first string or number in `value` that
 * holds a card number, or undefined when there is none. `Secret` values (a validated card's
 * number and CVC) are where card data belongs and are skipped.
 * Mapping keys are checked too.
 */
export function findCardNumber(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') return maskPan(value) === value ? undefined : path || '(value)';
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
    if (maskPan(key) !== key) return join('(a key)');
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
