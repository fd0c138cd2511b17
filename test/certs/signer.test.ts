/**
 * `issueSignerFiles` (`paygate certs issue`): one more client or gateway identity from a dev
 * PKI's CA, with its signer role, usable by OpenSSL's S/MIME tools and by paygate's role checks.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertsError, issueSignerFiles } from '../../src/certs/devca.ts';
import { Certificate, SIGNER_ROLE_OIDS, signerRolesOf } from '../../src/wire/index.ts';
import { makeTempDir, makeTestPki, openssl, type TestPki } from '../helpers/pki.ts';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki({ algo: 'ec' });
});

const MESSAGE = 'paygate: 1\nkind: request\n';

/** A folder whose ca.crt and ca.key are a leaf certificate and its key: not a CA. */
function leafAsCa(): string {
  const dir = makeTempDir('leaf-ca');
  writeFileSync(join(dir, 'ca.crt'), pki.client.certPem);
  writeFileSync(join(dir, 'ca.key'), pki.client.keyPem);
  return dir;
}

describe('issueSignerFiles', () => {
  it.each(['client', 'gateway'] as const)('issues a %s certificate with exactly that role, which OpenSSL accepts for S/MIME signing', async (role) => {
    const out = makeTempDir('issue');
    const issued = await issueSignerFiles({ algo: 'ec', caDir: pki.dir, outDir: out, name: `shop-${role}`, role });
    expect(readdirSync(out).sort()).toEqual([`shop-${role}.crt`, `shop-${role}.key`]);
    expect(statSync(issued.certPath).mode & 0o777).toBe(0o644);
    expect(statSync(issued.keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(issued.certPath, 'utf8')).toBe(issued.pair.certPem);
    const certificate = Certificate.from(issued.pair.certPem);
    expect(signerRolesOf(certificate)).toEqual([role]);
    expect(certificate.subject).toContain(`CN=shop-${role}`);
    const eku = openssl(['x509', '-in', issued.certPath, '-noout', '-ext', 'extendedKeyUsage']).toString();
    expect(eku).toContain(`E-mail Protection, TLS Web Client Authentication, ${SIGNER_ROLE_OIDS[role]}\n`);
    expect(openssl(['verify', '-x509_strict', '-CAfile', pki.ca.certPath, '-purpose', 'smimesign', issued.certPath]).toString()).toBe(
      `${issued.certPath}: OK\n`,
    );
    const signed = openssl(['cms', '-sign', '-md', 'sha256', '-nodetach', '-binary', '-signer', issued.certPath, '-inkey', issued.keyPath], MESSAGE);
    expect(openssl(['cms', '-verify', '-CAfile', pki.ca.certPath], signed).toString()).toBe(MESSAGE);
  });

  it('writes next to the CA by default, with the common name given', async () => {
    const dir = makeTempDir('issue-ca');
    for (const name of ['ca.crt', 'ca.key']) writeFileSync(join(dir, name), readFileSync(join(pki.dir, name)));
    const issued = await issueSignerFiles({ algo: 'rsa', caDir: dir, name: 'shop-3', role: 'client', commonName: 'Shop Three' });
    expect(issued.certPath).toBe(join(dir, 'shop-3.crt'));
    expect(Certificate.from(issued.pair.certPem).subject).toContain('CN=Shop Three');
    expect(issued.caCertPem).toBe(pki.ca.certPem);
  });

  it('refuses to overwrite (CERTS_EXIST, nothing written), and replaces with force', async () => {
    const out = makeTempDir('issue-exist');
    writeFileSync(join(out, 'shop.key'), 'mine');
    const error = await issueSignerFiles({ algo: 'ec', caDir: pki.dir, outDir: out, name: 'shop', role: 'client' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertsError);
    expect(error).toMatchObject({ code: 'CERTS_EXIST', path: join(out, 'shop.key') });
    expect(readdirSync(out)).toEqual(['shop.key']);
    await issueSignerFiles({ algo: 'ec', caDir: pki.dir, outDir: out, name: 'shop', role: 'client', force: true });
    expect(readdirSync(out).sort()).toEqual(['shop.crt', 'shop.key']);
    expect(readFileSync(join(out, 'shop.key'), 'utf8')).not.toBe('mine');
  });

  it.each([
    ['a missing CA folder', { caDir: '/nonexistent/paygate' }, 'CERTS_BAD_ISSUER'],
    ['a folder whose ca.crt is a leaf', { caDir: 'leaf' }, 'CERTS_BAD_ISSUER'],
    ['a name with a slash', { name: '../escape' }, 'CERTS_INVALID_OPTION'],
    ['the CA file name', { name: 'ca' }, 'CERTS_INVALID_OPTION'],
    ['a role that is not issued', { role: 'auditor' }, 'CERTS_INVALID_OPTION'],
    ['RSA-1024', { algo: 'rsa', bits: 1024 }, 'CERTS_INVALID_OPTION'],
  ])('refuses %s', async (_what, change, code) => {
    const out = makeTempDir('issue-bad');
    const wanted = (change as { caDir?: string }).caDir;
    const caDir = wanted === 'leaf' ? leafAsCa() : (wanted ?? pki.dir);
    const options = { algo: 'ec', outDir: out, name: 'x', role: 'client', ...change, caDir };
    const error = await issueSignerFiles(options as Parameters<typeof issueSignerFiles>[0]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertsError);
    expect(error).toMatchObject({ code });
    expect(readdirSync(out)).toEqual([]);
  });
});
