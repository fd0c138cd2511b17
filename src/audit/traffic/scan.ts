/**
 * `scanTraffic`: reads a capture (src/audit/capture) message by message, in constant memory, and
 * reports what crossed the broker WITHOUT decrypting anything: how each body was protected
 * (inspect.ts), against the crypto profile (policy.ts), to whom (the given certificates), and,
 * with the audit trail, whether every captured request and reply has its record and every record
 * its message on the wire (trail-match.ts). The result is the ScanReport data contract.
 */
import { readCapture } from '../capture/reader.ts';
import type { CapturedMessage } from '../capture/record.ts';
import { maskedCardIn } from './card-scan.ts';
import { classifyDestination, type DestinationNaming } from './classify.ts';
import { NameCache } from './envelope-facts.ts';
import { inspectMessage } from './inspect.ts';
import { judgeMessage, type JudgeContext } from './judge-message.ts';
import { daysToExpiry, inventoryRow, KnownCertificates } from './known-certs.ts';
import { limitationsOf } from './limitations.ts';
import { maskScanReport } from './report-mask.ts';
import { resolveScanOptions, type ResolvedScanOptions, type ScanOptions } from './scan-options.ts';
import { SCAN_REPORT_VERSION, type ScanReport } from './scan-report.ts';
import { Tally } from './tally.ts';
import { TrailMatcher, type TrailFindings } from './trail-match.ts';

export { type ScanOptions } from './scan-options.ts';

/** Replies whose request was not captured (or was forgotten) are counted under this provider. */
export const UNATTRIBUTED_PROVIDER = '(reply to an uncaptured request)';
/** Correlation ids remembered to attribute replies to providers; older ones are forgotten first. */
const MAX_PENDING_CORRELATIONS = 10_000;

/** The report and what the scan noticed that the report's contract has no field for. */
export interface ScanDetails {
  readonly report: ScanReport;
  /** With a trail: captured requests and replies whose body an earlier captured message of the same kind had (client retries, capture duplicates). */
  readonly duplicates?: number;
  /** With a trail: entries that are neither checkpoints nor audit records (not matched). */
  readonly unreadableRecords?: number;
}

/**
 * Scans a capture. Fails with AuditError: AUDIT_BAD_OPTION (options), AUDIT_CAPTURE_* (a capture
 * that cannot be read, is corrupt or truncated), AUDIT_SOURCE_FAILED / AUDIT_BAD_RESPONSE /
 * AUDIT_NOT_CHAINED (a trail that cannot be read). Anything wrong with the messages themselves
 * is a finding in the report, never an error.
 */
export async function scanTraffic(options: ScanOptions): Promise<ScanReport> {
  return (await scanTrafficDetailed(options)).report;
}

/** {@link scanTraffic}, with the counts the report has no field for (the CLI prints them). */
export async function scanTrafficDetailed(options: ScanOptions): Promise<ScanDetails> {
  const o = resolveScanOptions(options);
  const now = o.now ?? new Date();
  const known = o.certificates.length === 0 ? undefined : new KnownCertificates(o.certificates);
  const tally = new Tally();
  const context: JudgeContext = { tally, policy: { requireGcm: o.requireGcm, minRsaBits: o.minRsaBits }, known };
  const matcher = o.trail === undefined ? undefined : TrailMatcher.open(o.workDir);
  try {
    const segments = await readAll(o, context, matcher);
    let findings: TrailFindings | undefined;
    if (matcher !== undefined && o.trail !== undefined) {
      const loaded = await matcher.loadTrail(o.trail);
      const range = tally.firstTime === undefined || tally.lastTime === undefined
        ? undefined
        : { firstMs: Date.parse(tally.firstTime), lastMs: Date.parse(tally.lastTime) };
      const rules = { leadMs: o.windowLeadMs, tailMs: o.windowTailMs, maxRepliesByCorrelation: o.maxRepliesByCorrelation };
      findings = matcher.match(o.trail.where, loaded, range, rules, (a) => tally.anomalies.add(a));
    }
    return {
      report: assemble(o, tally, known, segments, now, findings),
      ...(findings === undefined
        ? {}
        : { duplicates: findings.duplicates, unreadableRecords: findings.unreadable }),
    };
  } finally {
    matcher?.close();
  }
}

/** Streams the capture through inspection and judgement; returns the number of segments. */
async function readAll(o: ResolvedScanOptions, context: JudgeContext, matcher: TrailMatcher | undefined): Promise<number> {
  const naming: DestinationNaming = { requestPrefix: o.requestPrefix, eventsQueue: o.eventsQueue, dlqSuffix: o.dlqSuffix };
  const names = new NameCache();
  const providerOf = new Map<string, string>();
  let segments = 0;
  for await (const message of readCapture(o.capture, { onSegment: () => segments++ })) {
    scanMessage(message, { naming, names, providerOf, context, matcher });
    if (o.onProgress !== undefined && context.tally.messages % o.progressEvery === 0) o.onProgress(context.tally.messages);
  }
  o.onProgress?.(context.tally.messages);
  return segments;
}

interface MessageScan {
  readonly naming: DestinationNaming;
  readonly names: NameCache;
  /** Provider of each recent request, by correlation id: replies carry the same id. */
  readonly providerOf: Map<string, string>;
  readonly context: JudgeContext;
  readonly matcher: TrailMatcher | undefined;
}

function scanMessage(message: CapturedMessage, scan: MessageScan): void {
  const { tally } = scan.context;
  const destinationCard = maskedCardIn(message.destination);
  // A destination is shown in anomalies; one holding a card number is shown by its kind only.
  const destination = destinationCard === undefined ? message.destination : '(a destination holding a card number)';
  const { kind, provider } = classifyDestination(message.destination, scan.naming);
  tally.noteMessage(kind, message.body.length, message.time, message.source);
  const shownProvider = provider === undefined || destinationCard === undefined ? provider : '(a provider name holding a card number)';
  const correlation = headerValue(message, 'correlation-id');
  if (kind === 'request' && shownProvider !== undefined) {
    tally.providers.row(shownProvider).requests++;
    if (correlation !== undefined) remember(scan.providerOf, correlation, shownProvider);
  } else if (kind === 'dead_letter' && shownProvider !== undefined) {
    tally.providers.row(shownProvider).dead_letters++;
  } else if (kind === 'reply') {
    const of = correlation === undefined ? undefined : scan.providerOf.get(correlation);
    tally.providers.row(of ?? UNATTRIBUTED_PROVIDER).replies++;
  }
  const facts = inspectMessage(message, scan.names);
  const cards = destinationCard === undefined ? facts.cards : [{ where: 'the destination', masked: destinationCard }, ...facts.cards];
  judgeMessage({ ...message, destination, bodyBytes: message.body.length }, { ...facts, cards }, scan.context);
  if (scan.matcher !== undefined && (kind === 'request' || kind === 'reply')) {
    scan.matcher.addCaptured(kind, message.seq, message.time, destination, message.bodySha256, correlation);
  }
}

/** The first value of a header (STOMP: the first occurrence wins), cut to a sane length. */
function headerValue(message: CapturedMessage, name: string): string | undefined {
  for (const [n, v] of message.headers) if (n === name) return v.slice(0, 256);
  return undefined;
}

function remember(map: Map<string, string>, key: string, value: string): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PENDING_CORRELATIONS) map.delete(map.keys().next().value as string);
}

function assemble(o: ResolvedScanOptions, tally: Tally, known: KnownCertificates | undefined, segments: number, now: Date, findings: TrailFindings | undefined): ScanReport {
  const recipients = tally.recipientRows((key) => {
    const cert = known?.find(key);
    return cert === undefined ? undefined : { subject: cert.subject, not_after: cert.notAfter.toISOString(), days_to_expiry: daysToExpiry(cert.notAfter, now) };
  });
  const messagesTo = new Map<string, number>();
  for (const cert of known?.all ?? []) {
    let n = 0;
    for (const key of cert.keys) n += tally.recipients.peek(key)?.messages ?? 0;
    messagesTo.set(cert.sha256, n);
  }
  const { anomalies } = tally;
  // Every text below came from a client, a certificate or the trail: masked here, once, for the JSON, the summary and the page alike.
  return maskScanReport({
    paygate_traffic_scan: SCAN_REPORT_VERSION,
    generated_at: now.toISOString(),
    verdict: anomalies.total === 0 ? 'clean' : 'anomalies',
    limitations: limitationsOf(tally.sources),
    capture: {
      path: o.capture,
      segments,
      messages: tally.messages,
      bytes: tally.bytes,
      ...(tally.firstTime === undefined ? {} : { first_time: tally.firstTime }),
      ...(tally.lastTime === undefined ? {} : { last_time: tally.lastTime }),
      sources: [...tally.sources].sort(),
    },
    policy: { require_gcm: o.requireGcm, min_rsa_bits: o.minRsaBits, known_recipients: known?.size ?? 0 },
    counts: { ...tally.counts },
    providers: tally.providerRows(findings?.byType),
    ciphers: tally.cipherRows(),
    recipients,
    certificates: (known?.all ?? []).map((cert) => inventoryRow(cert, now, messagesTo.get(cert.sha256) ?? 0)),
    anomalies: { total: anomalies.total, by_kind: { ...anomalies.byKind }, listed: [...anomalies.listed] },
    ...(findings === undefined ? {} : { trail: findings.side }),
  });
}
