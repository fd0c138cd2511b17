import type { AvsResult, CvvResult } from '../../src/providers/index.ts';

/**
 * PayPal's `AVSCODE` and `CVV2MATCH` letters (and the Maestro/Solo digits) → paygate's AVS and
 * CVV enums. A letter not listed is left out of the result rather than guessed.
 */

const AVS: Readonly<Record<string, AvsResult>> = Object.freeze({
  A: 'address_only', B: 'address_only', // address only, no ZIP
  C: 'no_match', N: 'no_match', // no match
  D: 'match', F: 'match', X: 'match', Y: 'match', // address and postal code
  P: 'postcode_only', W: 'postcode_only', Z: 'postcode_only', // postal code only
  E: 'not_checked', // not allowed for MOTO
  G: 'unavailable', I: 'unavailable', R: 'unavailable', S: 'unavailable', U: 'unavailable', // not available / not supported / retry
  '0': 'match', '1': 'no_match', '2': 'address_only', '3': 'not_checked', '4': 'unavailable', // Maestro / Solo
});

const CVV: Readonly<Record<string, CvvResult>> = Object.freeze({
  M: 'match', N: 'no_match', P: 'not_processed', S: 'unavailable', U: 'unavailable', X: 'unavailable',
  '0': 'match', '1': 'no_match', '2': 'unavailable', '3': 'not_processed', '4': 'unavailable',
});

/** `{ avs?, cvv? }` for a result, from the answer's AVSCODE and CVV2MATCH. */
export function verificationOf(fields: Readonly<Record<string, string>>): { avs?: AvsResult; cvv?: CvvResult } {
  const avs = lookup(AVS, fields.AVSCODE);
  const cvv = lookup(CVV, fields.CVV2MATCH);
  return { ...(avs === undefined ? {} : { avs }), ...(cvv === undefined ? {} : { cvv }) };
}

function lookup<T>(table: Readonly<Record<string, T>>, code: string | undefined): T | undefined {
  if (code === undefined) return undefined;
  const key = code.trim().toUpperCase();
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
