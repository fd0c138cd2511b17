/**
 * The report's anomaly section: counts by kind (every count exact), then the anomalies one by
 * one as far as the scan listed them, with how many more it did not list.
 */
import { barChart } from './report-charts.ts';
import { esc, figure, table, untrusted, type Row } from './report-format.ts';
import { ANOMALY_KINDS, type AnomalyKind, type ScanReport } from './scan-report.ts';

/** What each anomaly kind means, for the auditor reading the report. */
export const ANOMALY_MEANINGS: Readonly<Record<AnomalyKind, string>> = {
  clear_body: 'Body not S/MIME: the message crossed the broker readable',
  not_encrypted: 'S/MIME headers, but no encrypted envelope inside (unparsable, or a bare signature)',
  card_data: 'A card number (Luhn-valid) in a header or in the body as sent',
  weak_key_transport: 'RSAES-PKCS1-v1_5 key transport (Bleichenbacher / Marvin attacks)',
  weak_kdf: 'ECDH with a SHA-1 key-derivation function',
  short_rsa_key: 'RSA recipient key below the minimum size',
  unauthenticated_cipher: 'AES-CBC without authentication where AES-GCM is required',
  unknown_algorithm: 'A cipher or key management the crypto profile does not list',
  unknown_recipient: 'Addressed to none of the known certificates',
  unrecorded_message: 'Captured request or reply that no audit record names',
  unseen_message: 'Audit record whose message was never seen on the wire',
};

function meaning(kind: string): string {
  return (ANOMALY_MEANINGS as Readonly<Record<string, string>>)[kind] ?? 'Unknown kind';
}

/** Anomaly counts by kind, the listed anomalies, and how many were not listed. */
export function anomalySection(report: ScanReport): string {
  const a = report.anomalies;
  const byKind = Object.entries(a.by_kind)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0)
    .sort(([x], [y]) => order(x) - order(y));
  if (a.total === 0 && byKind.length === 0) {
    return `<section aria-labelledby="anomalies-h"><h2 id="anomalies-h">Anomalies</h2>
<p class="status ok">None: every captured message was encrypted with an approved profile${report.policy.known_recipients > 0 ? ' to a known recipient' : ''}, with no card number in sight${report.trail === undefined ? '' : ', and matched the audit trail both ways'}.</p>
</section>`;
  }
  const kindRows: Row[] = byKind.map(([kind, n]) => [`<code>${esc(kind)}</code>`, esc(meaning(kind)), figure(`anomalies.kind:${kind}`, n)]);
  const listed = a.listed.map((x, i): Row => {
    const n = `anomaly[${i + 1}]`;
    return [
      figure(`${n}.kind`, x.kind), x.seq === undefined ? '<span class="note">trail</span>' : figure(`${n}.seq`, x.seq),
      x.time === undefined ? '' : esc(x.time), x.destination === undefined ? '' : untrusted(x.destination),
      `${untrusted(x.detail)}${x.request_id === undefined ? '' : ` <span class="note">(request ${untrusted(x.request_id)})</span>`}`,
    ];
  });
  const unlisted = Math.max(0, a.total - a.listed.length);
  return `<section aria-labelledby="anomalies-h"><h2 id="anomalies-h">Anomalies</h2>
${barChart('chart-anomalies', 'Anomalies by kind', byKind.map(([kind, n]) => ({ label: kind, value: n, tone: 'bad' as const })))}
${table('Anomalies by kind (exact counts)', ['kind', 'meaning', 'count'], kindRows)}
<h3>Anomalies one by one</h3>
<p>${figure('anomalies.listed', a.listed.length)} listed${unlisted === 0 ? '.' : `; ${figure('anomalies.unlisted', unlisted)} more not listed (the scan lists the first ones; the counts above are exact).`}</p>
${table('Anomalies in capture order (seq: the capture record; trail: found in the audit trail)', ['kind', 'seq', 'time', 'destination', 'detail'], listed)}
</section>`;
}

function order(kind: string): number {
  const i = (ANOMALY_KINDS as readonly string[]).indexOf(kind);
  return i === -1 ? ANOMALY_KINDS.length : i;
}
