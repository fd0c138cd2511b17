/**
 * `paygate certs init --dir DIR [--algo rsa|ec] [--bits 2048|3072] [--force]` (DESIGN §4):
 * writes the throw-away development PKI described in certs/README.md.
 *
 * Usage errors (bad option values, existing files) are one stderr line and exit code 2, so a
 * script can tell "you called me wrong" (2) from "something broke" (1).
 */
import { Command, Option } from 'commander';
import type { CommanderError } from 'commander';
import type { KeySpec } from '../certs/devca.ts';

const USAGE_EXIT_CODE = 2;

interface InitOptions {
  dir: string;
  algo: 'rsa' | 'ec';
  bits?: '2048' | '3072';
  force?: boolean;
}

/** The `certs` sub-command and its `init` action. */
export function certsCommand(): Command {
  const certs = new Command('certs')
    .description('Development certificates: a throw-away CA, gateway, client and sandbox TLS identities')
    .exitOverride(toUsageExit);

  certs
    .command('init')
    .description('Generate a dev CA and the gateway, client and TLS certificates into a folder')
    .requiredOption('--dir <dir>', 'output folder, created if missing (conventionally certs/dev)')
    .addOption(new Option('--algo <algo>', 'key algorithm').choices(['rsa', 'ec']).default('rsa'))
    .addOption(new Option('--bits <bits>', 'RSA key size, --algo rsa only; default 2048').choices(['2048', '3072']))
    .option('--force', 'overwrite existing files')
    .action(async (options: InitOptions, command: Command) => {
      if (options.algo === 'ec' && options.bits !== undefined) {
        command.error("error: option '--bits' applies to --algo rsa only (EC keys are P-256)", {
          exitCode: USAGE_EXIT_CODE,
          code: 'paygate.invalidOption',
        });
      }
      const spec: KeySpec =
        options.algo === 'rsa' ? { algo: 'rsa', bits: options.bits === '3072' ? 3072 : 2048 } : { algo: 'ec' };
      // Loaded on use: the generator pulls in @peculiar/x509, which other commands never need.
      const { CertsError, DEV_PKI_FILES, writeDevPki } = await import('../certs/devca.ts');
      try {
        const written = await writeDevPki(options.dir, { ...spec, force: options.force === true });
        const label = spec.algo === 'rsa' ? `RSA ${spec.bits ?? 2048}` : 'EC P-256';
        console.log(`Wrote a development PKI (${label}) to ${written.dir}:`);
        const width = Math.max(...DEV_PKI_FILES.map((f) => f.name.length));
        for (const f of DEV_PKI_FILES) console.log(`  ${f.name.padEnd(width)}  ${f.purpose}`);
        console.log('Keys are mode 0600 and git-ignored. For development only: see certs/README.md.');
      } catch (error) {
        if (error instanceof CertsError && error.code === 'CERTS_EXIST') {
          command.error(`error: ${error.path ?? options.dir} already exists; use --force to overwrite it`, {
            exitCode: USAGE_EXIT_CODE,
            code: 'paygate.certsExist',
          });
        }
        throw error;
      }
    });

  return certs;
}

/**
 * Commander exits 1 on usage errors; we exit 2 like other Unix tools. Help and version output
 * (exit code 0) keep commander's own exit.
 */
function toUsageExit(error: CommanderError): void {
  if (error.exitCode !== 0) process.exit(USAGE_EXIT_CODE);
}
