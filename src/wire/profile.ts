/**
 * The crypto profile: every algorithm paygate writes or accepts on the wire, in one table.
 * docs/security.md renders this table; the traffic auditor reports against it. Anything not
 * listed here is refused with UNSUPPORTED_ALGORITHM (or INSECURE_KEY_TRANSPORT for PKCS#1 v1.5).
 */

/** Object identifiers used by the CMS code, by name. */
export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
  // signed attributes
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  // digests
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  // signatures and key transport
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  prime256v1: '1.2.840.10045.3.1.7',
  // ECDH key agreement schemes (RFC 5753 / SEC 1)
  ecdhSha1Kdf: '1.3.133.16.840.63.0.2',
  ecdhCofactorSha1Kdf: '1.3.133.16.840.63.0.3',
  ecdhSha256Kdf: '1.3.132.1.11.1',
  ecdhSha384Kdf: '1.3.132.1.11.2',
  ecdhSha512Kdf: '1.3.132.1.11.3',
  ecdhCofactorSha256Kdf: '1.3.132.1.14.1',
  // content encryption and key wrap
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  aes256Gcm: '2.16.840.1.101.3.4.1.46',
  aes128Wrap: '2.16.840.1.101.3.4.1.5',
  aes192Wrap: '2.16.840.1.101.3.4.1.25',
  aes256Wrap: '2.16.840.1.101.3.4.1.45',
} as const;

/** Hash names node:crypto understands, by digest OID. SHA-1 is deliberately absent. */
export const DIGESTS: ReadonlyMap<string, 'sha256' | 'sha384' | 'sha512'> = new Map([
  [OID.sha256, 'sha256'],
  [OID.sha384, 'sha384'],
  [OID.sha512, 'sha512'],
]);

/** ECDH key-derivation hashes, by key agreement scheme OID (cofactor = standard DH on P-256). */
export const ECDH_KDF_HASHES: ReadonlyMap<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = new Map([
  [OID.ecdhSha1Kdf, 'sha1'],
  [OID.ecdhCofactorSha1Kdf, 'sha1'],
  [OID.ecdhSha256Kdf, 'sha256'],
  [OID.ecdhCofactorSha256Kdf, 'sha256'],
  [OID.ecdhSha384Kdf, 'sha384'],
  [OID.ecdhSha512Kdf, 'sha512'],
]);

/** AES key-wrap ciphers (RFC 3394), by OID, with their key length in bytes. */
export const KEY_WRAPS: ReadonlyMap<string, { cipher: string; keyBytes: number }> = new Map([
  [OID.aes128Wrap, { cipher: 'id-aes128-wrap', keyBytes: 16 }],
  [OID.aes192Wrap, { cipher: 'id-aes192-wrap', keyBytes: 24 }],
  [OID.aes256Wrap, { cipher: 'id-aes256-wrap', keyBytes: 32 }],
]);

/** Content ciphers paygate writes; both are read. */
export type ContentCipher = 'aes-256-gcm' | 'aes-256-cbc';

/** How a message's content key reached us (reported by open() and by the auditor). */
export type KeyManagement =
  | 'rsaes-oaep-sha256'
  | 'rsaes-oaep-sha384'
  | 'rsaes-oaep-sha512'
  | `ecdh-p256-${'sha1' | 'sha256' | 'sha384' | 'sha512'}kdf-aes${128 | 192 | 256}wrap`;

export type SignatureAlgorithm =
  | `rsa-pkcs1-${'sha256' | 'sha384' | 'sha512'}`
  | `rsa-pss-${'sha256' | 'sha384' | 'sha512'}`
  | `ecdsa-${'sha256' | 'sha384' | 'sha512'}`;

/** How the signed content was packaged inside the envelope. */
export type SignedForm = 'opaque-smime' | 'opaque-der' | 'multipart-signed';

/** The algorithms a message used; open() returns it, the audit trail records it. */
export interface AlgorithmsUsed {
  contentEncryption: ContentCipher;
  keyManagement: KeyManagement;
  signature: SignatureAlgorithm;
  signedForm: SignedForm;
}

/** One row of the crypto profile as docs/security.md shows it. */
export interface ProfileRow {
  purpose: 'key transport' | 'key agreement' | 'content encryption' | 'signature' | 'digest';
  algorithm: string;
  written: boolean;
  read: boolean | 'signed content only';
  note: string;
}

/** The crypto profile, rendered in docs/security.md and printed by the audit tool. */
export const CRYPTO_PROFILE: readonly ProfileRow[] = [
  { purpose: 'key transport', algorithm: 'RSAES-OAEP, SHA-256 + MGF1-SHA-256 (RSA 2048/3072)', written: true, read: true, note: 'default for RSA recipients' },
  { purpose: 'key transport', algorithm: 'RSAES-OAEP, SHA-384 / SHA-512', written: false, read: true, note: 'same hash for MGF1 required' },
  { purpose: 'key transport', algorithm: 'RSAES-PKCS1-v1_5', written: false, read: false, note: 'refused: INSECURE_KEY_TRANSPORT (Bleichenbacher/Marvin)' },
  { purpose: 'key agreement', algorithm: 'ECDH P-256, dhSinglePass-stdDH-sha256kdf, AES-256 key wrap', written: true, read: true, note: 'default for EC recipients' },
  { purpose: 'key agreement', algorithm: 'ECDH P-256, stdDH/cofactorDH sha1kdf, sha384kdf, sha512kdf; AES-128/192/256 wrap', written: false, read: true, note: 'sha1kdf is what openssl cms -encrypt writes by default' },
  { purpose: 'content encryption', algorithm: 'AES-256-GCM, AuthEnvelopedData (RFC 5083), 12-byte nonce, 16-byte tag', written: true, read: true, note: 'default' },
  { purpose: 'content encryption', algorithm: 'AES-256-CBC, EnvelopedData', written: true, read: 'signed content only', note: 'for older peers; content must be signed' },
  { purpose: 'signature', algorithm: 'RSA PKCS#1 v1.5 with SHA-256', written: true, read: true, note: 'default for RSA signers' },
  { purpose: 'signature', algorithm: 'RSASSA-PSS with SHA-256/384/512', written: false, read: true, note: '' },
  { purpose: 'signature', algorithm: 'ECDSA P-256 with SHA-256', written: true, read: true, note: 'default for EC signers' },
  { purpose: 'digest', algorithm: 'SHA-256', written: true, read: true, note: 'SHA-384/512 read; SHA-1 and MD5 refused' },
];
