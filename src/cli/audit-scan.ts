/**
 * `paygate audit scan CAPTURE`: what crossed the broker, without decrypting anything (see
 * src/audit/traffic/scan.ts): how each body was protected, to whom, card numbers in headers or
 * bodies, and with the audit trail (`--feed URL` or `--db FILE`) the messages and records that
 * have no counterpart.
 *
 * Exit codes, as `paygate audit verify`: 0 clean, 2 anomalies (the summary lists them), 1 when the
 * scan could not be done (a capture that cannot be read, is corrupt or truncated; a trail that
 * cannot be read; bad options), with one line on stderr. Nothing printed ever holds a body or a
 * card number (anomalies show them masked).
 */
import { Command } from 'commander';
import { PaygateError } from '../errors.ts';
import type { ChainSource } from '../audit/index.ts';
import type { ScanDetails, ScanReport } from '../audit/traffic/index.ts';
import { readOptionFile, repeatable } from './io.ts';

/** Exit code of a scan that found anomalies. */
export const ANOMALIES_EXIT_CODE = 2;
/** Exit code when the scan could not be done. */
export const UNSCANNED_EXIT_CODE = 1;

/** The options `paygate audit scan` takes (and `paygate audit report` may share). */
export interface ScanCliOptions {
  feed?: string;
  token?: string;
  ca?: string;
  db?: string;
  name: string;
  certs?: string[];
  allowCbc?: boolean;
  minRsaBits?: string;
  requestPrefix?: string;
  eventsQueue?: string;
  windowLeadMs?: string;
  windowTailMs?: string;
  maxRepliesByCorrelation?: string;
  workDir?: string;
  json?: boolean;
}

/** The `audit scan` sub-command. */
export function scanCommand(): Command {
  return withScanOptions(new Command('scan')
    .description('Inspect a traffic capture without decrypting it (ciphers, recipients, card data, clear bodies) and match it with the audit trail: exit 0 clean, 2 anomalies, 1 could not scan')
    .argument('<capture>', 'a capture folder (segment-NNNNNN.jsonl files) or one segment file'))
    .option('--json', 'print the report as JSON (the ScanReport document)')
    .action(async (capture: string, o: ScanCliOptions, command: Command) => {
      checkScanOptions(o, (message) => command.error(`error: ${message}`, { exitCode: UNSCANNED_EXIT_CODE }));
      try {
        const { scanTrafficDetailed } = await import('../audit/traffic/index.ts'); // loaded on use: fast --help
        const trail = await openTrail(o);
        let details: ScanDetails;
        try {
          details = await scanTrafficDetailed({ capture, ...scanOptionsOf(o), ...(trail === undefined ? {} : { trail }) });
        } finally {
          trail?.close();
        }
        process.stdout.write(o.json === true ? `${JSON.stringify(details.report, null, 2)}\n` : describeScan(details));
        process.exitCode = details.report.verdict === 'clean' ? 0 : ANOMALIES_EXIT_CODE;
      } catch (error) {
        if (!(error instanceof PaygateError)) throw error;
        process.stderr.write(`paygate: ${error.code}: ${printable(error.message)}\n`);
        process.exitCode = UNSCANNED_EXIT_CODE;
      }
    });
}

/** The options of `audit scan` that `audit report` shares: where the trail is read, and the scan's policy. */
export function withScanOptions(command: Command): Command {
  return command
    .option('--feed <url>', 'the audit trail over HTTP, e.g. https://feeds.example.com/feeds/audit')
    .option('--token <token>', 'bearer token with the read right on the feed (default: the PAYGATE_FEED_TOKEN environment variable, which keeps it out of the process list and the shell history)')
    .option('--ca <file>', 'CA certificate (PEM) of the feed server\'s TLS certificate, when not a public one')
    .option('--db <file>', 'the audit trail from the feed store\'s SQLite file instead (opened read-only; a copy works)')
    .option('--name <feed>', 'the feed holding the audit records in --db', 'audit')
    .option('--certs <file>', 'certificates (PEM, one or more) of the expected recipients: any other recipient is an anomaly, and these make the certificate inventory; repeatable', repeatable)
    .option('--allow-cbc', 'accept AES-256-CBC envelopes (by default only AES-256-GCM is; CBC is an unauthenticated cipher)')
    .option('--min-rsa-bits <n>', 'smallest RSA recipient key accepted (default 2048)')
    .option('--request-prefix <prefix>', 'provider queues are <prefix><provider> (default /queue/paygate.)')
    .option('--events-queue <queue>', 'the events queue (default /queue/paygate.feed.events)')
    .option('--window-lead-ms <ms>', 'trail records are expected on the wire only when their request reached a worker this long after the capture\'s first message (default 30000)')
    .option('--window-tail-ms <ms>', '…and when they end at most this long after its last message (default 2000)')
    .option('--max-replies-by-correlation <n>', 'captured replies no audit record names are tied to a captured, recorded request by their correlation id, at most this many per id; any further one is an anomaly (default 3; 0 ties none)')
    .option('--work-dir <dir>', 'folder for the temporary matching database (default: the system\'s temporary folder)');
}

/** Refuses scan options that cannot work together or are not numbers; `fail` never returns. */
export function checkScanOptions(o: Omit<ScanCliOptions, 'json'>, fail: (message: string) => never): void {
  if (o.feed !== undefined && o.db !== undefined) fail('give at most one of --feed <url> and --db <file>');
  const numbers = [
    ['--min-rsa-bits', o.minRsaBits], ['--window-lead-ms', o.windowLeadMs], ['--window-tail-ms', o.windowTailMs], ['--max-replies-by-correlation', o.maxRepliesByCorrelation],
  ] as const;
  for (const [flag, value] of numbers) {
    if (value !== undefined && !/^[0-9]{1,9}$/.test(value)) fail(`${flag} must be a non-negative integer`);
  }
}

/** The scan options the flags give (besides the capture and the trail). */
export function scanOptionsOf(o: ScanCliOptions): Record<string, unknown> & { certificates: Buffer[] } {
  return {
    certificates: (o.certs ?? []).map((path) => readOptionFile('--certs', path)),
    requireGcm: o.allowCbc !== true,
    ...(o.minRsaBits === undefined ? {} : { minRsaBits: Number(o.minRsaBits) }),
    ...(o.requestPrefix === undefined ? {} : { requestPrefix: o.requestPrefix }),
    ...(o.eventsQueue === undefined ? {} : { eventsQueue: o.eventsQueue }),
    ...(o.windowLeadMs === undefined ? {} : { windowLeadMs: Number(o.windowLeadMs) }),
    ...(o.windowTailMs === undefined ? {} : { windowTailMs: Number(o.windowTailMs) }),
    ...(o.maxRepliesByCorrelation === undefined ? {} : { maxRepliesByCorrelation: Number(o.maxRepliesByCorrelation) }),
    ...(o.workDir === undefined ? {} : { workDir: o.workDir }),
  };
}

/** The audit trail the flags name (`--feed` or `--db`), or undefined without either. */
export async function openTrail(o: Pick<ScanCliOptions, 'feed' | 'token' | 'ca' | 'db' | 'name'>): Promise<ChainSource | undefined> {
  if (o.feed === undefined && o.db === undefined) return undefined;
  const { openHttpSource, openSqliteSource } = await import('../audit/index.ts');
  if (o.db !== undefined) return openSqliteSource(o.db, o.name);
  const token = o.token ?? process.env.PAYGATE_FEED_TOKEN;
  return openHttpSource(o.feed ?? '', {
    ...(token === undefined || token === '' ? {} : { token }),
    ...(o.ca === undefined ? {} : { ca: readOptionFile('--ca', o.ca) }),
  });
}

/** The summary for a person: the capture, the counts, the ciphers, the trail, the anomalies, the verdict last. */
export function describeScan(details: ScanDetails): string {
  const r = details.report;
  const c = r.capture;
  const lines = [
    `capture ${c.path}: ${c.messages} messages in ${c.segments} segment${c.segments === 1 ? '' : 's'} (${c.bytes} bytes)` +
      `${c.first_time === undefined ? '' : `, ${c.first_time} .. ${c.last_time ?? ''}`}${c.sources.length === 0 ? '' : `, from ${c.sources.join(', ')}`}`,
    `messages: ${r.counts.request} requests, ${r.counts.reply} replies, ${r.counts.events} events, ${r.counts.dead_letter} dead letters, ${r.counts.other} other; ` +
      `${r.counts.encrypted} encrypted, ${r.counts.clear} readable`,
    `policy: ${r.policy.require_gcm ? 'AES-256-GCM required' : 'AES-256-CBC allowed'}, RSA keys of ${r.policy.min_rsa_bits} bits or more, ${r.policy.known_recipients} known recipient certificates`,
  ];
  for (const p of r.providers) lines.push(`  provider ${p.provider}: ${p.requests} requests, ${p.replies} replies, ${p.dead_letters} dead letters${byType(p.by_type)}`);
  lines.push(r.ciphers.length === 0 ? 'ciphers: none seen' : 'ciphers:');
  for (const u of r.ciphers) {
    lines.push(`  ${u.content_encryption} + ${u.key_management}${u.rsa_bits === undefined ? '' : ` (RSA-${u.rsa_bits})`}: ${u.messages} messages, ${u.status}`);
  }
  for (const cert of r.certificates) lines.push(`  certificate ${cert.subject} (serial ${cert.serial}): ${cert.messages_to} messages to it, expires in ${cert.days_to_expiry} days`);
  if (r.trail !== undefined) lines.push(...describeTrail(r, details));
  lines.push(`anomalies: ${r.anomalies.total}${Object.keys(r.anomalies.by_kind).length === 0 ? '' : ` (${Object.entries(r.anomalies.by_kind).map(([k, n]) => `${k} ${n}`).join(', ')})`}`);
  for (const a of r.anomalies.listed) {
    lines.push(`  ${a.seq === undefined ? 'trail' : `#${a.seq}`} ${a.time ?? ''} ${a.destination ?? a.request_id ?? ''} ${a.kind}: ${a.detail}`);
  }
  if (r.anomalies.total > r.anomalies.listed.length) lines.push(`  … ${r.anomalies.total - r.anomalies.listed.length} more not listed (their counts by kind are above)`);
  for (const l of r.limitations) lines.push(`LIMITATION (${l.source}): ${l.limitation}: ${l.detail}`);
  lines.push(`${r.verdict === 'clean' ? 'CLEAN' : 'ANOMALIES'}${caveat(r)}`);
  return `${lines.map(printable).join('\n')}\n`;
}

function describeTrail(r: ScanReport, details: ScanDetails): string[] {
  const t = r.trail;
  if (t === undefined) return [];
  const lines = [
    `trail ${t.source}: ${t.records} records${t.first_time === undefined ? '' : ` (${t.first_time} .. ${t.last_time ?? ''})`}; ` +
      `matched ${t.matched_requests} of ${r.counts.request} requests and ${t.matched_replies} of ${r.counts.reply} replies` +
      (t.replies_by_correlation > 0 ? ` (+${t.replies_by_correlation} sent again, tied by correlation id, at most ${t.replies_by_correlation_limit} per id)` : ''),
    `  window: ${t.records_expected} records expected on the wire, ${t.messages_judged} captured requests and replies judged against the trail; ` +
      `${details.duplicates ?? 0} captured duplicates${details.unreadableRecords ? `; ${details.unreadableRecords} entries not audit records` : ''}`,
  ];
  if (t.refusals.length > 0) lines.push(`  refusals: ${t.refusals.map((x) => `${x.code} ${x.count}`).join(', ')}`);
  return lines;
}

/** After the verdict word: the limitations it holds within, when there are any. */
export function caveat(r: ScanReport): string {
  const n = r.limitations.length;
  if (n === 0) return '';
  return ` (with ${n} limitation${n === 1 ? '' : 's'}: ${r.limitations.map((l) => `${l.source} ${l.limitation}`).join(', ')})`;
}

function byType(types: readonly { type: string; count: number }[]): string {
  return types.length === 0 ? '' : ` (${types.map((t) => `${t.type} ${t.count}`).join(', ')})`;
}

/** A line safe for a terminal: control characters (escape sequences) shown as `?`. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, '?');
}
