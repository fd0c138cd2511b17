/**
 * The secrets a conformance run must never leak, and the scanner that looks for them. Written
 * independently of `src/` (`maskPan`, `isSensitiveFieldName`): a test oracle that shares the
 * code under test shares its bugs. PANs are found with `findPans` (test/helpers/pan-scan.ts).
 */
import { findPans, luhn } from '../helpers/pan-scan.ts';

/** Everything the run sent that must stay inside the worker and the provider call. */
export interface Secrets {
  /** Card numbers sent in payloads (digits only). */
  readonly pans: Set<string>;
  /** Card security codes and PINs sent in payloads. */
  readonly cvvs: Set<string>;
  /** Credential values from the settings' `options`, by option path (`password`, `auth.key`). */
  readonly credentials: Map<string, string>;
  /** The payload keys the CVVs and PINs came under (`cvc`, `pin`). */
  readonly secretKeys: Set<string>;
}

/** Payload keys whose values are secret codes (CVV, PIN, password…). */
const SECRET_KEY = /cvv|cvc|cvn|csc|pin$|^pin|password|passwd|secret|token/i;

/** An empty collection. */
export function emptySecrets(): Secrets {
  return { pans: new Set(), cvvs: new Set(), credentials: new Map(), secretKeys: new Set() };
}

/** Adds the card numbers and secret codes found anywhere in `payload` (a request as the caller wrote it). */
export function collectPayloadSecrets(secrets: Secrets, payload: unknown, key = ''): void {
  if (typeof payload === 'string' || typeof payload === 'number') {
    const text = String(payload);
    const digits = text.replace(/[ -]/g, '');
    if (/^\d{13,19}$/.test(digits) && luhn(digits)) secrets.pans.add(digits);
    else if (SECRET_KEY.test(key) && text.length > 0) {
      secrets.cvvs.add(text);
      secrets.secretKeys.add(key);
    }
    return;
  }
  if (Array.isArray(payload)) {
    for (const item of payload) collectPayloadSecrets(secrets, item, key);
  } else if (typeof payload === 'object' && payload !== null) {
    for (const [name, value] of Object.entries(payload)) collectPayloadSecrets(secrets, value, name);
  }
}

/** Adds every string (and number) leaf of the settings' `options` except the public ones. */
export function collectCredentials(secrets: Secrets, options: unknown, publicKeys: readonly string[], path = ''): void {
  if (typeof options === 'string' || typeof options === 'number') {
    const value = String(options);
    if (!publicKeys.includes(path) && value.length >= 4) secrets.credentials.set(path, value);
    return;
  }
  if (typeof options === 'object' && options !== null) {
    for (const [name, value] of Object.entries(options)) collectCredentials(secrets, value, publicKeys, path === '' ? name : `${path}.${name}`);
  }
}

/** `value` as a whole token: not part of a longer run of letters or digits (a CVV `123` inside `t-1234` is no leak). */
function containsToken(text: string, value: string): boolean {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9A-Za-z])${escaped}(?![0-9A-Za-z])`).test(text);
}

/** One leak: where it was found and what kind of secret (never the secret itself). */
export interface Leak {
  readonly where: string;
  readonly what: string;
}

/**
 * The text without the request/reply ids and timestamps every document carries: their digit
 * groups (`…-4321-…` in a UUID, the milliseconds `.842Z` of a timestamp) are random and would
 * sometimes equal a 3–4 digit CVV or PIN by chance. Only the short-code scan uses this.
 */
function withoutIdsAndTimes(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g, '<time>');
}

/** Every leak of `secrets` (or of any card number at all) in `texts`, labelled by `where`. */
export function findLeaks(texts: readonly { where: string; text: string }[], secrets: Secrets): Leak[] {
  const leaks: Leak[] = [];
  for (const { where, text } of texts) {
    if (findPans(text).length > 0) leaks.push({ where, what: 'a card number' });
    for (const pan of secrets.pans) if (text.replace(/[ -]/g, '').includes(pan)) leaks.push({ where, what: 'a card number sent in a payload' });
    const scanned = withoutIdsAndTimes(text);
    for (const cvv of secrets.cvvs) if (containsToken(scanned, cvv)) leaks.push({ where, what: 'a card security code / PIN sent in a payload' });
    for (const [path, value] of secrets.credentials) if (text.includes(value)) leaks.push({ where, what: `the credential options.${path}` });
  }
  return leaks;
}
