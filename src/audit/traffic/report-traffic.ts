/**
 * The report's traffic sections: messages per provider (from destinations), requests per type
 * (from the audit trail: the type travels encrypted), and refusals by outcome code.
 */
import { barChart, stackedBarChart } from './report-charts.ts';
import { figure, table, untrusted, type Row } from './report-format.ts';
import type { ScanReport } from './scan-report.ts';

/** Traffic per provider (stacked chart and table) and per request type. */
export function trafficSection(report: ScanReport): string {
  const providers = report.providers;
  const rows: Row[] = providers.map((p, i) => {
    const n = `provider[${i + 1}]`;
    return [figure(`${n}.name`, p.provider), figure(`${n}.requests`, p.requests), figure(`${n}.replies`, p.replies), figure(`${n}.dead_letters`, p.dead_letters)];
  });
  const chart = stackedBarChart(
    'chart-providers', 'Messages per provider: requests, replies, dead letters',
    [{ name: 'requests', tone: 'info' }, { name: 'replies', tone: 'ok' }, { name: 'dead letters', tone: 'bad' }],
    providers.map((p) => ({ label: p.provider, values: [p.requests, p.replies, p.dead_letters] })),
  );
  return `<section aria-labelledby="traffic-h"><h2 id="traffic-h">Traffic per provider</h2>
${providers.length === 0 ? '<p class="none">No message to a provider was captured.</p>' : `${chart}
${table('Messages per provider (from the destination they were sent to)', ['provider', 'requests', 'replies', 'dead letters'], rows)}`}
${typeSubsection(report)}
</section>`;
}

function typeSubsection(report: ScanReport): string {
  if (report.trail === undefined) {
    return '<h3>Requests per type</h3>\n<p class="note">Request types travel encrypted: they are known from the audit trail only, and none was given.</p>';
  }
  const rows: Row[] = [];
  const bars: { label: string; value: number; tone: 'info' }[] = [];
  report.providers.forEach((p, i) => p.by_type.forEach((t, j) => {
    const n = `provider[${i + 1}].type[${j + 1}]`;
    rows.push([untrusted(p.provider), figure(`${n}.name`, t.type), figure(`${n}.count`, t.count)]);
    bars.push({ label: `${p.provider} ${t.type}`, value: t.count, tone: 'info' });
  }));
  if (rows.length === 0) return '<h3>Requests per type</h3>\n<p class="none">The audit trail names no request of a captured provider.</p>';
  return `<h3>Requests per type</h3>
${barChart('chart-types', 'Requests per provider and type, from the audit trail', bars)}
${table('Requests per provider and type (from the audit trail)', ['provider', 'type', 'requests'], rows)}`;
}

/** Refused or dead-lettered requests by outcome code, from the audit trail. */
export function refusalSection(report: ScanReport): string {
  const refusals = report.trail?.refusals;
  let body: string;
  if (refusals === undefined) {
    body = '<p class="note">Refusals are known from the audit trail only, and none was given.</p>';
  } else if (refusals.length === 0) {
    body = `<p>No request was refused (${figure('refusals.total', 0)}).</p>`;
  } else {
    const total = refusals.reduce((a, r) => a + r.count, 0);
    const rows: Row[] = refusals.map((r, i) => [figure(`refusal[${i + 1}].code`, r.code), figure(`refusal[${i + 1}].count`, r.count)]);
    body = `<p>${figure('refusals.total', total)} requests refused or dead-lettered.</p>
${barChart('chart-refusals', 'Refused or dead-lettered requests by outcome code', refusals.map((r) => ({ label: r.code, value: r.count, tone: 'warn' as const })))}
${table('Refused or dead-lettered requests by outcome code (from the audit trail)', ['code', 'requests'], rows)}`;
  }
  return `<section aria-labelledby="refusals-h"><h2 id="refusals-h">Refusals by code</h2>
${body}
</section>`;
}
