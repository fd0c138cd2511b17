/**
 * `paygate certs init --dir DIR [--algo rsa|ec] [--bits 2048|3072] [--force]`:
 * writes the throw-away development PKI described in certs/README.md.
 *
 * `paygate certs issue --role client|gateway|feed --ca-dir DIR --name NAME [--out DIR] [--cn CN]
 * [--algo rsa|ec] [--bits 2048|3072] [--force]`: one more identity from that CA (a second
 * storefront, another gateway), with its signer role in the extendedKeyUsage.
 *
 * Usage errors (bad option values, existing files, a folder that cannot be read or written) are
 * one stderr line and exit code 2, so a script can tell "you called me wrong" (2) from
 * "something broke" (1).
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { CommanderError } from 'commander';
import type { KeySpec } from '../certs/devca.ts';
import { isErrnoError, unwritable } from './errors.ts';
import { guarded, readOptionFile } from './io.ts';

const USAGE_EXIT_CODE = 2;

interface KeyOptions {
  algo: 'rsa' | 'ec';
  bits?: '2048' | '3072';
  force?: boolean;
}

interface InitOptions extends KeyOptions {
  dir: string;
}

interface IssueOptions extends KeyOptions {
  role: 'client' | 'gateway';
  caDir: string;
  name: string;
  out?: string;
  cn?: string;
}

/** What each role's certificate may sign, for the printed summary. */
const ROLE_DUTY: Readonly<Record<'client' | 'gateway' | 'feed', string>> = {
  client: 'signs requests; the SDK refuses replies it signs',
  gateway: 'signs replies; workers refuse requests it signs',
  feed: 'signs audit checkpoints; nothing else accepts its signature',
};

/** The `certs` sub-command and its `init` and `issue` actions. */
export function certsCommand(): Command {
  const certs = new Command('certs')
    .description('Development certificates: a throw-away CA, gateway, client, feed and sandbox TLS identities')
    .exitOverride(toUsageExit);

  certs
    .command('init')
    .description('Generate a dev CA and the gateway, client and TLS certificates into a folder')
    .requiredOption('--dir <dir>', 'output folder, created if missing (conventionally certs/dev)')
    .addOption(new Option('--algo <algo>', 'key algorithm').choices(['rsa', 'ec']).default('rsa'))
    .addOption(new Option('--bits <bits>', 'RSA key size, --algo rsa only; default 2048').choices(['2048', '3072']))
    .option('--force', 'overwrite existing files')
    .action(guarded(async (options: InitOptions, command: Command) => {
      const spec = keySpecOf(options, command);
      // Loaded on use: the generator pulls in @peculiar/x509, which other commands never need.
      const { DEV_PKI_FILES, SIGNER_ROLE_OIDS, writeDevPki } = await import('../certs/devca.ts');
      const written = await usageErrors(command, '--dir', options.dir, () => writeDevPki(options.dir, { ...spec, force: options.force === true }));
      console.log(`Wrote a development PKI (${labelOf(spec)}) to ${written.dir}:`);
      const width = Math.max(...DEV_PKI_FILES.map((f) => f.name.length));
      for (const f of DEV_PKI_FILES) console.log(`  ${f.name.padEnd(width)}  ${f.purpose}`);
      console.log('Signer roles, in the extendedKeyUsage of each S/MIME certificate (docs/security.md):');
      for (const { name, signerRole: role } of DEV_PKI_FILES) {
        if (role !== undefined) console.log(`  ${name.padEnd(width)}  ${role.padEnd(7)}  ${SIGNER_ROLE_OIDS[role]}  ${ROLE_DUTY[role]}`);
      }
      console.log('More identities from this CA: paygate certs issue --role client|gateway|feed --ca-dir DIR --name NAME');
      console.log('Keys are mode 0600 and git-ignored. For development only: see certs/README.md.');
    }));

  certs
    .command('issue')
    .description('Issue one more client, gateway or feed certificate (with its signer role) from the CA in a dev PKI folder')
    .addOption(new Option('--role <role>', 'signer role: client (signs requests), gateway (signs replies) or feed (signs audit checkpoints)').choices(['client', 'gateway', 'feed']).makeOptionMandatory())
    .requiredOption('--ca-dir <dir>', 'folder holding the issuing ca.crt and ca.key (e.g. certs/dev)')
    .requiredOption('--name <name>', 'file name: writes <name>.crt and <name>.key')
    .option('--out <dir>', 'output folder (default: the --ca-dir folder)')
    .option('--cn <cn>', 'subject common name (default: the name)')
    .addOption(new Option('--algo <algo>', 'key algorithm').choices(['rsa', 'ec']).default('rsa'))
    .addOption(new Option('--bits <bits>', 'RSA key size, --algo rsa only; default 2048').choices(['2048', '3072']))
    .option('--force', 'overwrite existing files')
    .action(guarded(async (options: IssueOptions, command: Command) => {
      const spec = keySpecOf(options, command);
      // The CA's files are read here first, so that every write failure below is the output folder's.
      for (const file of ['ca.crt', 'ca.key']) readOptionFile('--ca-dir', join(options.caDir, file));
      const { SIGNER_ROLE_OIDS, issueSignerFiles } = await import('../certs/devca.ts');
      const [outFlag, outDir] = options.out === undefined ? ['--ca-dir', options.caDir] : ['--out', options.out];
      const issued = await usageErrors(command, outFlag, outDir, () =>
        issueSignerFiles({
          ...spec,
          caDir: options.caDir,
          name: options.name,
          role: options.role,
          ...(options.out === undefined ? {} : { outDir: options.out }),
          ...(options.cn === undefined ? {} : { commonName: options.cn }),
          force: options.force === true,
        }),
      );
      console.log(`Issued a ${options.role} certificate (${labelOf(spec)}) from ${options.caDir}:`);
      console.log(`  ${issued.certPath}  signer role ${options.role} (${SIGNER_ROLE_OIDS[options.role]}): ${ROLE_DUTY[options.role]}`);
      console.log(`  ${issued.keyPath}  its private key (mode 0600): ${{ client: 'on that storefront only', gateway: 'on the workers only', feed: 'on the feed server only' }[options.role]}`);
      if (options.role === 'gateway') console.log('Clients accept replies only from the gateway certificates they are configured with: add it there.');
    }));

  return certs;
}

/** The key spec of `--algo`/`--bits`; `--bits` with EC is a usage error. */
function keySpecOf(options: KeyOptions, command: Command): KeySpec {
  if (options.algo === 'ec' && options.bits !== undefined) {
    command.error("error: option '--bits' applies to --algo rsa only (EC keys are P-256)", { exitCode: USAGE_EXIT_CODE, code: 'paygate.invalidOption' });
  }
  return options.algo === 'rsa' ? { algo: 'rsa', bits: options.bits === '3072' ? 3072 : 2048 } : { algo: 'ec' };
}

function labelOf(spec: KeySpec): string {
  return spec.algo === 'rsa' ? `RSA ${spec.bits ?? 2048}` : 'EC P-256';
}

/**
 * Runs `work`; what the caller got wrong (an existing file, an unusable CA folder, a bad name) is
 * one stderr line and exit code 2. A failed system call is the output folder's (`option` names
 * it; the CA's files were read before): `FILE_UNWRITABLE`. Anything else is thrown on.
 */
async function usageErrors<T>(command: Command, option: string, where: string, work: () => Promise<T>): Promise<T> {
  const { CertsError } = await import('../certs/devca.ts');
  try {
    return await work();
  } catch (error) {
    if (isErrnoError(error)) throw unwritable(option, where, error);
    if (!(error instanceof CertsError)) throw error;
    const message =
      error.code === 'CERTS_EXIST' ? `${error.path ?? where} already exists; use --force to overwrite it` : error.message;
    return command.error(`error: ${message}`, { exitCode: USAGE_EXIT_CODE, code: `paygate.${error.code}` });
  }
}

/**
 * Commander exits 1 on usage errors; we exit 2 like other Unix tools. Help and version output
 * (exit code 0) keep commander's own exit.
 */
function toUsageExit(error: CommanderError): void {
  if (error.exitCode !== 0) process.exit(USAGE_EXIT_CODE);
}
