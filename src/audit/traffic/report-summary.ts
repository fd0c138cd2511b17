/**
 * The report's opening sections: the verdict (what an auditor reads first), what was scanned
 * (the capture and the audit trail), the audit chain's verification, and the policy applied.
 */
import { figure, humanBytes, untrusted, esc, table } from './report-format.ts';
import { MESSAGE_KINDS, type ScanReport } from './scan-report.ts';

/** What the chain section says: verified intact, broken, or not verified by this report. */
export type ChainStatus = 'intact' | 'broken' | 'not_checked';

/** The chain's status as the report shows it. */
export function chainStatus(report: ScanReport): ChainStatus {
  const chain = report.trail?.chain;
  if (chain === undefined) return 'not_checked';
  return chain.intact ? 'intact' : 'broken';
}

/** Whether the report passes: a clean scan and no broken chain. */
export function passes(report: ScanReport): boolean {
  return report.verdict === 'clean' && chainStatus(report) !== 'broken';
}

function timeRange(first: string | undefined, last: string | undefined, prefix: string): string {
  if (first === undefined || last === undefined) return '<span class="note">no messages</span>';
  return `${figure(`${prefix}.first_time`, first)} to ${figure(`${prefix}.last_time`, last)}`;
}

const CHAIN_WORDS: Readonly<Record<ChainStatus, string>> = { intact: 'intact', broken: 'BROKEN', not_checked: 'not checked' };

/** The verdict banner: the word, the anomaly total, the chain, the time range. */
export function verdictSection(report: ScanReport): string {
  const ok = passes(report);
  const status = chainStatus(report);
  const caveats = report.limitations.length > 0;
  const word = !ok && report.verdict === 'clean' ? 'Audit chain broken' : report.verdict === 'clean' ? (caveats ? 'Clean, with limitations' : 'Clean') : 'Anomalies found';
  return `<section class="verdict ${ok ? 'clean' : 'failed'}" aria-labelledby="verdict-h">
<h2 id="verdict-h" class="word">${esc(word)}</h2>
<p>Scan verdict: <strong>${figure('verdict', report.verdict)}</strong>;
${figure('anomalies.total', report.anomalies.total)} anomalies in ${figure('capture.messages', report.capture.messages)} captured messages;
audit chain: <span class="status ${status}">${esc(CHAIN_WORDS[status])}</span>.</p>
<p>Time range of the capture: ${timeRange(report.capture.first_time, report.capture.last_time, 'capture')}.</p>
${report.capture.messages === 0 ? '<p><strong>The capture holds no message: a clean verdict says nothing about the traffic.</strong></p>' : ''}
${limitationList(report)}
</section>`;
}

/** The limitations the verdict holds within, in the verdict banner itself: a reader of "clean" must see them. */
function limitationList(report: ScanReport): string {
  if (report.limitations.length === 0) return '';
  const items = report.limitations.map((l, i) => {
    const n = `limitation[${i + 1}]`;
    return `<li>${figure(`${n}.source`, l.source)}: ${figure(`${n}.limitation`, l.limitation, 'status warn')}: ${untrusted(l.detail)}</li>`;
  });
  return `<div class="limitations"><p><strong>What this scan could not check (${figure('limitations', report.limitations.length)}):</strong></p><ul>${items.join('')}</ul></div>`;
}

function trailFacts(report: ScanReport): string {
  const trail = report.trail;
  if (trail === undefined) {
    return `<p class="note">No audit trail was given (${figure('trail', 'none')}): captured requests and replies were not matched with audit records, and refusals and request types are unknown.</p>`;
  }
  return `<dl class="facts">
<dt>Read from</dt><dd>${figure('trail.source', trail.source)}</dd>
<dt>Audit records</dt><dd>${figure('trail.records', trail.records)}</dd>
<dt>Time range</dt><dd>${timeRange(trail.first_time, trail.last_time, 'trail')}</dd>
<dt>Requests matched</dt><dd>${figure('trail.matched_requests', trail.matched_requests)} of ${report.counts.request} captured</dd>
<dt>Replies matched</dt><dd>${figure('trail.matched_replies', trail.matched_replies)} of ${report.counts.reply} captured</dd>
<dt>Replies sent again</dt><dd>${figure('trail.replies_by_correlation', trail.replies_by_correlation)} tied to a captured, recorded request by their correlation id only (an answer repeated after a redelivery; at most ${figure('trail.replies_by_correlation_limit', trail.replies_by_correlation_limit)} per correlation id)</dd>
<dt>Records expected on the wire</dt><dd>${figure('trail.records_expected', trail.records_expected)} of the trail's records fall in the capture's time window and were looked for${trail.records_expected < trail.records ? ' <span class="note">(the others are outside it: a short capture checks few records)</span>' : ''}</dd>
<dt>Messages judged</dt><dd>${figure('trail.messages_judged', trail.messages_judged)} of ${report.counts.request + report.counts.reply} captured requests and replies were judged against the trail <span class="note">(those captured after its last record were not)</span></dd>
</dl>`;
}

/** What was scanned: the capture, the messages by kind, and the audit trail. */
export function scannedSection(report: ScanReport): string {
  const c = report.capture;
  const kinds = MESSAGE_KINDS.map((k) => [esc(k.replace('_', ' ')), figure(`counts.${k}`, report.counts[k])]);
  return `<section aria-labelledby="scanned-h"><h2 id="scanned-h">What was scanned</h2>
<h3>Capture</h3>
<dl class="facts">
<dt>Capture</dt><dd>${figure('capture.path', c.path)}</dd>
<dt>Captured on</dt><dd>${figure('capture.sources', c.sources.join(', '))}</dd>
<dt>Segments</dt><dd>${figure('capture.segments', c.segments)}</dd>
<dt>Bytes of bodies</dt><dd>${figure('capture.bytes', c.bytes)} (${esc(humanBytes(c.bytes))})</dd>
<dt>Encrypted (S/MIME)</dt><dd>${figure('counts.encrypted', report.counts.encrypted)}</dd>
<dt>Readable (not S/MIME)</dt><dd>${figure('counts.clear', report.counts.clear)}</dd>
</dl>
${table('Captured messages by kind (from their destination)', ['kind', 'messages'], kinds)}
<h3>Audit trail</h3>
${trailFacts(report)}
</section>`;
}

/** The audit chain's verification: intact, broken at which entry and why, or not checked. */
export function chainSection(report: ScanReport): string {
  const status = chainStatus(report);
  const chain = report.trail?.chain;
  let body: string;
  if (chain === undefined) {
    body = report.trail === undefined
      ? '<p>Not checked: no audit trail was given.</p>'
      : '<p>Not checked: give the certificates checkpoint signers chain to (<code>--trust</code>) to verify the hash chain and its signed checkpoints.</p>';
  } else {
    const b = chain.broken;
    body = `<dl class="facts">
<dt>Entries verified</dt><dd>${figure('chain.entries', chain.entries)}</dd>
<dt>Signed checkpoints verified</dt><dd>${figure('chain.checkpoints', chain.checkpoints)}</dd>
${b === undefined ? '' : `<dt>First broken link</dt><dd>seq ${figure('chain.broken.seq', b.seq)}, entry ${figure('chain.broken.id', b.id)}: ${figure('chain.broken.problem', b.problem, 'status broken')}: ${untrusted(b.detail)}</dd>`}
</dl>`;
  }
  return `<section aria-labelledby="chain-h"><h2 id="chain-h">Audit chain</h2>
<p>Status: ${figure('chain.status', status, `status ${status}`)}</p>
${body}
</section>`;
}

/** The policy the scan applied. */
export function policySection(report: ScanReport): string {
  const p = report.policy;
  return `<section aria-labelledby="policy-h"><h2 id="policy-h">Policy applied</h2>
<dl class="facts">
<dt>AES-GCM required (CBC is an anomaly)</dt><dd>${figure('policy.require_gcm', String(p.require_gcm))}</dd>
<dt>Smallest RSA key accepted</dt><dd>${figure('policy.min_rsa_bits', p.min_rsa_bits)} bits</dd>
<dt>Known recipient certificates</dt><dd>${figure('policy.known_recipients', p.known_recipients)}${p.known_recipients === 0 ? ' <span class="note">(none given: recipients were not checked)</span>' : ''}</dd>
</dl>
</section>`;
}
