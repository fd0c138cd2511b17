import { createScrub } from '../../src/providers/index.ts';

/**
 * The plugin's transcript `scrub`: the card number (`ACCT`), the security code (`CVV2`) and the
 * API credentials (`USER`'s `PWD` and `SIGNATURE`) are masked; every card number anywhere else
 * too (`maskPan`). `createScrub` already treats names containing `cvv`, `pwd` and `signature` as
 * secret; `ACCT` is added, so a PAN the card-number detector might miss (an odd length, a failed
 * Luhn check) is still masked by field name.
 */
export const PAYPAL_SECRET_FIELDS: readonly string[] = Object.freeze(['ACCT', 'CVV2', 'PWD', 'SIGNATURE']);

/** Masks ACCT, CVV2, PWD, SIGNATURE and every card number in a transcript. */
export const scrubPaypal: (transcript: string) => string = createScrub({ extraFields: PAYPAL_SECRET_FIELDS });
