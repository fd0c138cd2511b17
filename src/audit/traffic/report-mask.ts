/**
 * Card numbers masked in every text of a ScanReport, in one pass as the report is assembled: a
 * destination, a provider or request type, an issuer or subject DN, a serial, an anomaly's
 * detail, a refusal code, a chain error: each came from a broker client, a certificate or the
 * trail, and any of them can hold a PAN (a certificate whose CN is `4111 1111 1111 1111`). The
 * rule is the project's one for text a client set (src/wire/card-text.ts `maskCardNumbers`),
 * which the HTML report applies too, so the JSON, the scan's summary and the page show the same
 * masked text.
 */
import { maskCardNumbers } from '../../wire/card-text.ts';
import type { ScanReport } from './scan-report.ts';

/** Keys whose value is a SHA-256 the scan computed: shown as is, since masking could alter a digest (one in a few hundred holds a long digit run). */
const DIGEST_KEYS: ReadonlySet<string> = new Set(['body_sha256', 'sha256']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A hex word of 20 or more characters with a letter in it: a certificate serial, a key identifier,
 * a digest. A random one often holds a digit run that passes as a card number (a 20-byte serial
 * does about once in a few dozen), and masking it would change the value an auditor looks up. As
 * in the scan's card search (card-scan.ts), a card number hidden inside such a word is
 * concealment no text scan can rule out.
 */
const HEX_WORD = /\b(?=[0-9]*[a-f])[0-9a-f]{20,}\b/gi;

/** `text` with its card numbers masked (src/wire's `maskCardNumbers`), its long hex words left as they are. */
export function maskReportText(text: string): string {
  let out = '';
  let at = 0;
  for (const match of text.matchAll(HEX_WORD)) {
    out += maskCardNumbers(text.slice(at, match.index)) + match[0];
    at = match.index + match[0].length;
  }
  return out + maskCardNumbers(text.slice(at));
}

/** `report` with every card number in its texts masked (first 6 / last 4 at most). Idempotent. */
export function maskScanReport(report: ScanReport): ScanReport {
  return maskValue(report, '') as ScanReport;
}

function maskValue(value: unknown, key: string): unknown {
  if (typeof value === 'string') return DIGEST_KEYS.has(key) && SHA256_HEX.test(value) ? value : maskReportText(value);
  if (Array.isArray(value)) return value.map((item) => maskValue(item, key));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = maskValue(v, k);
  return out;
}
