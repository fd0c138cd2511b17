/**
 * One more S/MIME identity from an existing CA: a second storefront (client role) or another
 * gateway (gateway role), as `paygate certs issue` writes it. The role goes into the
 * certificate's extendedKeyUsage; workers accept requests only from client-role signers and the
 * SDK replies only from gateway-role signers.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SignerRole } from '../wire/roles.ts';
import { CertsError } from './errors.ts';
import { refuseExisting, writeFilesAtomically } from './files.ts';
import { checkKeySpec, issueCertificate, type KeySpec, type PemPair } from './issue.ts';

/** The roles an operator issues certificates for. */
export const ISSUABLE_ROLES = ['client', 'gateway', 'feed'] as const satisfies readonly SignerRole[];

/** Options of {@link issueSignerFiles}. */
export type IssueSignerOptions = KeySpec & {
  /** The folder holding the issuing CA as `ca.crt` and `ca.key` (a dev PKI folder). */
  caDir: string;
  /** The file name: `<name>.crt` and `<name>.key`. Letters, digits, `.`, `_`, `-`; at most 64. */
  name: string;
  role: (typeof ISSUABLE_ROLES)[number];
  /** Where to write; default `caDir`. */
  outDir?: string;
  /** The subject's CN; default `name`. */
  commonName?: string;
  /** Replace existing files instead of refusing with `CERTS_EXIST`. */
  force?: boolean;
};

/** What {@link issueSignerFiles} wrote. */
export interface IssuedSigner {
  certPath: string;
  keyPath: string;
  pair: PemPair;
  /** The issuing CA's certificate (PEM). */
  caCertPem: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Names of the dev PKI's own files: issuing over them would break the folder. */
const RESERVED = new Set(['ca', 'tls']);

/**
 * Issues an S/MIME certificate with the signer role `options.role` from the CA in `caDir` and
 * writes `<name>.crt` (0644) and `<name>.key` (0600), both or neither.
 *
 * @throws CertsError `CERTS_INVALID_OPTION` for a bad name, role or key spec; `CERTS_BAD_ISSUER`
 *   (with `path`) when the CA files cannot be read or are not a CA; `CERTS_EXIST` (with `path`).
 */
export async function issueSignerFiles(options: IssueSignerOptions): Promise<IssuedSigner> {
  const { caDir, name, role, outDir, commonName, force = false, ...spec } = options;
  checkKeySpec(spec);
  if (!NAME.test(name) || RESERVED.has(name)) {
    throw new CertsError('CERTS_INVALID_OPTION', 'name must be 1–64 letters, digits, ".", "_" or "-", and not ca or tls');
  }
  if (!(ISSUABLE_ROLES as readonly string[]).includes(role)) {
    throw new CertsError('CERTS_INVALID_OPTION', `role must be one of ${ISSUABLE_ROLES.join(', ')}`);
  }
  const out = resolve(outDir ?? caDir);
  const certPath = join(out, `${name}.crt`);
  const keyPath = join(out, `${name}.key`);
  if (!force) await refuseExisting([certPath, keyPath]);
  const issuer = await readIssuer(resolve(caDir));
  const pair = await issueCertificate({ ...spec, issuer, commonName: commonName ?? name, profile: 'smime', signerRole: role });
  await writeFilesAtomically(
    [
      { path: certPath, content: pair.certPem, mode: 0o644 },
      { path: keyPath, content: pair.keyPem, mode: 0o600 },
    ],
    force,
  );
  return { certPath, keyPath, pair, caCertPem: issuer.certPem };
}

async function readIssuer(dir: string): Promise<PemPair> {
  const read = async (file: string): Promise<string> => {
    const path = join(dir, file);
    try {
      return await readFile(path, 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      throw new CertsError('CERTS_BAD_ISSUER', `cannot read ${path} (${code}): give the folder holding ca.crt and ca.key`, { cause, path });
    }
  };
  return { certPem: await read('ca.crt'), keyPem: await read('ca.key') };
}
