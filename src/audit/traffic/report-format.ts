/**
 * How the HTML report writes values: every string goes through {@link esc} (text and attribute
 * values alike), free text from the capture or the trail goes through {@link untrusted} first
 * (card numbers masked), and every figure a reader or a test may check is wrapped by
 * {@link figure} with a stable `data-figure` name and a plain value.
 *
 * Every value of a ScanReport came from a broker client or a feed, so it is hostile until
 * escaped: a destination, an issuer DN or an anomaly's detail can hold `<script>` or `"`.
 */
import { maskReportText } from './report-mask.ts';

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a quoted attribute value (both quote kinds). */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/**
 * Free text read from the capture or the trail (destinations, DNs, details), escaped with any
 * card number masked by the rule the scan masks its report with (report-mask.ts), so that a page
 * shows the text of its JSON, and a report rendered from a hand-edited JSON is still clean.
 */
export function untrusted(value: string): string {
  return esc(maskReportText(value));
}

/** A number as figures show it: plain digits, no locale separators. */
export function plain(n: number): string {
  return Number.isFinite(n) ? String(n) : 'n/a';
}

/**
 * A figure the page shows and a test reads back: `<span data-figure="name">value</span>`.
 * Numbers are written plainly; text is masked like any untrusted value (a serial number or a
 * name is as untrusted as a detail), and so is the name, which may embed a value.
 */
export function figure(name: string, value: string | number, cls?: string): string {
  const text = typeof value === 'number' ? plain(value) : maskReportText(value);
  return `<span data-figure="${untrusted(name)}"${cls === undefined ? '' : ` class="${esc(cls)}"`}>${esc(text)}</span>`;
}

/** A byte count for a reader, beside its exact figure (binary units). */
export function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A shortened digest for a table cell; the full one stays in the cell's title. */
export function shortDigest(hex: string): string {
  // A digest is shown as is (masking could alter one); anything else is untrusted text.
  if (!/^[0-9a-f]{64}$/.test(hex)) return `<code>${untrusted(hex)}</code>`;
  return `<code title="${hex}">${hex.slice(0, 16)}…</code>`;
}

/** A table row: its cells (already HTML), and a class that highlights it. */
export type Row = readonly string[] | { readonly cls: string; readonly cells: readonly string[] };

/** A table with a caption, a header row and body rows (cells already HTML). */
export function table(caption: string, head: readonly string[], rows: readonly Row[]): string {
  const th = head.map((h) => `<th scope="col">${h}</th>`).join('');
  const tr = (row: Row): string => {
    const [cells, cls] = 'cells' in row ? [row.cells, row.cls] : [row as readonly string[], undefined];
    return `<tr${cls === undefined ? '' : ` class="${esc(cls)}"`}>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  };
  return `<table><caption>${caption}</caption>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${rows.map(tr).join('\n')}\n</tbody></table>`;
}
