/**
 * Wire interoperability with the real `openssl` binary:
 * what paygate seals, `openssl cms -decrypt | openssl cms -verify` opens byte for byte; what
 * `openssl cms`/`openssl smime` sign and encrypt, paygate opens and attributes to its signer.
 *
 * The big matrices use the library API (seal/open); the CLI (`node bin/paygate.js`, ~0.8 s to
 * start) is exercised for a few cases of each direction.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeySpec } from '../../src/certs/devca.ts';
import { open, seal } from '../../src/wire/smime.ts';
import type { OpenedMessage } from '../../src/wire/smime.ts';
import { TrustStore } from '../../src/wire/trust.ts';
import { Certificate, loadIdentity } from '../../src/wire/x509.ts';
import type { Identity } from '../../src/wire/x509.ts';
import { openssl, recipientArgs, runAsync } from '../helpers/openssl.ts';
import type { CommandResult } from '../helpers/openssl.ts';
import { makeTestPki, specKey } from '../helpers/pki.ts';
import type { TestPki } from '../helpers/pki.ts';

const BIN = fileURLToPath(new URL('../../bin/paygate.js', import.meta.url));
const paygate = (args: string[], input?: string | Buffer): Promise<CommandResult> => runAsync(process.execPath, [BIN, ...args], input);

/** A realistic request (~1 KB) with a Visa test PAN and non-ASCII text: UTF-8 must survive byte for byte. */
const YAML = `paygate: 1
kind: request
id: 6f1c2a9e-3b7d-4c1e-9a55-0d2b8e4f7a10
idempotency_key: ord-1001-auth
provider: card
type: authorize
sent_at: 2026-11-23T13:00:00.000Z
expires_at: 2026-11-23T13:00:30.000Z
payload:
  order_id: ord-1001
  amount:
    value: 1999
    currency: EUR
  card:
    number: "4111111111111111"
    cvc: "737"
    exp_month: 12
    exp_year: 2030
    holder: "Zoë Müller-Ødegård"
  customer:
    email: zoe@example.com
    ip: 203.0.113.7
    billing_address:
      line1: "Bahnhofstraße 12"
      city: Zürich
      postal_code: "8001"
      country: CH
  description: "2 × café crème, 1 × croissant — table 7"
  metadata:
    channel: web
    session: 0b7e1f0c-55aa-4a3e-8d7c-2f6a9b1c3d4e
    note: "price shown: 19,99 €"
`;

type KeyType = 'rsa' | 'ec';
const SPECS: KeySpec[] = [{ algo: 'rsa', bits: 2048 }, { algo: 'rsa', bits: 3072 }, { algo: 'ec' }];

interface Party {
  pki: TestPki;
  label: string;
  keyType: KeyType;
  client: Identity;
  gateway: Identity;
  trust: TrustStore;
}

const parties = new Map<string, Party>();
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'paygate-interop-'));
  for (const spec of SPECS) {
    const pki = await makeTestPki(spec);
    parties.set(specKey(spec), {
      pki,
      label: specKey(spec),
      keyType: spec.algo,
      client: loadIdentity(pki.client.certPem, pki.client.keyPem),
      gateway: loadIdentity(pki.gateway.certPem, pki.gateway.keyPem),
      trust: new TrustStore([pki.ca.certPem]),
    });
  }
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function party(label: string): Party {
  const p = parties.get(label);
  if (!p) throw new Error(`no test PKI ${label}`);
  return p;
}

const der = (pem: string): Buffer => Buffer.from(new X509Certificate(pem).raw);

/** What `openssl cms -decrypt` then `openssl cms -verify -CAfile ca.crt` give back. */
function opensslDecryptVerify(p: Party, sealed: string | Buffer): { signedEntity: string; content: Buffer } {
  const signedEntity = openssl(['cms', '-decrypt', '-recip', p.pki.gateway.certPath, '-inkey', p.pki.gateway.keyPath], sealed);
  const content = openssl(['cms', '-verify', '-CAfile', p.pki.ca.certPath], signedEntity);
  return { signedEntity: signedEntity.toString('latin1'), content };
}

/** `openssl cms -cmsout -print` of an S/MIME entity: the structure with algorithm names. */
const cmsPrint = (smime: string | Buffer, inform: 'SMIME' | 'DER' = 'SMIME'): string =>
  openssl(['cms', '-cmsout', '-print', '-inform', inform], smime).toString();

describe('paygate seal → openssl cms -decrypt → openssl cms -verify (item 1)', () => {
  const matrix = SPECS.flatMap((spec) => (['aes-256-gcm', 'aes-256-cbc'] as const).map((cipher) => ({ label: specKey(spec), cipher })));

  it.each(matrix)('$label, $cipher: the YAML comes back byte for byte', ({ label, cipher }) => {
    const p = party(label);
    const sealed = seal(YAML, { recipients: [p.gateway.certificate], signer: p.client, cipher });
    expect(sealed).toMatch(
      cipher === 'aes-256-gcm' ? /^Content-Type: application\/pkcs7-mime; smime-type=authEnveloped-data;/m : /^Content-Type: application\/pkcs7-mime; smime-type=enveloped-data;/m,
    );
    const { signedEntity, content } = opensslDecryptVerify(p, sealed);
    expect(signedEntity).toMatch(/^Content-Type: application\/pkcs7-mime; smime-type=signed-data;/m);
    expect(content.equals(Buffer.from(YAML, 'utf8'))).toBe(true);
  });

  it.each(matrix)('$label, $cipher: openssl sees OAEP-SHA-256 or ECDH sha256kdf, never PKCS#1 v1.5 key transport', ({ label, cipher }) => {
    const p = party(label);
    const printed = cmsPrint(seal(YAML, { recipients: [p.gateway.certificate], signer: p.client, cipher }));
    expect(printed).toContain(cipher === 'aes-256-gcm' ? 'aes-256-gcm' : 'aes-256-cbc');
    if (p.keyType === 'rsa') {
      expect(printed).toContain('rsaesOaep');
      // the RSAES-OAEP-params, which openssl prints as an asn1parse dump: hashFunc [0] sha256, maskGenFunc [1] mgf1(sha256)
      expect(printed).toMatch(/rsaesOaep[^\n]*\n\s*parameter: SEQUENCE:[\s\S]*?cont \[ 0 \][\s\S]*?OBJECT\s+:sha256[\s\S]*?cont \[ 1 \][\s\S]*?OBJECT\s+:mgf1[\s\S]*?OBJECT\s+:sha256/);
    } else {
      expect(printed).toContain('dhSinglePass-stdDH-sha256kdf-scheme');
      expect(printed).not.toContain('sha1kdf');
    }
    // PKCS#1 v1.5 key transport would show as keyEncryptionAlgorithm rsaEncryption.
    expect(printed).not.toContain('rsaEncryption');
  });

  it.each(SPECS.map(specKey))('%s: the inner SignedData is SHA-256, signed by the client, certificate included', (label) => {
    const p = party(label);
    const { signedEntity } = opensslDecryptVerify(p, seal(YAML, { recipients: [p.gateway.certificate], signer: p.client }));
    const printed = cmsPrint(signedEntity);
    expect(printed).toContain('contentType: pkcs7-signedData');
    expect(printed).toMatch(/digestAlgorithm:\s+algorithm: sha256/);
    expect(printed).toContain(p.keyType === 'rsa' ? 'algorithm: rsaEncryption' : 'algorithm: ecdsa-with-SHA256');
    expect(printed).toContain('CN=paygate dev client');
    // the certificate travels in the message: -noverify with no -certfile still finds the signer
    const signer = join(work, `${label}-signer.pem`);
    openssl(['cms', '-verify', '-noverify', '-signer', signer], signedEntity);
    expect(der(readFileSync(signer, 'latin1')).equals(der(p.pki.client.certPem))).toBe(true);
  });

  it('several recipients: each of an RSA and an EC gateway can decrypt what one seal() wrote', () => {
    const rsa = party('rsa-2048');
    const ec = party('ec');
    const sealed = seal(YAML, { recipients: [rsa.gateway.certificate, ec.gateway.certificate], signer: ec.client });
    const printed = cmsPrint(sealed);
    expect(printed).toContain('rsaesOaep');
    expect(printed).toContain('dhSinglePass-stdDH-sha256kdf-scheme');
    for (const p of [rsa, ec]) {
      const signedEntity = openssl(['cms', '-decrypt', '-recip', p.pki.gateway.certPath, '-inkey', p.pki.gateway.keyPath], sealed);
      expect(openssl(['cms', '-verify', '-CAfile', ec.pki.ca.certPath], signedEntity).toString('utf8')).toBe(YAML);
    }
  });

  it('the CLI: paygate seal (RSA-2048 --cipher aes-256-cbc, EC default GCM) → openssl opens it', async () => {
    const yamlPath = join(work, 'request.yaml');
    writeFileSync(yamlPath, YAML);
    const rsa = party('rsa-2048');
    const ec = party('ec');
    const sealArgs = (p: Party): string[] => ['seal', '--recipient', p.pki.gateway.certPath, '--signer-cert', p.pki.client.certPath, '--signer-key', p.pki.client.keyPath];
    const [rsaOut, ecOut] = await Promise.all([
      paygate([...sealArgs(rsa), '--cipher', 'aes-256-cbc', '--in', yamlPath]),
      paygate([...sealArgs(ec), '--in', yamlPath]), // stdin: see 'the CLI reads stdin as bytes' below
    ]);
    for (const [p, out, type] of [[rsa, rsaOut, 'enveloped-data'], [ec, ecOut, 'authEnveloped-data']] as const) {
      expect(out.stderr).toBe('');
      expect(out.status).toBe(0);
      expect(out.stdout.toString('latin1')).toContain(`smime-type=${type};`);
      expect(opensslDecryptVerify(p, out.stdout).content.toString('utf8')).toBe(YAML);
    }
  });
});

type SignedForm = OpenedMessage['algorithms']['signedForm'];
type InnerForm = 'opaque-smime' | 'opaque-der' | 'multipart';
const EXPECTED_FORM: Record<InnerForm, SignedForm> = { 'opaque-smime': 'opaque-smime', 'opaque-der': 'opaque-der', multipart: 'multipart-signed' };

/** The MIME entity that `openssl smime -sign` signs: a Content-Type header, a blank line, the YAML. */
const yamlEntity = (yaml: string, type = 'application/yaml'): string => `Content-Type: ${type}\n\n${yaml}`;

/** Sign the YAML with OpenSSL in one of the three signed forms the wire contract accepts. */
function opensslSign(p: Party, form: InnerForm, extra: string[] = []): Buffer {
  const signer = ['-signer', p.pki.client.certPath, '-inkey', p.pki.client.keyPath, ...extra];
  switch (form) {
    case 'opaque-smime':
      return openssl(['cms', '-sign', '-nodetach', '-binary', ...signer], YAML);
    case 'opaque-der':
      return openssl(['cms', '-sign', '-nodetach', '-binary', '-outform', 'DER', ...signer], YAML);
    case 'multipart':
      return openssl(['smime', '-sign', ...signer], yamlEntity(YAML));
  }
}

/** Encrypt with OpenSSL to `to`'s gateway: OAEP-SHA-256 for RSA, OpenSSL's ECDH defaults for EC. */
function opensslEncrypt(to: Party, signed: Buffer, cipherFlag: '-aes-256-gcm' | '-aes256', extra: string[] = []): Buffer {
  return openssl(['cms', '-encrypt', '-binary', cipherFlag, ...recipientArgs(to.pki.gateway.certPath, to.keyType), ...extra], signed);
}

function openAs(p: Party, body: Buffer | string): OpenedMessage {
  return open(body, { identity: p.gateway, trust: p.trust });
}

function expectSigner(opened: OpenedMessage, p: Party): void {
  expect(opened.signer.fingerprint).toBe(Certificate.from(p.pki.client.certPem).fingerprint);
  expect(opened.signer.subject).toContain('CN=paygate dev client');
  expect(opened.chain.at(-1)?.fingerprint).toBe(Certificate.from(p.pki.ca.certPem).fingerprint);
}

describe('openssl cms/smime -sign | openssl cms -encrypt → paygate open (item 2)', () => {
  const matrix = SPECS.flatMap((spec) =>
    (['opaque-smime', 'opaque-der', 'multipart'] as const).flatMap((form) =>
      (['-aes-256-gcm', '-aes256'] as const).map((cipherFlag) => ({ label: specKey(spec), form, cipherFlag })),
    ),
  );

  it.each(matrix)('$label, $form, $cipherFlag: the YAML and its signer', ({ label, form, cipherFlag }) => {
    const p = party(label);
    const opened = openAs(p, opensslEncrypt(p, opensslSign(p, form), cipherFlag));
    // byte for byte: the opaque forms carry the bytes signed; multipart gives back the LF form (ours is LF already)
    expect(Buffer.from(opened.yaml, 'utf8').equals(Buffer.from(YAML, 'utf8'))).toBe(true);
    expectSigner(opened, p);
    expect(opened.algorithms).toEqual({
      contentEncryption: cipherFlag === '-aes256' ? 'aes-256-cbc' : 'aes-256-gcm',
      // OpenSSL's default for EC recipients is dhSinglePass-stdDH-sha1kdf-scheme: read, never written
      keyManagement: p.keyType === 'rsa' ? 'rsaes-oaep-sha256' : 'ecdh-p256-sha1kdf-aes256wrap',
      signature: p.keyType === 'rsa' ? 'rsa-pkcs1-sha256' : 'ecdsa-sha256',
      signedForm: EXPECTED_FORM[form],
    });
  });

  it('OpenSSL writes dhSinglePass-stdDH-sha1kdf-scheme for EC by default; sha256kdf and cofactorDH on request are read too', () => {
    const p = party('ec');
    const signed = opensslSign(p, 'opaque-smime');
    const plain = opensslEncrypt(p, signed, '-aes-256-gcm');
    expect(cmsPrint(plain)).toContain('dhSinglePass-stdDH-sha1kdf-scheme');
    expect(openAs(p, plain).algorithms.keyManagement).toBe('ecdh-p256-sha1kdf-aes256wrap');

    const sha256 = opensslEncrypt(p, signed, '-aes-256-gcm', ['-keyopt', 'ecdh_kdf_md:sha256']);
    expect(cmsPrint(sha256)).toContain('dhSinglePass-stdDH-sha256kdf-scheme');
    expect(openAs(p, sha256).algorithms.keyManagement).toBe('ecdh-p256-sha256kdf-aes256wrap');

    const cofactor = opensslEncrypt(p, signed, '-aes-256-gcm', ['-keyopt', 'ecdh_cofactor_mode:1']);
    expect(cmsPrint(cofactor)).toContain('dhSinglePass-cofactorDH-sha1kdf-scheme');
    expect(openAs(p, cofactor).yaml).toBe(YAML);
  });

  it('RSA: OAEP with SHA-384 for hash and MGF1 is read', () => {
    const p = party('rsa-3072');
    const sealed = openssl(
      ['cms', '-encrypt', '-binary', '-aes-256-gcm', '-recip', p.pki.gateway.certPath, '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha384', '-keyopt', 'rsa_mgf1_md:sha384'],
      opensslSign(p, 'opaque-smime'),
    );
    expect(openAs(p, sealed).algorithms.keyManagement).toBe('rsaes-oaep-sha384');
  });

  it('RSASSA-PSS signatures (openssl cms -sign -keyopt rsa_padding_mode:pss) are verified', () => {
    const p = party('rsa-2048');
    const opened = openAs(p, opensslEncrypt(p, opensslSign(p, 'opaque-der', ['-keyopt', 'rsa_padding_mode:pss']), '-aes-256-gcm'));
    expect(opened.algorithms.signature).toBe('rsa-pss-sha256');
    expect(opened.yaml).toBe(YAML);
  });

  it('subjectKeyIdentifier instead of issuer and serial (-keyid) for signer and recipient', () => {
    for (const label of ['rsa-2048', 'ec']) {
      const p = party(label);
      const opened = openAs(p, opensslEncrypt(p, opensslSign(p, 'opaque-smime', ['-keyid']), '-aes-256-gcm', ['-keyid']));
      expect(opened.yaml).toBe(YAML);
      expectSigner(opened, p);
    }
  });

  it('multipart/signed variants: text/plain part (smime -sign -text), -binary (signature over LF bytes), CRLF entity', () => {
    const p = party('ec');
    const signer = ['-signer', p.pki.client.certPath, '-inkey', p.pki.client.keyPath];
    const variants = {
      // -text prepends "Content-Type: text/plain" and signs the CRLF form
      text: openssl(['smime', '-sign', '-text', ...signer], YAML),
      // -binary: no canonicalisation, the signature covers the LF bytes as written
      binary: openssl(['smime', '-sign', '-binary', ...signer], yamlEntity(YAML)),
      // the entity already in canonical CRLF form, as a Windows peer would hand it over
      crlf: openssl(['smime', '-sign', ...signer], yamlEntity(YAML).replace(/\n/g, '\r\n')),
      // other YAML media types of the first part
      textYaml: openssl(['smime', '-sign', ...signer], yamlEntity(YAML, 'text/yaml')),
    };
    for (const [name, signed] of Object.entries(variants)) {
      const opened = openAs(p, opensslEncrypt(p, signed, '-aes-256-gcm'));
      expect(opened.algorithms.signedForm, name).toBe('multipart-signed');
      expect(opened.yaml, name).toBe(YAML);
      expectSigner(opened, p);
    }
  });

  it('CRLF line endings: our S/MIME output converted to CRLF, and OpenSSL output written with -crlfeol', () => {
    for (const spec of SPECS) {
      const p = party(specKey(spec));
      const ours = seal(YAML, { recipients: [p.gateway.certificate], signer: p.client });
      const crlf = ours.replace(/\n/g, '\r\n');
      expect(crlf).toContain('\r\n\r\n');
      expect(openAs(p, crlf).yaml).toBe(YAML);
      expect(openAs(p, Buffer.from(crlf, 'latin1')).yaml).toBe(YAML);
      // and OpenSSL agrees the converted text is still the same message
      expect(opensslDecryptVerify(p, crlf).content.toString('utf8')).toBe(YAML);
    }
    const p = party('rsa-2048');
    const signer = ['-signer', p.pki.client.certPath, '-inkey', p.pki.client.keyPath];
    const multipart = openssl(['smime', '-sign', '-crlfeol', ...signer], yamlEntity(YAML));
    const opaque = openssl(['cms', '-sign', '-nodetach', '-binary', '-crlfeol', ...signer], YAML);
    for (const signed of [multipart, opaque]) {
      const sealed = openssl(['cms', '-encrypt', '-crlfeol', '-aes-256-gcm', ...recipientArgs(p.pki.gateway.certPath, 'rsa')], signed);
      expect(sealed.toString('latin1')).toContain('\r\n\r\n');
      expect(openAs(p, sealed).yaml).toBe(YAML);
    }
  });

  it('a message for several recipients (RSA with OAEP, then EC) opens for each', () => {
    const rsa = party('rsa-2048');
    const ec = party('ec');
    const sealed = openssl(
      ['cms', '-encrypt', '-binary', '-aes-256-gcm', ...recipientArgs(rsa.pki.gateway.certPath, 'rsa'), ...recipientArgs(ec.pki.gateway.certPath, 'ec')],
      opensslSign(ec, 'opaque-smime'),
    );
    expect(open(sealed, { identity: rsa.gateway, trust: ec.trust }).yaml).toBe(YAML);
    expect(open(sealed, { identity: ec.gateway, trust: ec.trust }).yaml).toBe(YAML);
  });

  it('the CLI: paygate open prints the YAML, reports the signer on stderr and writes it with --signer-out', async () => {
    const rsa = party('rsa-2048');
    const ec = party('ec');
    const rsaSealed = join(work, 'rsa-opaque-der.p7m');
    writeFileSync(rsaSealed, opensslEncrypt(rsa, opensslSign(rsa, 'opaque-der'), '-aes256'));
    const ecSealed = opensslEncrypt(ec, opensslSign(ec, 'multipart'), '-aes-256-gcm');
    const openArgs = (p: Party): string[] => ['open', '--cert', p.pki.gateway.certPath, '--key', p.pki.gateway.keyPath, '--trust', p.pki.ca.certPath];
    const rsaSigner = join(work, 'rsa-signer.pem');
    const ecSigner = join(work, 'ec-signer.pem');
    const [rsaOut, ecOut] = await Promise.all([
      paygate([...openArgs(rsa), '--in', rsaSealed, '--signer-out', rsaSigner]),
      paygate([...openArgs(ec), '--signer-out', ecSigner], ecSealed), // S/MIME on stdin
    ]);
    for (const [p, out, signerPath, detail] of [
      [rsa, rsaOut, rsaSigner, 'aes-256-cbc, rsaes-oaep-sha256, rsa-pkcs1-sha256, opaque-der'],
      [ec, ecOut, ecSigner, 'aes-256-gcm, ecdh-p256-sha1kdf-aes256wrap, ecdsa-sha256, multipart-signed'],
    ] as const) {
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout.equals(Buffer.from(YAML, 'utf8'))).toBe(true);
      const fingerprint = Certificate.from(p.pki.client.certPem).fingerprint;
      expect(out.stderr).toBe(`verified: signer O=paygate dev, CN=paygate dev client (sha256 ${fingerprint.slice(0, 16)}…); ${detail}\n`);
      expect(der(readFileSync(signerPath, 'latin1')).equals(der(p.pki.client.certPem))).toBe(true);
    }
  });
});

describe('the CLI reads stdin as bytes', () => {
  // src/cli/io.ts readInput() decodes stdin as UTF-8 text and re-encodes it as latin1: every
  // non-ASCII character and every binary (DER) byte above 0x7f is mangled on the way in.
  it('paygate seal: non-ASCII YAML on stdin is sealed as given (as with --in)', async () => {
    const p = party('ec');
    const out = await paygate(['seal', '--recipient', p.pki.gateway.certPath, '--signer-cert', p.pki.client.certPath, '--signer-key', p.pki.client.keyPath], YAML);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(opensslDecryptVerify(p, out.stdout).content.toString('utf8')).toBe(YAML);
  });

  it('paygate open: a DER envelope on stdin (openssl cms -encrypt -outform DER) opens as with --in', async () => {
    const p = party('ec');
    const sealedDer = openssl(['cms', '-encrypt', '-binary', '-outform', 'DER', '-aes-256-gcm', ...recipientArgs(p.pki.gateway.certPath, 'ec')], opensslSign(p, 'opaque-smime'));
    const derPath = join(work, 'sealed.der');
    writeFileSync(derPath, sealedDer);
    const args = ['open', '--quiet', '--cert', p.pki.gateway.certPath, '--key', p.pki.gateway.keyPath, '--trust', p.pki.ca.certPath];
    const [fromFile, fromStdin] = await Promise.all([paygate([...args, '--in', derPath]), paygate(args, sealedDer)]);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    expect(fromFile.stdout.toString('utf8')).toBe(YAML);
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.status).toBe(0);
    expect(fromStdin.stdout.toString('utf8')).toBe(YAML);
  });
});
