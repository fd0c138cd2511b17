/**
 * Card numbers in what crossed the broker: every header name and value, and the body as sent.
 * The rule is the project's own (src/wire/card-text.ts `containsCardNumber`: Luhn-valid, with a
 * known brand's prefix and length, grouped the way card numbers are written); this file adds the
 * speed a capture of millions needs and the masked form a report may show.
 *
 * Hex digests of the usual lengths (MD5 to SHA-512, as whole words) are skipped: one random
 * SHA-256 in a few hundred holds a digit run that passes as a card number, and messages carry
 * digests and HMACs in headers. A card number hidden inside such a word is not found; that is
 * deliberate concealment, which no text scan can rule out.
 */
import { containsCardNumber, luhnValid } from '../../wire/index.ts';

/** What may stand between digit groups: the separators containsCardNumber accepts. */
const SEPARATOR = '[ \\t\\u00a0\\u2007\\u2009\\u202f._/\\-\\u2010-\\u2015]';
/**
 * Thirteen ASCII digits, consecutive or with up to two separators between each: without such a
 * run, ASCII text holds no card number by containsCardNumber's rule (which needs 13 digits in
 * groups apart by at most two separators), so most text is cleared by this one native regex.
 */
const THIRTEEN_DIGITS = new RegExp(`\\d(?:${SEPARATOR}{0,2}\\d){12}`);
const DIGIT_RUN = new RegExp(`\\d(?:${SEPARATOR}{0,2}\\d)*`, 'g');
const DIGEST_WORD = /\b(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})\b/gi;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
/**
 * Latin-1 text (a DER body read one character per byte) whose only digits, even after NFKC, are
 * 0-9: every character below U+0100 but the superscripts and fractions (¹ ² ³ ¼ ½ ¾), the only
 * ones NFKC turns into digits. The thirteen-digit test clears such text as it clears ASCII text.
 */
const LATIN1_ASCII_DIGITS = /^[^\u0100-\uffff\xb2\xb3\xb9\xbc-\xbe]*$/;

/**
 * The card number in `text`, masked (first 6 / last 4 at most), or undefined when there is none.
 * When the number cannot be located for masking (digits of another script), the mask shows no
 * digit at all.
 */
export function maskedCardIn(text: string): string | undefined {
  const asciiDigits = ASCII.test(text) || LATIN1_ASCII_DIGITS.test(text);
  if (asciiDigits && !THIRTEEN_DIGITS.test(text)) return undefined;
  const scanned = text.replace(DIGEST_WORD, '#');
  if (asciiDigits && !THIRTEEN_DIGITS.test(scanned)) return undefined;
  for (const chunk of chunks(scanned)) {
    if (containsCardNumber(chunk)) return locate(chunk) ?? '(a card number in non-ASCII digits, not shown)';
  }
  return undefined;
}

/** Characters a card number is written with: digits (of any script) and separators. */
const CARD_CHARACTER = new RegExp(`[\\p{Nd}\\p{No}]|${SEPARATOR}`, 'u');
const CHUNK_CHARS = 16 * 1024;
/** Longer than any written card number (19 digits, up to two separators between each). */
const OVERLAP_CHARS = 64;

/**
 * `text` in pieces of about CHUNK_CHARS: the regular expressions behind the rule recurse once per
 * character of a run, and a megabyte-long digit run overflows the stack. A piece ends on a
 * character no card number is written with when one is near; else it is cut, and the next piece
 * starts OVERLAP_CHARS earlier, so every written card number lies whole within some piece.
 */
function* chunks(text: string): Generator<string> {
  let start = 0;
  while (text.length - start > CHUNK_CHARS) {
    let end = start + CHUNK_CHARS;
    const floor = end - OVERLAP_CHARS * 16;
    while (end > floor && CARD_CHARACTER.test(text[end - 1] as string)) end--;
    if (end > floor) {
      yield text.slice(start, end);
      start = end;
    } else {
      yield text.slice(start, start + CHUNK_CHARS);
      start += CHUNK_CHARS - OVERLAP_CHARS;
    }
  }
  yield text.slice(start);
}

/** The first Luhn-valid 13–19-digit window of an ASCII digit run, masked. */
function locate(text: string): string | undefined {
  for (const match of text.matchAll(DIGIT_RUN)) {
    const digits = match[0].replace(/\D/g, '');
    for (let length = 19; length >= 13; length--) {
      for (let start = 0; start + length <= digits.length; start++) {
        const window = digits.slice(start, start + length);
        if (luhnValid(window)) return `${window.slice(0, 6)}${'*'.repeat(length - 10)}${window.slice(-4)}`;
      }
    }
  }
  return undefined;
}
