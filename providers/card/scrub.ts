/**
 * The `card` plugin's transcript `scrub`: CardGate's envelopes carry the clear card number
 * (`<Number>`), the CVV (`<Cvv>`) and the WS-Security password (`<wsse:Password>`, and a
 * `<wsse:Nonce>` in PasswordDigest mode). `createScrub` masks the transports' known secret
 * names (cvv, password, …) and every Luhn-valid card number; `Number` and `Nonce` are added so
 * that a card number is masked even when it fails Luhn (CardGate's `14` test cards).
 */
import { createScrub } from '../../src/providers/index.ts';

/** Masks card numbers, CVVs and credentials in a CardGate transcript. */
export const scrubCardTranscript: (transcript: string) => string = createScrub({ extraFields: ['Number', 'Nonce'] });
