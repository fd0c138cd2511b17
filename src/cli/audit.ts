/**
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
  json?: boolean;
}

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
      .option('--json', 'print the report as JSON')
      .action(async (o: VerifyCliOptions, command: Command) => {
        if ((o.feed === undefined) === (o.db === undefined)) command.error('error: give exactly one of --feed <url> and --db <file>', { exitCode: UNVERIFIED_EXIT_CODE });
        if (o.pageSize !== undefined && !/^[1-9][0-9]{0,5}$/.test(o.pageSize)) command.error('error: --page-size must be a positive integer', { exitCode: UNVERIFIED_EXIT_CODE });
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
    return await verifyFeed(source, { trust, ...(o.roleOid === undefined ? {} : { feedRoleOids: o.roleOid }) });
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
  const b = r.broken;
  lines.push(b === undefined ? 'INTACT' : `BROKEN at seq ${b.seq}${b.id === '' ? '' : ` (entry ${b.id})`}: ${b.problem}: ${b.detail}`);
  return `${lines.join('\n')}\n`;
}
