/**
 * `paygate seal`: YAML in, S/MIME out — sign with the signer's key, encrypt to each recipient.
 * The YAML is checked before sealing (a malformed document is refused, exit 2) and sealed
 * byte for byte as given.
 */
import { Command, Option } from 'commander';
import { guarded, readInput, readOptionFile, repeatable, writeOutput } from './io.ts';

interface SealCliOptions {
  recipient: string[];
  signerCert: string;
  signerKey: string;
  cipher: 'aes-256-gcm' | 'aes-256-cbc';
  in?: string;
  out?: string;
}

/** The `seal` sub-command. */
export function sealCommand(): Command {
  return new Command('seal')
    .description('Sign a YAML document and encrypt it to one or more recipients (S/MIME)')
    .requiredOption('--recipient <cert>', 'recipient certificate (PEM); repeat for several', repeatable)
    .requiredOption('--signer-cert <cert>', 'signer certificate (PEM)')
    .requiredOption('--signer-key <key>', 'signer private key (PEM)')
    .addOption(new Option('--cipher <cipher>', 'content encryption').choices(['aes-256-gcm', 'aes-256-cbc']).default('aes-256-gcm'))
    .option('--in <file>', 'YAML input (default: stdin)')
    .option('--out <file>', 'S/MIME output (default: stdout)')
    .action(
      guarded(async (o: SealCliOptions) => {
        const { Certificate, decodeYaml, loadIdentity, seal } = await import('../wire/index.ts'); // loaded on use: fast --help
        const recipients = o.recipient.map((path) => Certificate.from(readOptionFile('--recipient', path)));
        const signer = loadIdentity(readOptionFile('--signer-cert', o.signerCert), readOptionFile('--signer-key', o.signerKey));
        const yaml = await readInput('--in', o.in);
        decodeYaml(yaml); // refuse what open() would refuse, before anything is sealed
        writeOutput('--out', o.out, seal(yaml, { recipients, signer, cipher: o.cipher }));
      }),
    );
}
