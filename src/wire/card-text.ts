/**
 * Card numbers where none belongs. A PAN typed into an order id, an idempotency key or a
 * description would travel and be stored as ordinary text: in the idempotency store, the
 * provider's merchant reference, logs and feeds. Such a value is refused, not masked: masking it
 * would silently change the caller's reference.
 *
 * "Looks like a card number" is exactly what `maskPan` masks (a Luhn-valid 13–19 digit run,
 * single spaces or dashes allowed, UUIDs excepted), so what is refused here is what the logs
 * would have hidden. About one 13–19 digit number in ten passes Luhn by chance: references that
 * are long plain numbers should carry a letter or another separator.
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
  const join = (key: string): string => (path === '' ? key : `${path}.${key}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findCardNumber(value[i], join(String(i)), depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (maskPan(key) !== key) return join('(a key)');
    const found = findCardNumber(item, join(key), depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
