/**
 * The throw-away development PKI: one CA, the gateway and client S/MIME identities, and a TLS
 * certificate for the provider sandboxes. `paygate certs init` writes it; tests generate it.
 * Nothing here is for production: there, bring your own CA (certs/README.md).
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CertsError } from './errors.ts';
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
export type { CertsErrorCode } from './errors.ts';

/** The four identities of the dev PKI. */
export type DevRole = 'ca' | 'gateway' | 'client' | 'tls';

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
}

/** Every file of a dev PKI folder, in the order they are listed to the user. */
export const DEV_PKI_FILES: readonly DevPkiFile[] = [
  file('ca.crt', 'ca', 'cert', 'dev CA certificate: the trust anchor workers and clients are configured with'),
  file('ca.key', 'ca', 'key', 'dev CA private key: only for issuing more certificates; no service needs it'),
  file('gateway.crt', 'gateway', 'cert', 'gateway certificate: clients encrypt requests to it and check replies with it'),
  file('gateway.key', 'gateway', 'key', 'gateway private key: on the workers only (decrypt requests, sign replies)'),
  file('client.crt', 'client', 'cert', 'client certificate: workers verify requests with it and encrypt replies to it'),
  file('client.key', 'client', 'key', 'client private key: on the storefront only (sign requests, decrypt replies)'),
  file('tls.crt', 'tls', 'cert', 'TLS server certificate of the provider sandboxes (localhost, 127.0.0.1, ::1)'),
  file('tls.key', 'tls', 'key', 'TLS server private key of the provider sandboxes'),
];

/**
 * Generates a fresh dev PKI in memory: CA `paygate dev CA`, S/MIME leaves `paygate dev gateway`
 * and `paygate dev client`, TLS leaf `localhost`. All keys use `spec`; leaves are generated in
 * parallel (WebCrypto key generation runs off the main thread, which matters for RSA-3072).
 */
export async function generateDevPki(spec: KeySpec): Promise<DevPki> {
  const ca = await createCa({ ...spec, commonName: 'paygate dev CA' });
  const [gateway, client, tls] = await Promise.all([
    issueCertificate({ ...spec, issuer: ca, commonName: 'paygate dev gateway', profile: 'smime', signerRole: 'gateway' }),
    issueCertificate({ ...spec, issuer: ca, commonName: 'paygate dev client', profile: 'smime', signerRole: 'client' }),
    issueCertificate({ ...spec, issuer: ca, commonName: 'localhost', profile: 'tls' }),
  ]);
  return { ca, gateway, client, tls };
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
 * Generates a dev PKI and writes the eight files of {@link DEV_PKI_FILES} into `dir` (created if
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
  await mkdir(root, { recursive: true });
  const targets = DEV_PKI_FILES.map((f) => join(root, f.name));
  if (!force) {
    // Fail before the slow key generation when we can already tell.
    for (const target of targets) {
      if (await exists(target)) throw existsError(target);
    }
  }
  const pki = await generateDevPki(spec);
  const suffix = `.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const temps = DEV_PKI_FILES.map((f) => join(root, `.${f.name}${suffix}`));
  try {
    for (const [i, f] of DEV_PKI_FILES.entries()) {
      await writeFileDurably(temps[i]!, f.kind === 'cert' ? pki[f.role].certPem : pki[f.role].keyPem, f.mode);
    }
    if (force) {
      for (const [i, target] of targets.entries()) await rename(temps[i]!, target);
    } else {
      await linkAll(temps, targets);
    }
  } finally {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
  }
  await syncDir(root);
  return { dir: root, files: targets, pki };
}

/** Links each temp to its target; on the first existing target, removes what it linked so far. */
async function linkAll(temps: string[], targets: string[]): Promise<void> {
  const done: string[] = [];
  try {
    for (const [i, target] of targets.entries()) {
      await link(temps[i]!, target);
      done.push(target);
    }
  } catch (error) {
    await Promise.all(done.map((t) => unlink(t).catch(() => undefined)));
    const target = targets[done.length]!;
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(target);
    throw error;
  }
}

/** Writes with an exact mode (chmod, because `open`'s mode is filtered by the umask) and fsyncs. */
async function writeFileDurably(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames durable; best effort, since not every platform can fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows and some file systems refuse; the files themselves are already synced.
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function existsError(path: string): CertsError {
  return new CertsError('CERTS_EXIST', `${path} already exists`, { path });
}

function file(name: string, role: DevRole, kind: 'cert' | 'key', purpose: string): DevPkiFile {
  return { name, role, kind, mode: kind === 'key' ? 0o600 : 0o644, purpose };
}
