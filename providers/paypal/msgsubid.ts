import { createHash } from 'node:crypto';

/**
 * PayPal's idempotency field `MSGSUBID` from paygate's idempotency key.
 *
 * paygate keys are 1–128 printable ASCII characters; PayPal takes 1–38. A key that fits is sent
 * as it is (so it can be found in PayPal's reports by eye). A longer one is replaced, always the
 * same way, by `h-` followed by the first 36 characters of the base64url SHA-256 of the key:
 * 38 characters, 216 bits of the hash — deterministic, so a retry of the same request (and the
 * reconciliation lookup) uses the same MSGSUBID, and distinct keys practically never meet.
 */

/** PayPal's limit on MSGSUBID. */
export const MAX_MSGSUBID = 38;
/** Marks a hashed MSGSUBID. */
const HASH_PREFIX = 'h-';

/** The MSGSUBID for an idempotency key (see the module comment). */
export function msgSubIdFor(idempotencyKey: string): string {
  if (idempotencyKey.length >= 1 && idempotencyKey.length <= MAX_MSGSUBID && /^[\x20-\x7e]+$/.test(idempotencyKey)) {
    return idempotencyKey;
  }
  const digest = createHash('sha256').update(idempotencyKey, 'utf8').digest('base64url');
  return `${HASH_PREFIX}${digest.slice(0, MAX_MSGSUBID - HASH_PREFIX.length)}`;
}
