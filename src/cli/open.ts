/**
 * `paygate open`: S/MIME in, YAML out — decrypt with our key, verify the signature, check the
 * signer chains to `--trust`, and refuse anything outside the crypto profile. The YAML goes to
 * stdout (or --out); who signed it and how goes to stderr, so pipes stay clean.
 */
import { Command } from 'commander';
import { guarded, readInput, readOptionFile, repeatable, writeOutput } from './io.ts';

interface OpenCliOptions {
  cert: string;
  key: string;
  trust: string[];
  in?: string;
  out?: string;
  signerOut?: string;
  quiet?: boolean;
}

/** The `open` sub-command. */
export function openCommand(): Command {
  return new Command('open')
    .description('Decrypt and verify an S/MIME message; writes the YAML (exit 2 and one line on refusal)')
    .requiredOption('--cert <cert>', 'our certificate (PEM): we must be a recipient')
    .requiredOption('--key <key>', 'our private key (PEM)')
    .requiredOption('--trust <ca>', 'CA (or pinned signer) certificate the signer must chain to; repeatable', repeatable)
    .option('--in <file>', 'S/MIME input (default: stdin)')
    .option('--out <file>', 'YAML output (default: stdout)')
    .option('--signer-out <file>', 'also write the verified signer certificate (PEM) here')
    .option('--quiet', 'do not report the signer and algorithms on stderr')
    .action(
      guarded(async (o: OpenCliOptions) => {
        const { decodeYaml, loadIdentity, open, TrustStore } = await import('../wire/index.ts'); // loaded on use: fast --help
        const identity = loadIdentity(readOptionFile('--cert', o.cert), readOptionFile('--key', o.key));
        const trust = new TrustStore(o.trust.map((path) => readOptionFile('--trust', path)));
        const opened = open(await readInput('--in', o.in), { identity, trust });
        decodeYaml(opened.yaml); // the same YAML rules every worker applies (limits, no aliases)
        writeOutput('--out', o.out, opened.yaml);
        if (o.signerOut) writeOutput('--signer-out', o.signerOut, opened.signer.x509.toString());
        if (!o.quiet) {
          const a = opened.algorithms;
          process.stderr.write(
            `verified: signer ${opened.signer.subject} (sha256 ${opened.signer.fingerprint.slice(0, 16)}…); ` +
              `${a.contentEncryption}, ${a.keyManagement}, ${a.signature}, ${a.signedForm}\n`,
          );
        }
      }),
    );
}
