/**
 * `paygate audit report CAPTURE --out report.html`: the traffic scan (`paygate audit scan`, same
 * flags) and, given an audit trail and `--trust`, the audit chain's verification (`paygate audit
 * verify`), as one self-contained HTML page for an auditor (src/audit/traffic/report-html.ts),
 * and optionally the same findings as JSON (`--json FILE`, `-` for stdout): exactly the
 * ScanReport the page shows, its `trail.chain` filled by the verification.
 *
 * Exit codes, as the other audit commands: 0 clean (no anomaly, and the chain intact or not
 * checked), 2 anomalies or a broken chain, 1 when no report could be made (bad flags, a capture
 * or a trail that cannot be read, an output that cannot be written), with one line on stderr and
 * no report file left behind.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { PaygateError } from '../errors.ts';
import type { ScanReport, TrailSide } from '../audit/traffic/index.ts';
import { caveat, checkScanOptions, openTrail, scanOptionsOf, withScanOptions, type ScanCliOptions } from './audit-scan.ts';
import { unwritable } from './errors.ts';
import { readOptionFile, repeatable } from './io.ts';

/** Exit code of a report with anomalies or a broken chain. */
export const FAILED_REPORT_EXIT_CODE = 2;
/** Exit code when no report could be made. */
export const NO_REPORT_EXIT_CODE = 1;

interface ReportCliOptions extends Omit<ScanCliOptions, 'json'> {
  trust?: string[];
  roleOid?: string[];
  out: string;
  json?: string;
}

/** The `audit report` sub-command. */
export function reportCommand(): Command {
  return withScanOptions(new Command('report')
    .description('Scan a traffic capture (as audit scan) and verify the audit chain (as audit verify), and write the findings as one self-contained HTML page: exit 0 clean, 2 anomalies or a broken chain, 1 could not report')
    .argument('<capture>', 'a capture folder (segment-NNNNNN.jsonl files) or one segment file'))
    .requiredOption('--out <file>', 'the HTML report to write (replaced only once complete)')
    .option('--json <file>', 'also write the findings as JSON (the ScanReport the page shows); - for stdout')
    .option('--trust <file>', 'certificate (PEM) checkpoint signers must chain to: with it the audit chain is verified; repeatable', repeatable)
    .option('--role-oid <oid>', 'extendedKeyUsage OID that makes a certificate a feed signer (default: paygate\'s feed role); repeatable', repeatable)
    .action(async (capture: string, o: ReportCliOptions, command: Command) => {
      const fail = (message: string): never => command.error(`error: ${message}`, { exitCode: NO_REPORT_EXIT_CODE });
      checkScanOptions(o, fail);
      if (o.trust !== undefined && o.feed === undefined && o.db === undefined) fail('--trust verifies the audit trail: give it with --feed <url> or --db <file>');
      if (o.json !== undefined && o.json !== '-' && o.json === o.out) fail('--json and --out name the same file');
      try {
        const report = await buildReport(capture, o);
        const { renderReportHtml } = await import('../audit/traffic/report-html.ts');
        const json = `${JSON.stringify(report, null, 2)}\n`;
        writeAll([['--out', o.out, renderReportHtml(report)], ...(o.json === undefined || o.json === '-' ? [] : [['--json', o.json, json] as const])]);
        if (o.json === '-') process.stdout.write(json);
        const ok = report.verdict === 'clean' && report.trail?.chain?.intact !== false;
        (o.json === '-' ? process.stderr : process.stdout).write(`${summary(report, o.out)}\n`);
        process.exitCode = ok ? 0 : FAILED_REPORT_EXIT_CODE;
      } catch (error) {
        if (!(error instanceof PaygateError)) throw error;
        process.stderr.write(`paygate: ${error.code}: ${printable(error.message)}\n`);
        process.exitCode = NO_REPORT_EXIT_CODE;
      }
    });
}

/** The scan, then the chain's verification on a second reading of the trail (the scan's has been consumed). */
async function buildReport(capture: string, o: ReportCliOptions): Promise<ScanReport> {
  const { maskScanReport, scanTraffic } = await import('../audit/traffic/index.ts'); // loaded on use: fast --help
  const trust = o.trust?.map((path) => readOptionFile('--trust', path));
  const trail = await openTrail(o);
  let report: ScanReport;
  try {
    const { json: _json, ...scanFlags } = o;
    report = await scanTraffic({ capture, ...scanOptionsOf(scanFlags), ...(trail === undefined ? {} : { trail }) });
  } finally {
    trail?.close();
  }
  if (trust === undefined || report.trail === undefined) return report;
  // The chain's error text comes from the trail: masked as the scan masks its own.
  return maskScanReport({ ...report, trail: { ...report.trail, chain: await verifyChain(o, trust) } });
}

async function verifyChain(o: ReportCliOptions, trust: Buffer[]): Promise<NonNullable<TrailSide['chain']>> {
  const { verifyFeed } = await import('../audit/index.ts');
  const source = await openTrail(o);
  if (source === undefined) throw new Error('verifyChain without a trail'); // excluded by the flag checks
  try {
    const r = await verifyFeed(source, { trust, ...(o.roleOid === undefined ? {} : { feedRoleOids: o.roleOid }) });
    return {
      intact: r.broken === undefined,
      entries: r.count,
      checkpoints: r.checkpoints,
      ...(r.broken === undefined ? {} : { broken: { seq: r.broken.seq, id: r.broken.id, problem: r.broken.problem, detail: r.broken.detail } }),
    };
  } finally {
    source.close();
  }
}

/**
 * Writes each file through a temporary one, renamed over it only once all are written, so that a
 * failed run never leaves a half-written report that could be mistaken for a finished one.
 */
function writeAll(files: readonly (readonly [option: string, path: string, data: string])[]): void {
  const written: string[] = [];
  const temporary = (path: string): string => `${path}.${process.pid}.tmp`;
  let current: readonly [string, string, string] | undefined;
  try {
    for (const file of files) {
      current = file;
      writeFileSync(temporary(file[1]), file[2]);
      written.push(temporary(file[1]));
    }
    for (const file of files) {
      current = file;
      renameSync(temporary(file[1]), file[1]);
    }
  } catch (error) {
    for (const path of written) {
      try {
        rmSync(path, { force: true });
      } catch {
        // Best effort: the error that matters is the one reported below.
      }
    }
    throw unwritable(current?.[0] ?? '--out', current?.[1] ?? '', error);
  }
}

/** One line for the terminal: where the report is and what it says. */
function summary(r: ScanReport, out: string): string {
  const chain = r.trail?.chain;
  const chainText = chain === undefined ? 'not checked' : chain.intact ? `intact (${chain.entries} entries)` : `BROKEN at seq ${chain.broken?.seq ?? '?'}`;
  const verdict = r.verdict === 'clean' && chain?.intact !== false ? 'CLEAN' : 'NOT CLEAN';
  return printable(`${verdict}: ${r.capture.messages} messages, ${r.anomalies.total} anomalies, audit chain ${chainText}${caveat(r)}; report written to ${out}`);
}

/** A line safe for a terminal: control characters (escape sequences) shown as `?`. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, '?');
}
