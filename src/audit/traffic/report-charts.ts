/**
 * The report's charts: horizontal bar charts drawn as inline SVG, so the file needs no script
 * and no asset. Each bar carries its label and value as text (readable printed, and by a screen
 * reader through the table beside every chart) and a `<title>` tooltip; colours come from the
 * page's stylesheet through classes (no `style` attribute, which the page's CSP forbids).
 */
import { maskPan } from '../../wire/index.ts';
import { esc, plain, untrusted } from './report-format.ts';

/** How a bar is coloured. */
export type Tone = 'neutral' | 'info' | 'ok' | 'warn' | 'bad';

/** One bar: a label (untrusted text), its value and colour. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly tone?: Tone;
}

/** One row of a stacked chart: a label and one value per series. */
export interface StackedRow {
  readonly label: string;
  readonly values: readonly number[];
}

const WIDTH = 760;
const LABEL_WIDTH = 260;
const VALUE_WIDTH = 90;
const BAR_HEIGHT = 20;
const GAP = 8;
const LEGEND_HEIGHT = 24;
/** Labels longer than this are cut on the chart; the tooltip and the table keep them whole. */
const LABEL_CHARS = 32;

const PLOT = WIDTH - LABEL_WIDTH - VALUE_WIDTH;

/** A label shortened for the chart, masked before it is cut (a cut card number would escape the mask), then escaped. */
function cut(label: string): string {
  const masked = maskPan(label);
  return esc(masked.length > LABEL_CHARS ? `${masked.slice(0, LABEL_CHARS - 1)}…` : masked);
}

function frame(id: string, title: string, height: number, body: string): string {
  return `<svg class="chart" id="${esc(id)}" role="img" aria-labelledby="${esc(id)}-t" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">`
    + `<title id="${esc(id)}-t">${esc(title)}</title>\n${body}</svg>`;
}

function scale(max: number): (v: number) => number {
  return (v) => (max <= 0 ? 0 : Math.max(v > 0 ? 1 : 0, Math.round((v / max) * PLOT)));
}

/**
 * A horizontal bar chart, one bar per entry, in the order given. `id` must be unique in the
 * page; `title` names the chart for assistive technology. Returns a note instead of an empty
 * chart when there is nothing to draw.
 */
export function barChart(id: string, title: string, bars: readonly Bar[]): string {
  if (bars.length === 0) return '<p class="none">Nothing to chart.</p>';
  const x = scale(Math.max(...bars.map((b) => b.value)));
  const rows = bars.map((b, i) => {
    const y = i * (BAR_HEIGHT + GAP);
    const w = x(b.value);
    const tip = `${untrusted(b.label)}: ${plain(b.value)}`;
    return `<g class="bar ${b.tone ?? 'neutral'}"><title>${tip}</title>`
      + `<text class="label" x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${cut(b.label)}</text>`
      + `<rect x="${LABEL_WIDTH}" y="${y}" width="${w}" height="${BAR_HEIGHT}" rx="2"/>`
      + `<text class="value" x="${LABEL_WIDTH + w + 6}" y="${y + 15}">${plain(b.value)}</text></g>`;
  });
  return frame(id, title, bars.length * (BAR_HEIGHT + GAP), rows.join('\n'));
}

/**
 * A horizontal stacked bar chart: one bar per row, one segment per series (`series[i]` names
 * `values[i]`, coloured `tones[i]`), with a legend above.
 */
export function stackedBarChart(id: string, title: string, series: readonly { name: string; tone: Tone }[], rows: readonly StackedRow[]): string {
  if (rows.length === 0) return '<p class="none">Nothing to chart.</p>';
  const total = (r: StackedRow): number => r.values.reduce((a, v) => a + v, 0);
  const x = scale(Math.max(...rows.map(total)));
  const legend = series.map((s, i) =>
    `<g class="bar ${s.tone}"><rect x="${LABEL_WIDTH + i * 150}" y="4" width="14" height="14" rx="2"/><text class="legend" x="${LABEL_WIDTH + i * 150 + 20}" y="16">${esc(s.name)}</text></g>`);
  const bars = rows.map((r, i) => {
    const y = LEGEND_HEIGHT + i * (BAR_HEIGHT + GAP);
    let at = LABEL_WIDTH;
    const segments = r.values.map((v, j) => {
      const s = series[j];
      const w = x(v);
      const rect = v === 0 || s === undefined ? ''
        : `<g class="bar ${s.tone}"><title>${untrusted(r.label)}, ${esc(s.name)}: ${plain(v)}</title><rect x="${at}" y="${y}" width="${w}" height="${BAR_HEIGHT}"/></g>`;
      at += w;
      return rect;
    });
    return `<g><text class="label" x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end"><title>${untrusted(r.label)}</title>${cut(r.label)}</text>`
      + `${segments.join('')}<text class="value" x="${at + 6}" y="${y + 15}">${plain(total(r))}</text></g>`;
  });
  return frame(id, title, LEGEND_HEIGHT + rows.length * (BAR_HEIGHT + GAP), `${legend.join('')}\n${bars.join('\n')}`);
}
