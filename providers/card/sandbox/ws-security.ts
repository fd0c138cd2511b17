/**
 * Server-side check of a WS-Security UsernameToken (OASIS UsernameToken Profile 1.0) as the
 * `soap` package parses the `wsse:Security` header: `PasswordText`, or `PasswordDigest` =
 * Base64(SHA-1(nonce bytes + Created + password)).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const DIGEST_TYPE = /#PasswordDigest$/;

/** An element as `soap` parses it: its text, or `{ attributes, $value }` when it has attributes. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object' && '$value' in value) return textOf((value as { $value: unknown }).$value);
  return undefined;
}

function typeOf(value: unknown): string {
  if (value && typeof value === 'object' && 'attributes' in value) {
    const attributes = (value as { attributes: unknown }).attributes;
    if (attributes && typeof attributes === 'object' && 'Type' in attributes) return String(attributes.Type);
  }
  return '';
}

/** Compares in constant time whatever the lengths. */
function same(a: string, b: string): boolean {
  const hash = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(hash(a), hash(b));
}

/** Base64(SHA-1(nonce + created + password)), the profile's PasswordDigest. */
export function passwordDigest(nonceBase64: string, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonceBase64, 'base64'), Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

/**
 * Whether `security` (the parsed `Security` header, or `undefined` when there is none) holds a
 * UsernameToken for `username` with `password`, as text or as digest.
 */
export function checkUsernameToken(security: unknown, username: string, password: string): boolean {
  if (!security || typeof security !== 'object' || !('UsernameToken' in security)) return false;
  const token = security.UsernameToken;
  if (!token || typeof token !== 'object') return false;
  const fields = token as Record<string, unknown>;
  const user = textOf(fields.Username);
  const sent = textOf(fields.Password);
  if (user === undefined || sent === undefined) return false;
  const userOk = same(user, username);
  if (!DIGEST_TYPE.test(typeOf(fields.Password))) return userOk && same(sent, password);
  const nonce = textOf(fields.Nonce);
  const created = textOf(fields.Created);
  if (nonce === undefined || created === undefined) return false;
  return userOk && same(sent, passwordDigest(nonce, created, password));
}
