/**
 * Certificate issuing for the development PKI: a self-signed CA and the leaves it signs.
 *
 * Built on @peculiar/x509 over Node's WebCrypto because node-forge can neither make nor parse
 * EC certificates. Every certificate is shaped so that OpenSSL 3.0 accepts it for the job it is
 * made for (`openssl verify -purpose smimesign|sslserver`, `openssl cms -verify`, `cms -encrypt`):
 * the extension choices below are that contract, see certs/README.md.
 */
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded before it. Kept inside src/certs so nothing else pays for it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import { SIGNER_ROLE_OIDS, type SignerRole } from '../wire/roles.ts';
import { CertsError } from './errors.ts';

/** Key algorithms of the dev PKI: RSA (2048 or 3072 bits, e = 65537) or EC on P-256. */
export type KeyAlgo = 'rsa' | 'ec';
/** RSA modulus sizes the crypto profile accepts. */
export type RsaBits = 2048 | 3072;
/** Which key to generate. `bits` applies to RSA only and defaults to 2048. */
export type KeySpec = { algo: 'rsa'; bits?: RsaBits } | { algo: 'ec'; bits?: undefined };

/** A certificate and its private key, both PEM (certificate `CERTIFICATE`, key PKCS#8 `PRIVATE KEY`). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** Options of {@link createCa}. */
export type CaOptions = KeySpec & {
  commonName: string;
  /** The subject's O attribute; default `paygate dev`. */
  organization?: string;
  /** Default: 5 minutes ago, so a peer whose clock lags a little still accepts the certificate. */
  notBefore?: Date;
  /** Default: 10 years from now. */
  notAfter?: Date;
};

/** What a leaf is for: S/MIME signing and key transport/agreement, or a TLS server. */
export type LeafProfile = 'smime' | 'tls';

/** Subject alternative names of a leaf. */
export interface SubjectAltNames {
  dns?: string[];
  ip?: string[];
  email?: string[];
}

/** Options of {@link issueCertificate}: a fresh key from `algo`/`bits`, or an existing `keyPem`. */
export type LeafOptions = (KeySpec | { keyPem: string; algo?: undefined; bits?: undefined }) & {
  /** The CA that signs: its certificate and PKCS#8 key. */
  issuer: PemPair;
  commonName: string;
  /** The subject's O attribute; default `paygate dev`. */
  organization?: string;
  profile: LeafProfile;
  /** Default: 5 minutes ago. */
  notBefore?: Date;
  /** Default: 2 years from now. Put it in the past to make an expired certificate for tests. */
  notAfter?: Date;
  /** Default for `tls`: DNS:localhost, IP:127.0.0.1, IP:::1; none for `smime`. */
  sans?: SubjectAltNames;
  /**
   * `smime` only: the paygate signer role written into extendedKeyUsage (docs/security.md,
   * "Signer roles"). Without it the certificate can sign, but no paygate component accepts its
   * signature unless that check is switched off.
   */
  signerRole?: SignerRole;
};

// Passed explicitly to every @peculiar/x509 call rather than set on its global provider, so
// importing this module changes nothing for anyone else.
const crypto = webcrypto;
const DAY_MS = 86_400_000;
const DEFAULT_ORG = 'paygate dev';
const TLS_SANS: SubjectAltNames = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

/**
 * Creates a self-signed CA certificate with a fresh key.
 *
 * Extensions: basicConstraints critical CA:true, pathlen:0 (it signs end entities only);
 * keyUsage critical keyCertSign, cRLSign; subjectKeyIdentifier; authorityKeyIdentifier (= SKI).
 */
export async function createCa(options: CaOptions): Promise<PemPair> {
  const { notBefore, notAfter } = validity(options, 3650);
  const keys = await generateKeys(options);
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: subjectName(options.commonName, options.organization),
      notBefore,
      notAfter,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        ski,
        new x509.AuthorityKeyIdentifierExtension(ski.keyId),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: exportPkcs8Pem(keys.privateKey) };
}

/**
 * Issues an end-entity certificate signed by `options.issuer` (SHA-256 with the issuer's key).
 *
 * Extensions: basicConstraints critical CA:false; keyUsage critical (see {@link leafKeyUsage});
 * extendedKeyUsage emailProtection+clientAuth and the signer role's OID (`smime`) or
 * serverAuth+clientAuth (`tls`);
 * subjectKeyIdentifier; authorityKeyIdentifier (the issuer's SKI); subjectAltName when any.
 *
 * @throws CertsError `CERTS_BAD_ISSUER` when the issuer is not a CA or its key does not match.
 */
export async function issueCertificate(options: LeafOptions): Promise<PemPair> {
  const { notBefore, notAfter } = validity(options, 730);
  const issuer = await loadIssuer(options.issuer);
  const leaf = options.algo === undefined ? existingKey(options.keyPem) : await freshKey(options);
  const sans = options.sans ?? (options.profile === 'tls' ? TLS_SANS : {});
  const eku: string[] =
    options.profile === 'smime'
      ? [x509.ExtendedKeyUsage.emailProtection, x509.ExtendedKeyUsage.clientAuth]
      : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  if (options.profile === 'smime' && options.signerRole !== undefined) eku.push(SIGNER_ROLE_OIDS[options.signerRole]);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(leafKeyUsage(options.profile, leaf.algo), true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(leaf.spki, false, crypto),
    new x509.AuthorityKeyIdentifierExtension(issuer.keyId, false),
  ];
  const names = generalNames(sans);
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: subjectName(options.commonName, options.organization),
      // The issuer's subject exactly as encoded in its certificate: OpenSSL chains by DER equality.
      issuer: issuer.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: leaf.spki,
      signingKey: issuer.key,
      signingAlgorithm: issuer.signingAlgorithm,
      extensions,
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: leaf.keyPem };
}

/**
 * The keyUsage bits of a leaf. RSA keys transport keys (keyEncipherment, used by RSA-OAEP
 * KeyTransRecipientInfo and RSA TLS key exchange); EC keys agree on them (keyAgreement, used by
 * ECDH KeyAgreeRecipientInfo, RFC 5753). digitalSignature is always there: S/MIME signing and
 * every (EC)DHE TLS handshake need it, and OpenSSL's smimesign purpose checks for it.
 */
export function leafKeyUsage(profile: LeafProfile, algo: KeyAlgo): x509.KeyUsageFlags {
  const flags = x509.KeyUsageFlags;
  if (algo === 'rsa') return flags.digitalSignature | flags.keyEncipherment;
  return profile === 'smime' ? flags.digitalSignature | flags.keyAgreement : flags.digitalSignature;
}

interface LeafKey {
  algo: KeyAlgo;
  spki: Buffer;
  keyPem: string;
}

async function freshKey(spec: KeySpec): Promise<LeafKey> {
  const keys = await generateKeys(spec);
  const keyObject = KeyObject.from(keys.publicKey);
  return {
    algo: spec.algo,
    spki: keyObject.export({ type: 'spki', format: 'der' }),
    keyPem: exportPkcs8Pem(keys.privateKey),
  };
}

/** Re-certifies an existing key (tests use it to make an expired twin of a valid certificate). */
function existingKey(keyPem: string): LeafKey {
  const key = parsePrivateKey(keyPem, 'CERTS_INVALID_OPTION');
  const algo = key.asymmetricKeyType;
  if (algo !== 'rsa' && algo !== 'ec') {
    throw new CertsError('CERTS_INVALID_OPTION', `unsupported key type ${String(algo)}: use rsa or ec`);
  }
  return {
    algo,
    spki: createPublicKey(key).export({ type: 'spki', format: 'der' }),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/**
 * Checks a key spec from an untyped caller (CLI, JavaScript) before any slow work.
 *
 * @throws CertsError `CERTS_INVALID_OPTION` for anything but RSA 2048/3072 or EC (no bits).
 */
export function checkKeySpec(spec: KeySpec): void {
  const { algo, bits } = spec as { algo: unknown; bits: unknown };
  if (algo === 'rsa' && bits !== undefined && bits !== 2048 && bits !== 3072) {
    throw new CertsError('CERTS_INVALID_OPTION', `RSA key size ${String(bits)}: use 2048 or 3072`);
  }
  if (algo === 'ec' && bits !== undefined) {
    throw new CertsError('CERTS_INVALID_OPTION', 'bits applies to RSA only; EC keys are P-256');
  }
  if (algo !== 'rsa' && algo !== 'ec') {
    throw new CertsError('CERTS_INVALID_OPTION', `key algorithm ${String(algo)}: use rsa or ec`);
  }
}

async function generateKeys(spec: KeySpec): Promise<webcrypto.CryptoKeyPair> {
  checkKeySpec(spec);
  if (spec.algo === 'ec') {
    return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  }
  const algorithm = {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: spec.bits ?? 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  };
  return crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

interface Issuer {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
  keyId: string;
  signingAlgorithm: IssuerAlgorithms['signingAlgorithm'];
}

async function loadIssuer(pair: PemPair): Promise<Issuer> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pair.certPem);
  } catch (cause) {
    throw new CertsError('CERTS_BAD_ISSUER', 'issuer certificate cannot be parsed', { cause });
  }
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
    throw new CertsError('CERTS_BAD_ISSUER', `issuer ${cert.subject} is not a CA (basicConstraints CA:true missing)`);
  }
  const privateKey = parsePrivateKey(pair.keyPem, 'CERTS_BAD_ISSUER');
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!spki.equals(Buffer.from(cert.publicKey.rawData))) {
    throw new CertsError('CERTS_BAD_ISSUER', `issuer key does not belong to ${cert.subject}`);
  }
  const { importAlgorithm, signingAlgorithm } = issuerAlgorithms(privateKey);
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const key = await crypto.subtle.importKey('pkcs8', pkcs8, importAlgorithm, false, ['sign']);
  // Prefer the issuer's own SKI: a CA made elsewhere may compute its key identifier differently.
  const keyId =
    cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ??
    (await x509.SubjectKeyIdentifierExtension.create(cert.publicKey, false, crypto)).keyId;
  return { cert, key, keyId, signingAlgorithm };
}

interface IssuerAlgorithms {
  importAlgorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  signingAlgorithm: webcrypto.RsaHashedImportParams | webcrypto.EcdsaParams;
}

/** RSA issuers sign sha256WithRSAEncryption; EC issuers ECDSA with the hash that fits the curve. */
function issuerAlgorithms(key: KeyObject): IssuerAlgorithms {
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importAlgorithm: algorithm, signingAlgorithm: algorithm };
  }
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const ec = { prime256v1: ['P-256', 'SHA-256'], secp384r1: ['P-384', 'SHA-384'] } as const;
  if (curve === 'prime256v1' || curve === 'secp384r1') {
    const [namedCurve, hash] = ec[curve];
    return { importAlgorithm: { name: 'ECDSA', namedCurve }, signingAlgorithm: { name: 'ECDSA', hash } };
  }
  const type = curve ?? key.asymmetricKeyType;
  const message = `issuer key type ${String(type)} is not supported: use RSA, EC P-256 or P-384`;
  throw new CertsError('CERTS_BAD_ISSUER', message);
}

function parsePrivateKey(pem: string, code: 'CERTS_BAD_ISSUER' | 'CERTS_INVALID_OPTION'): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    throw new CertsError(code, 'private key cannot be parsed (expected PEM)', { cause });
  }
}

function exportPkcs8Pem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** O before CN in DER order, which OpenSSL prints as `O = paygate dev, CN = …`. */
function subjectName(commonName: string, organization = DEFAULT_ORG): x509.JsonName {
  return [{ O: [organization] }, { CN: [commonName] }];
}

/**
 * A random, positive, 16-byte serial (RFC 5280 allows up to 20 octets). The top bit is cleared
 * so the DER INTEGER needs no leading zero, and the first byte is non-zero so it stays 16 bytes.
 */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return Buffer.from(bytes).toString('hex');
}

interface Validity {
  notBefore: Date;
  notAfter: Date;
}

function validity(options: Partial<Validity>, defaultDays: number): Validity {
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - 5 * 60_000);
  const notAfter = options.notAfter ?? new Date(now + defaultDays * DAY_MS);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()) || notAfter <= notBefore) {
    throw new CertsError('CERTS_INVALID_OPTION', 'validity: notAfter must be a valid date after notBefore');
  }
  return { notBefore, notAfter };
}

function generalNames(sans: SubjectAltNames): x509.JsonGeneralName[] {
  return [
    ...(sans.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(sans.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(sans.email ?? []).map((value) => ({ type: 'email' as const, value })),
  ];
}
