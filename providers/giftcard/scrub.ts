import { createScrub } from '../../src/providers/index.ts';

/**
 * The plugin's transcript `scrub`: the values of `<card>` (the gift card number, which need not
 * pass Luhn, so `maskPan` alone could miss it), `<pin>` and anything named like an API key are
 * masked (`***`), as is an `X-Api-Key` header line should a transcript ever carry headers; then
 * every Luhn-valid card number left anywhere (`maskPan`).
 */
const scrubFields = createScrub({ extraFields: ['card', 'pin', 'api_key', 'x-api-key'] });

/** `X-Api-Key: value` as a header line. */
const API_KEY_HEADER = /^([ \t]*x-api-key[ \t]*:[ \t]*)[^\r\n]*$/gim;

/** Masks card numbers, PINs and the API key in a transcript. */
export function scrubGiftcard(transcript: string): string {
  return scrubFields(transcript.replace(API_KEY_HEADER, '$1***'));
}
