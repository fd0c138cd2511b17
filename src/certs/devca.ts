/**
 * The throw-away development PKI: one CA, the gateway and client S/MIME identities, and a TLS
 * certificate for the provider sandboxes. `paygate certs init` writes it; tests generate it.
 * Nothing here is for production: there, bring your own CA (certs/README.md).
 */
import { join, resolve } from 'node:path';
import { refuseExisting, writeFilesAtomically } from './files.ts';
import { checkKeySpec, createCa, issueCertificate } from './issue.ts';
import type { KeySpec, PemPair } from './issue.ts';

export { checkKeySpec, createCa, issueCertificate, leafKeyUsage } from './issue.ts';
export type {
  CaOptions,
  KeyAlgo,
  KeySpec,
  LeafOptions,
  LeafProfile,
  PemPair,
  RsaBits,
  SubjectAltNames,
} from './issue.ts';
export { CertsError, CERTS_ERROR_CODES } from './errors.ts';
export { issueSignerFiles, ISSUABLE_ROLES, type IssueSignerOptions, type IssuedSigner } from './signer.ts';
export { SIGNER_ROLE_OIDS, type SignerRole } from '../wire/roles.ts';
export type { CertsErrorCode } from './errors.ts';

/** The five identities of the dev PKI. */
export type DevRole = 'ca' | 'gateway' | 'client' | 'feed' | 'tls';

/** The dev PKI in memory, each identity as PEM. */
export type DevPki = Record<DevRole, PemPair>;

/** One file `writeDevPki` writes. */
export interface DevPkiFile {
  name: string;
  role: DevRole;
  kind: 'cert' | 'key';
  /** Keys are private to their owner; certificates are public. */
  mode: 0o600 | 0o644;
  /** One line on what the file is for (printed by `paygate certs init`). */
  purpose: string;
  /** The signer role a certificate carries in its extendedKeyUsage, if any. */
  signerRole?: 'client' | 'gateway' | 'feed';
}

/** Every file of a dev PKI folder, in the order they are listed to the user. */
export const DEV_PKI_FILES: readonly DevPkiFile[] = [
  file('ca.crt', 'ca', 'cert', 'dev CA certificate: the trust anchor workers and clients are configured with'),
  file('ca.key', 'ca', 'key', 'dev CA private key: only for issuing more certificates; no service needs it'),
  file('gateway.crt', 'gateway', 'cert', 'gateway certificate: clients encrypt requests to it and check replies with it', 'gateway'),
  file('gateway.key', 'gateway', 'key', 'gateway private key: on the workers only (decrypt requests, sign replies)'),
  file('client.crt', 'client', 'cert', 'client certificate: workers verify requests with it and encrypt replies to it', 'client'),
  file('client.key', 'client', 'key', 'client private key: on the storefront only (sign requests, decrypt replies)'),
  file('feed.crt', 'feed', 'cert', 'feed certificate: the feed server signs audit checkpoints with it; workers encrypt audit events to it', 'feed'),
  file('feed.key', 'feed', 'key', 'feed private key: on the feed server only (sign checkpoints, decrypt audit events)'),
  file('tls.crt', 'tls', 'cert', 'TLS server certificate of the provider sandboxes (localhost, 127.0.0.1, ::1)'),
  file('tls.key', 'tls', 'key', 'TLS server private key of the provider sandboxes'),
];

/**
 * Generates a fresh dev PKI in memory: CA `paygate dev CA`, S/MIME leaves `paygate dev gateway`
 * `paygate dev client` and `paygate dev feed`, TLS leaf `localhost`. All keys use `spec`; leaves are generated in
 * parallel (WebCrypto key generation runs off the main thread, which matters for RSA-3072).
 */
export async function generateDevPki(spec: KeySpec): Promise<DevPki> {
  const ca = await createCa({ ...spec, commonName: 'paygate dev CA' });
  const [gateway, client, feed, tls] = await Promise.all([
    issueCertificate({ ...spec, issuer: ca, commonName: 'paygate dev gateway', profile: 'smime', signerRole: 'gateway' }),
    issueCertificate({ ...spec, issuer: ca, commonName: 'paygate dev client', profile: 'smime', signerRole: 'client' }),
    issueCertificate({ ...spec, issuer: ca, commonName: 'paygate dev feed', profile: 'smime', signerRole: 'feed' }),
    issueCertificate({ ...spec, issuer: ca, commonName: 'localhost', profile: 'tls' }),
  ]);
  return { ca, gateway, client, feed, tls };
}

/** Options of {@link writeDevPki}. */
export type WriteDevPkiOptions = KeySpec & {
  /** Replace existing files instead of refusing with `CERTS_EXIST`. */
  force?: boolean;
};

/** What {@link writeDevPki} wrote. */
export interface WrittenDevPki {
  /** The absolute folder. */
  dir: string;
  /** Absolute paths, in {@link DEV_PKI_FILES} order. */
  files: string[];
  pki: DevPki;
}

/**
 * Generates a dev PKI and writes the ten files of {@link DEV_PKI_FILES} into `dir` (created if
 * missing): keys mode 0600, certificates 0644.
 *
 * All content is generated and written to temporary files in `dir` first and only then moved
 * into place, so a failure or crash during the slow part leaves no partial set behind. Without
 * `force`, files are moved in with `link()`, which fails if the name exists, so a file that
 * appears meanwhile is not overwritten either (the links already made are then undone).
 *
 * @throws CertsError `CERTS_EXIST` (with `path`) when a target exists and `force` is not set.
 */
export async function writeDevPki(dir: string, options: WriteDevPkiOptions): Promise<WrittenDevPki> {
  const root = resolve(dir);
  const { force = false, ...spec } = options;
  checkKeySpec(spec);
  const targets = DEV_PKI_FILES.map((f) => join(root, f.name));
  if (!force) await refuseExisting(targets);
  const pki = await generateDevPki(spec);
  const files = DEV_PKI_FILES.map((f, i) => ({
    path: targets[i]!,
    content: f.kind === 'cert' ? pki[f.role].certPem : pki[f.role].keyPem,
    mode: f.mode,
  }));
  await writeFilesAtomically(files, force);
  return { dir: root, files: targets, pki };
}

function file(name: string, role: DevRole, kind: 'cert' | 'key', purpose: string, signerRole?: 'client' | 'gateway' | 'feed'): DevPkiFile {
  return { name, role, kind, mode: kind === 'key' ? 0o600 : 0o644, purpose, ...(signerRole === undefined ? {} : { signerRole }) };
}
