/**
 * Scrubbing of everything the sandbox logs: SOAP envelopes and summary lines lose card numbers
 * (first six and last four digits kept), CVVs and WS-Security passwords before any log sink
 * sees them.
 */
import { maskPan } from '../../../src/wire/index.ts';

/** `<Cvv>`, `<wsse:Password …>`, `<Nonce>` contents: replaced whole. */
const SECRET_ELEMENT = /(<(?:[\w.-]+:)?(?:Cvv|Password|Nonce)\b[^>]*>)([^<]*)(<\/)/g;
/** `<Number>` contents: first six and last four digits kept. */
const NUMBER_ELEMENT = /(<(?:[\w.-]+:)?Number\b[^>]*>)([^<]*)(<\/)/g;

/** `4111111111111111` → `411111******1111`; short or odd values are masked entirely. */
function maskNumber(value: string): string {
  const digits = value.trim();
  if (!/^\d{12,19}$/.test(digits)) return '***';
  return `${digits.slice(0, 6)}${'*'.repeat(digits.length - 10)}${digits.slice(-4)}`;
}

/** `text` with card numbers, CVVs, passwords and nonces masked. */
export function scrub(text: string): string {
  return maskPan(
    text
      .replace(SECRET_ELEMENT, (_all, open: string, _value: string, close: string) => `${open}***${close}`)
      .replace(NUMBER_ELEMENT, (_all, open: string, value: string, close: string) => `${open}${maskNumber(value)}${close}`),
  );
}
