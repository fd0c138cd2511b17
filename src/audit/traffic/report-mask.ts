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

/** `report` with every card number in its texts masked (first 6 / last 4 at most). Idempotent. */
export function maskScanReport(report: ScanReport): ScanReport {
  return maskValue(report, '') as ScanReport;
}

function maskValue(value: unknown, key: string): unknown {
  if (typeof value === 'string') return DIGEST_KEYS.has(key) && SHA256_HEX.test(value) ? value : maskCardNumbers(value);
  if (Array.isArray(value)) return value.map((item) => maskValue(item, key));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = maskValue(v, k);
  return out;
}
