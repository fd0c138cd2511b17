/**
 * The template provider's `scrub`: masks every credential, card number and CVC in a transcript
 * (the raw form bodies of its calls) before anything is logged or stored. `createScrub` masks
 * the usual secret names (cvv, password, api_key, signature, token…) and card numbers; add
 * every other field of your protocol that carries a secret.
 */
import { createScrub } from '../../src/providers/index.ts';

/** TODO(scrub): every field name of your protocol that carries a credential or card data. */
export const SECRET_FIELDS = ['API_KEY', 'CARD_NUMBER', 'CVV'];

/** Masks the fields above, the usual secret names, and card numbers anywhere. */
export const scrub = createScrub({ extraFields: SECRET_FIELDS });
