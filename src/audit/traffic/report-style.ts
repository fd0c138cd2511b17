/**
 * The report's stylesheet and Content-Security-Policy. The page has one `<style>` element and
 * nothing else to load; the policy allows exactly that element (by its SHA-256) and nothing
 * more: no script, no image, no font, no connection, no form, no base URL. So even a value that
 * escaped escaping could neither run nor fetch anything, nor restyle the page through a
 * `style` attribute.
 */
import { createHash } from 'node:crypto';

/** The report's CSS: print-friendly, system fonts only (a font file would be an asset). */
export const REPORT_CSS = `
:root { color-scheme: light; --ok: #1a7f37; --warn: #b35900; --bad: #c62828; --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
nav ol { columns: 3; padding-left: 20px; margin: 8px 0 0; }
nav a, a { color: #0550ae; }
.verdict { border-radius: 6px; padding: 16px 20px; margin: 16px 0; border: 2px solid; }
.verdict.clean { border-color: var(--ok); background: #dafbe1; }
.verdict.failed { border-color: var(--bad); background: #ffebe9; }
.verdict .word { font-size: 28px; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em; }
.verdict.clean .word { color: var(--ok); }
.verdict.failed .word { color: var(--bad); }
.verdict h2 { border: none; margin: 0 0 4px; padding: 0; }
.verdict p { margin: 4px 0; }
.verdict .limitations { margin-top: 10px; padding: 8px 12px; border-left: 4px solid var(--warn); background: #fff1e5; }
.verdict .limitations ul { margin: 4px 0; padding-left: 20px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
caption { text-align: left; color: var(--muted); padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: var(--band); }
td span[data-figure] { font-variant-numeric: tabular-nums; }
tr.expired td, tr.refused td, tr.bad td { background: #ffebe9; }
tr.soon td, tr.weak td, tr.warn td { background: #fff1e5; }
.status { font-weight: 600; }
.status.approved, .status.intact, .status.ok { color: var(--ok); }
.status.weak, .status.warn, .status.not_checked { color: var(--warn); }
.status.refused, .status.broken, .status.bad { color: var(--bad); }
.none, .note { color: var(--muted); }
code { font: 12px/1.3 ui-monospace, "DejaVu Sans Mono", monospace; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0 12px; }
svg.chart text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: var(--ink); }
svg.chart text.value { fill: var(--muted); }
.bar.neutral rect { fill: #57606a; }
.bar.ok rect { fill: var(--ok); }
.bar.warn rect { fill: var(--warn); }
.bar.bad rect { fill: var(--bad); }
.bar.info rect { fill: #0969da; }
footer { margin-top: 40px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@media print { body { max-width: none; padding: 0; } nav { display: none; } h2 { break-after: avoid; } table, svg { break-inside: avoid; } }
`;

/** The page's policy: its own stylesheet (by hash) and nothing else, from anywhere. */
export function contentSecurityPolicy(css: string = REPORT_CSS): string {
  const hash = createHash('sha256').update(css, 'utf8').digest('base64');
  return `default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; font-src 'none'; connect-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'`;
}
