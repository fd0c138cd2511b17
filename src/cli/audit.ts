/**
 * `paygate audit`: the auditor's tools. `verify` (here) checks the audit trail; `capture`,
 * `scan` and `report` (audit-capture.ts, audit-scan.ts, audit-report.ts) audit the traffic.
 *
 * `paygate audit verify`: walks a chained feed, from the feed server's HTTP API or its SQLite
 * file, and checks every link of the hash chain and every signed checkpoint. Prints how much
 * verified, the range, the checkpoints, and the first broken link when there is one.
 *
 * Exit codes: 0 intact, 2 broken (the report says where), 1 when the feed could not be verified
 * at all (a usage error, a file or server that cannot be read). Unlike other sub-commands, a
 * refusal is 1 here, so that a script can tell "tampered" from "could not look".
 */
import { Command } from 'commander';
import { PaygateError } from '../errors.ts';
import type { VerifyReport } from '../audit/index.ts';
import { captureCommand } from './audit-capture.ts';
import { reportCommand } from './audit-report.ts';
import { scanCommand } from './audit-scan.ts';
import { readOptionFile, repeatable } from './io.ts';

/** The exit code of a broken feed. */
export const BROKEN_EXIT_CODE = 2;
/** The exit code when the feed could not be verified. */
export const UNVERIFIED_EXIT_CODE = 1;

interface VerifyCliOptions {
  feed?: string;
  token?: string;
  ca?: string;
  pageSize?: string;
  db?: string;
  name: string;
  trust: string[];
  roleOid?: string[];
  expectCheckpoint?: string[];
  maxUncheckpointed?: string;
  json?: boolean;
}

/** `<seq>:<hash>` of a kept checkpoint, as the report prints it. */
const KEPT_CHECKPOINT = /^([1-9][0-9]{0,14}):([0-9a-f]{64})$/;

/** The `audit` sub-command and its `verify`. */
export function auditCommand(): Command {
  const audit = new Command('audit').description('Audit tools for the feeds of paygate feed');
  audit.addCommand(
    new Command('verify')
      .description('Verify a chained feed (hash chain and signed checkpoints): exit 0 intact, 2 broken, 1 could not verify')
      .option('--feed <url>', 'the feed over HTTP, e.g. https://feeds.example.com/feeds/audit (or …/feed=audit)')
      .option('--token <token>', 'bearer token with the read right on the feed (default: the PAYGATE_FEED_TOKEN environment variable, which keeps it out of the process list and the shell history)')
      .option('--ca <file>', 'CA certificate (PEM) of the feed server\'s TLS certificate, when not a public one')
      .option('--page-size <n>', 'entries per page asked of the server (its default when absent)')
      .option('--db <file>', 'the feed store\'s SQLite file instead (opened read-only; a copy works)')
      .option('--name <feed>', 'the feed to verify in --db', 'audit')
      .requiredOption('--trust <file>', 'certificate (PEM) checkpoint signers must chain to: the feed certificate or its CA; repeatable', repeatable)
      .option('--role-oid <oid>', 'extendedKeyUsage OID that makes a certificate a feed signer (default: paygate\'s feed role); repeatable', repeatable)
      .option('--expect-checkpoint <seq:hash>', 'a checkpoint kept from an earlier run (its seq and hash, as the report prints them): broken unless it is still there, unchanged; repeatable', repeatable)
      .option('--max-uncheckpointed <n>', 'broken when more than n entries follow the last verified checkpoint (no signature vouches for them)')
      .option('--json', 'print the report as JSON')
      .action(async (o: VerifyCliOptions, command: Command) => {
        if ((o.feed === undefined) === (o.db === undefined)) command.error('error: give exactly one of --feed <url> and --db <file>', { exitCode: UNVERIFIED_EXIT_CODE });
        if (o.pageSize !== undefined && !/^[1-9][0-9]{0,5}$/.test(o.pageSize)) command.error('error: --page-size must be a positive integer', { exitCode: UNVERIFIED_EXIT_CODE });
        const badKept = o.expectCheckpoint?.find((c) => !KEPT_CHECKPOINT.test(c));
        if (badKept !== undefined) command.error(`error: --expect-checkpoint ${JSON.stringify(badKept.slice(0, 100))}: expected <seq>:<64 hex digits of the checkpoint's hash>`, { exitCode: UNVERIFIED_EXIT_CODE });
        if (o.maxUncheckpointed !== undefined && !/^[0-9]{1,15}$/.test(o.maxUncheckpointed)) command.error('error: --max-uncheckpointed must be a non-negative integer', { exitCode: UNVERIFIED_EXIT_CODE });
        try {
          const report = await verify(o);
          process.stdout.write(o.json === true ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
          process.exitCode = report.broken === undefined ? 0 : BROKEN_EXIT_CODE;
        } catch (error) {
          if (!(error instanceof PaygateError)) throw error;
          process.stderr.write(`paygate: ${error.code}: ${error.message}\n`);
          process.exitCode = UNVERIFIED_EXIT_CODE;
        }
      }),
  );
  audit.addCommand(captureCommand());
  audit.addCommand(scanCommand());
  audit.addCommand(reportCommand());
  return audit;
}

async function verify(o: VerifyCliOptions): Promise<VerifyReport> {
  const { openHttpSource, openSqliteSource, verifyFeed } = await import('../audit/index.ts'); // loaded on use: fast --help
  const trust = o.trust.map((path) => readOptionFile('--trust', path));
  const source = o.db !== undefined
    ? openSqliteSource(o.db, o.name)
    : openHttpSource(o.feed ?? '', {
      ...tokenOf(o),
      ...(o.ca === undefined ? {} : { ca: readOptionFile('--ca', o.ca) }),
      ...(o.pageSize === undefined ? {} : { pageSize: Number(o.pageSize) }),
    });
  try {
    return await verifyFeed(source, {
      trust,
      ...(o.roleOid === undefined ? {} : { feedRoleOids: o.roleOid }),
      expectCheckpoints: (o.expectCheckpoint ?? []).map((c) => {
        const [, seq, hash] = KEPT_CHECKPOINT.exec(c) as RegExpExecArray;
        return { seq: Number(seq), hash: hash as string };
      }),
      ...(o.maxUncheckpointed === undefined ? {} : { maxUncheckpointed: Number(o.maxUncheckpointed) }),
    });
  } finally {
    source.close();
  }
}

function tokenOf(o: VerifyCliOptions): { token?: string } {
  const token = o.token ?? process.env.PAYGATE_FEED_TOKEN;
  return token === undefined || token === '' ? {} : { token };
}

/** The report for a person: what verified, then the verdict on its own last line. */
export function describe(r: VerifyReport): string {
  const lines = [`feed ${r.feed}`];
  lines.push(r.first === undefined || r.last === undefined
    ? 'entries verified: 0'
    : `entries verified: ${r.count} (seq ${r.first.seq}..${r.last.seq}, ${r.first.time} .. ${r.last.time})`);
  lines.push(r.lastCheckpoint === undefined
    ? `checkpoints verified: 0 (no signature vouches for these ${r.uncheckpointed} entries)`
    : `checkpoints verified: ${r.checkpoints} (last at seq ${r.lastCheckpoint.seq}, ${r.lastCheckpoint.time}); ${r.uncheckpointed} entries after it not yet checkpointed`);
  // What to keep for the next run's --expect-checkpoint.
  if (r.lastCheckpoint !== undefined) lines.push(`last checkpoint: ${r.lastCheckpoint.seq}:${r.lastCheckpoint.hash}`);
  const b = r.broken;
  lines.push(b === undefined ? 'INTACT' : `BROKEN at seq ${b.seq}${b.id === '' ? '' : ` (entry ${b.id})`}: ${b.problem}: ${b.detail}`);
  return `${lines.join('\n')}\n`;
}
