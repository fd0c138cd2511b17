/**
 * Certificates and private keys as the CMS code needs them, parsed once and cached.
 *
 * node:crypto's X509Certificate does the parsing and signature checks (native, and it handles
 * EC certificates, which node-forge cannot); forge's ASN.1 reader extracts the raw DER pieces
 * CMS refers to (issuer Name, serial INTEGER, subjectKeyIdentifier).
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { WireError } from './errors.ts';
import { embed, parseDer, Reader, Tag, type Asn1 } from './der.ts';
import { EKU, readExtensions, type CertificateExtensions } from './extensions.ts';

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** A parsed X.509 certificate with the pieces CMS needs precomputed. Immutable. */
export class Certificate {
  /** Hex SHA-256 of the DER: the cache key and the identity used in logs and audit records. */
  readonly fingerprint: string;
  readonly x509: X509Certificate;
  readonly publicKey: KeyObject;
  readonly keyType: 'rsa' | 'ec';
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER of the issuer Name and of the serialNumber INTEGER (IssuerAndSerialNumber parts). */
  readonly issuerDer: Buffer;
  readonly serialDer: Buffer;
  readonly subjectKeyId: Buffer | undefined;
  /** basicConstraints, keyUsage and extendedKeyUsage, as trust decisions need them. */
  readonly extensions: CertificateExtensions;
  private forge: Asn1 | undefined;
  private point: Buffer | undefined;

  private constructor(readonly der: Buffer, fingerprint: string) {
    this.fingerprint = fingerprint;
    try {
      this.x509 = new X509Certificate(der);
      this.publicKey = this.x509.publicKey;
    } catch (cause) {
      throw new WireError('BAD_KEY', 'not a parseable X.509 certificate (or its key cannot be decoded)', { cause });
    }
    const type = this.publicKey.asymmetricKeyType;
    if (type !== 'rsa' && type !== 'ec') {
      throw new WireError('UNSUPPORTED_ALGORITHM', `certificate key type ${String(type)} is outside the crypto profile`);
    }
    this.keyType = type;
    this.notBefore = new Date(this.x509.validFrom);
    this.notAfter = new Date(this.x509.validTo);
    const tbs = new Reader(new Reader(parseDer(der, 'certificate'), 'certificate').next(Tag.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
    tbs.optionalContext(0); // version
    this.serialDer = tbs.next(Tag.INTEGER, 'serialNumber').raw;
    tbs.next(Tag.SEQUENCE, 'signature');
    this.issuerDer = tbs.next(Tag.SEQUENCE, 'issuer').raw;
    tbs.next(Tag.SEQUENCE, 'validity');
    tbs.next(Tag.SEQUENCE, 'subject');
    tbs.next(Tag.SEQUENCE, 'subjectPublicKeyInfo');
    this.extensions = readExtensions(tbs.remaining);
    this.subjectKeyId = this.extensions.subjectKeyId;
  }

  /** The certificate as a forge ASN.1 node, to embed in SignedData we build (parsed once). */
  get node(): Asn1 {
    this.forge ??= embed(this.der);
    return this.forge;
  }

  /** Parse (or fetch from the cache) a certificate from DER bytes. */
  static fromDer(der: Buffer): Certificate {
    // Every message carries its signer's certificate: find it by its bytes, which is cheaper
    // than hashing them. The key is the end of the encoding (the end of the issuer's
    // signature: it differs between any two certificates), the match is on every byte, so a
    // hit is byte-for-byte the same certificate; two certificates with the same key only cost
    // each other their cache entry.
    const key = der.toString('latin1', Math.max(0, der.length - CACHE_KEY_BYTES));
    const cached = cache.get(key);
    if (cached?.der.equals(der)) return cached;
    const cert = new Certificate(Buffer.from(der), createHash('sha256').update(der).digest('hex'));
    if (!cached && cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, cert);
    return cert;
  }

  /** Parse the first certificate of a PEM text (or DER bytes). */
  static from(input: string | Buffer | Certificate): Certificate {
    if (input instanceof Certificate) return input;
    const all = Certificate.allFromPem(input);
    if (all.length === 0) throw new WireError('BAD_KEY', 'no certificate found in the given PEM');
    return all[0] as Certificate;
  }

  /** Every certificate in a PEM bundle; DER input gives one. */
  static allFromPem(input: string | Buffer): Certificate[] {
    if (Buffer.isBuffer(input) && input[0] === 0x30) return [Certificate.fromDer(input)];
    const text = input.toString();
    return [...text.matchAll(PEM_CERT)].map((m) => Certificate.fromDer(Buffer.from(m[1] ?? '', 'base64')));
  }

  /** The subject DN, for messages and logs. */
  get subject(): string {
    // An empty subject is legal (the name is then in subjectAltName) and Node gives undefined.
    return (this.x509.subject ?? '').replace(/\n/g, ', ') || '(empty subject)';
  }

  /** True when `issuerDer`/`serialDer` (from an IssuerAndSerialNumber) name this certificate. */
  matchesIssuerSerial(issuerDer: Buffer, serialDer: Buffer): boolean {
    return this.serialDer.equals(serialDer) && this.issuerDer.equals(issuerDer);
  }

  /** May this certificate issue others (basicConstraints cA, and keyCertSign when keyUsage is set)? */
  get canIssue(): boolean {
    const ku = this.extensions.keyUsage;
    return this.extensions.isCa && (!ku || ku.has('keyCertSign'));
  }

  /**
   * May this certificate sign messages? OpenSSL's `smimesign` purpose: digitalSignature or
   * nonRepudiation when keyUsage is set, emailProtection (or any) when extendedKeyUsage is set.
   * This keeps, say, a sandbox's TLS server certificate from the same CA from signing requests.
   */
  get canSignMessages(): boolean {
    const { keyUsage: ku, extKeyUsage: eku } = this.extensions;
    const usageOk = !ku || ku.has('digitalSignature') || ku.has('nonRepudiation');
    const purposeOk = !eku || eku.has(EKU.emailProtection) || eku.has(EKU.any);
    return usageOk && purposeOk;
  }

  /** The uncompressed EC point of the public key (EC certificates only). */
  get ecPoint(): Buffer {
    // Exported once: every seal to an EC recipient needs it, and export costs ~0.3 ms.
    if (this.point === undefined) {
      const spki = this.publicKey.export({ type: 'spki', format: 'der' });
      this.point = spki.subarray(spki.length - 65);
    }
    return this.point;
  }
}

const CACHE_LIMIT = 4096;
const CACHE_KEY_BYTES = 48;
/** Parsed certificates by the last CACHE_KEY_BYTES of their DER (as a latin1 string). */
const cache = new Map<string, Certificate>();

/** A certificate with its private key: who we are when signing and decrypting. */
export interface Identity {
  readonly certificate: Certificate;
  readonly privateKey: KeyObject;
  /** Intermediate CA certificates sent along with our signatures (from a PEM bundle). */
  readonly chain: readonly Certificate[];
}

/**
 * Load an identity from PEM (or DER/KeyObject), checking that the key belongs to the certificate.
 * A PEM bundle is our certificate first, then the intermediates to send with each signature.
 */
export function loadIdentity(cert: string | Buffer | Certificate, key: string | Buffer | KeyObject): Identity {
  const [certificate, ...chain] = cert instanceof Certificate ? [cert] : Certificate.allFromPem(cert);
  if (!certificate) throw new WireError('BAD_KEY', 'no certificate found in the given PEM');
  let privateKey: KeyObject;
  try {
    privateKey = key instanceof KeyObject ? key : createPrivateKey(key);
  } catch (cause) {
    throw new WireError('BAD_KEY', 'the private key cannot be parsed (PEM PKCS#8, PKCS#1 or SEC1 expected)', { cause });
  }
  const mine = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const theirs = certificate.publicKey.export({ type: 'spki', format: 'der' });
  if (!mine.equals(theirs)) {
    throw new WireError('BAD_KEY', `the private key does not belong to the certificate ${certificate.subject}`);
  }
  return { certificate, privateKey, chain };
}
