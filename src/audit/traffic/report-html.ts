/**
 * `renderReportHtml`: the traffic audit's findings as ONE self-contained HTML file, for an
 * auditor to open in any browser, archive and attach as evidence. No script at all, no asset,
 * nothing fetched: inline CSS (allowed by its hash), charts as inline SVG, and a
 * Content-Security-Policy that forbids everything else, so a hostile value that escaped the
 * escaping could still neither run nor load anything.
 *
 * Every figure a reader might check is marked `data-figure="name"` with a plain value, so a
 * test (or an auditor's script) can compare the page with the `--json` document it came from.
 */
import { anomalySection } from './report-anomalies.ts';
import { esc, figure, untrusted } from './report-format.ts';
import { certificateSection, cipherSection } from './report-inventory.ts';
import { REPORT_CSS, contentSecurityPolicy } from './report-style.ts';
import { chainSection, passes, policySection, scannedSection, verdictSection } from './report-summary.ts';
import { refusalSection, trafficSection } from './report-traffic.ts';
import type { ScanReport } from './scan-report.ts';

const CONTENTS: readonly (readonly [string, string])[] = [
  ['verdict-h', 'Verdict'], ['scanned-h', 'What was scanned'], ['chain-h', 'Audit chain'], ['ciphers-h', 'Cipher inventory'],
  ['certs-h', 'Certificate inventory'], ['traffic-h', 'Traffic per provider'], ['refusals-h', 'Refusals by code'],
  ['anomalies-h', 'Anomalies'], ['policy-h', 'Policy applied'],
];

/**
 * Renders `report` as a complete HTML document (UTF-8). Pure: the same report gives the same
 * bytes, so a report can be regenerated from its JSON and compared.
 */
export function renderReportHtml(report: ScanReport): string {
  const title = `paygate traffic audit: ${passes(report) ? 'clean' : 'NOT clean'}, ${report.capture.first_time ?? 'no messages'}`;
  const nav = CONTENTS.map(([id, name]) => `<li><a href="#${id}">${esc(name)}</a></li>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(contentSecurityPolicy(REPORT_CSS))}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="paygate audit report">
<title>${untrusted(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header>
<h1>Traffic audit report</h1>
<p class="note">Generated ${figure('generated_at', report.generated_at)} by <code>paygate audit report</code> from the capture ${untrusted(report.capture.path)}. Messages were read as they crossed the broker; none was decrypted.</p>
<nav aria-label="Contents"><ol>${nav}</ol></nav>
</header>
<main>
${verdictSection(report)}
${scannedSection(report)}
${chainSection(report)}
${cipherSection(report)}
${certificateSection(report)}
${trafficSection(report)}
${refusalSection(report)}
${anomalySection(report)}
${policySection(report)}
</main>
<footer>
<p>paygate traffic scan document version ${figure('version', report.paygate_traffic_scan)}; the same findings as JSON: <code>paygate audit report … --json FILE</code>.</p>
</footer>
</body>
</html>
`;
}
