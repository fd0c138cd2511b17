/**
 * Test PKI for every suite that needs certificates: the real dev PKI (`writeDevPki`) in a fresh
 * temporary folder, plus the two classic bad signers, an expired client and a client of a
 * foreign CA.
 *
 * Everything is memoised per module instance, i.e. per test file (vitest isolates files), so a
 * suite asking for RSA-3072 in every test pays for the key generation once. Treat the returned
 * objects as read-only: they are shared by all tests of the file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createCa, issueCertificate, writeDevPki } from '../../src/certs/devca.ts';
import type { DevRole, KeySpec } from '../../src/certs/devca.ts';

/** One identity: paths of its files and their PEM text. */
export interface PkiIdentity {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

/** A dev PKI written to disk, as `paygate certs init` would. */
export type TestPki = Record<DevRole, PkiIdentity> & {
  /** The temporary folder holding the ten files. */
  dir: string;
  spec: KeySpec;
};

/** Another CA with a client of its own (same subject as ours): must never be trusted by ours. */
export interface ForeignPki {
  dir: string;
  ca: PkiIdentity;
  client: PkiIdentity;
}

const DAY_MS = 86_400_000;
const pkis = new Map<string, Promise<TestPki>>();
const foreign = new Map<string, Promise<ForeignPki>>();
const expired = new WeakMap<TestPki, Promise<PkiIdentity>>();
const dirs: string[] = [];

// Registered on the importing test file's root suite (this module is imported while vitest
// collects that file). A process 'exit' handler would not do: vitest ends its workers by signal.
// The caches are cleared too, so a run without isolation never hands out a deleted folder.
afterAll(() => {
  pkis.clear();
  foreign.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The dev PKI for `spec` (default RSA-2048), generated once per test file. */
export function makeTestPki(spec: KeySpec = { algo: 'rsa' }): Promise<TestPki> {
  return memo(pkis, specKey(spec), async () => {
    const dir = makeTempDir('pki');
    const { pki } = await writeDevPki(dir, spec);
    const identity = (role: DevRole): PkiIdentity => ({
      certPath: join(dir, `${role}.crt`),
      keyPath: join(dir, `${role}.key`),
      ...pki[role],
    });
    return {
      dir,
      spec,
      ca: identity('ca'),
      gateway: identity('gateway'),
      client: identity('client'),
      feed: identity('feed'),
      tls: identity('tls'),
    };
  });
}

/**
 * A client certificate from `pki`'s CA for the client's own key, valid from 30 days ago to
 * yesterday: chains correctly but is outside its validity period. Written as
 * `expired-client.crt` beside the PKI (the key path is the client's).
 */
export function issueExpiredClient(pki: TestPki): Promise<PkiIdentity> {
  let result = expired.get(pki);
  if (!result) {
    result = (async () => {
      const now = Date.now();
      const { certPem, keyPem } = await issueCertificate({
        keyPem: pki.client.keyPem,
        issuer: pki.ca,
        commonName: 'paygate dev client',
        profile: 'smime',
        signerRole: 'client',
        notBefore: new Date(now - 30 * DAY_MS),
        notAfter: new Date(now - DAY_MS),
      });
      const certPath = join(pki.dir, 'expired-client.crt');
      writeFileSync(certPath, certPem);
      return { certPath, keyPath: pki.client.keyPath, certPem, keyPem };
    })();
    expired.set(pki, result);
  }
  return result;
}

/** A foreign CA (`paygate foreign CA`) and a client `paygate dev client` it issued. */
export function makeForeignPki(spec: KeySpec = { algo: 'ec' }): Promise<ForeignPki> {
  return memo(foreign, specKey(spec), async () => {
    const dir = makeTempDir('foreign');
    const ca = await createCa({ ...spec, commonName: 'paygate foreign CA' });
    const client = await issueCertificate({ ...spec, issuer: ca, commonName: 'paygate dev client', profile: 'smime', signerRole: 'client' });
    const save = (name: string, pair: { certPem: string; keyPem: string }): PkiIdentity => {
      const certPath = join(dir, `${name}.crt`);
      const keyPath = join(dir, `${name}.key`);
      writeFileSync(certPath, pair.certPem, { mode: 0o644 });
      writeFileSync(keyPath, pair.keyPem, { mode: 0o600 });
      return { certPath, keyPath, ...pair };
    };
    return { dir, ca: save('ca', ca), client: save('client', client) };
  });
}

/** Runs the real `openssl` with `args` (and `input` on stdin); returns stdout, throws on failure. */
export function openssl(args: string[], input?: string | Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Runs `openssl` expecting it to fail; returns what it printed (stdout and stderr), so a test
 * can check *why* it failed. Throws if it succeeded.
 */
export function opensslFails(args: string[], input?: string | Buffer): string {
  try {
    openssl(args, input);
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    return `${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`;
  }
  throw new Error(`openssl ${args.join(' ')} succeeded but was expected to fail`);
}

/** A label for a spec, e.g. `rsa-3072`, `ec`; also the memo key. */
export function specKey(spec: KeySpec): string {
  return spec.algo === 'rsa' ? `rsa-${spec.bits ?? 2048}` : 'ec';
}

function memo<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (!value) {
    value = make();
    // A failed generation must not poison the file's other tests with a cached rejection.
    value.catch(() => cache.delete(key));
    cache.set(key, value);
  }
  return value;
}

/** A fresh folder under the OS temp dir, removed after the calling test file. */
export function makeTempDir(kind: string): string {
  const dir = mkdtempSync(join(tmpdir(), `paygate-test-${kind}-`));
  dirs.push(dir);
  return dir;
}
