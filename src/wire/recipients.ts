/**
 * RecipientInfo (RFC 5652 §6.2): how the content-encryption key (CEK) reaches each recipient.
 * RSA recipients: KeyTransRecipientInfo with RSAES-OAEP (RFC 3560). EC recipients:
 * KeyAgreeRecipientInfo with ephemeral-static ECDH, X9.63 KDF and AES key wrap (RFC 5753).
 */
import {
  constants, createCipheriv, createDecipheriv, createECDH, createHash, createPublicKey, diffieHellman,
  privateDecrypt, publicEncrypt, type KeyObject,
} from 'node:crypto';
import { WireError } from './errors.ts';
import {
  algorithm, bitString, bytesOf, ctx, int, isContext, octets, parseDer, readAlgorithm, readOctets,
  Reader, seq, Tag, toDer, type Asn1,
} from './der.ts';
import { DIGESTS, ECDH_KDF_HASHES, KEY_WRAPS, OID, type KeyManagement } from './profile.ts';
import type { Certificate, Identity } from './x509.ts';

const WRAP_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
/** SubjectPublicKeyInfo DER prefix of an uncompressed P-256 point (the point is appended). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** Build the RecipientInfo for one recipient of `cek`. */
export function buildRecipientInfo(recipient: Certificate, cek: Buffer): Asn1 {
  return recipient.keyType === 'rsa' ? buildKeyTrans(recipient, cek) : buildKeyAgree(recipient, cek);
}

function issuerAndSerial(cert: Certificate): Asn1 {
  return seq([parseDer(cert.issuerDer, 'issuer'), parseDer(cert.serialDer, 'serial')]);
}

function buildKeyTrans(recipient: Certificate, cek: Buffer): Asn1 {
  const encryptedKey = publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  const oaepParams = seq([ctx(0, [algorithm(OID.sha256)]), ctx(1, [algorithm(OID.mgf1, algorithm(OID.sha256))])]);
  return seq([int(0), issuerAndSerial(recipient), algorithm(OID.rsaesOaep, oaepParams), octets(encryptedKey)]);
}

function buildKeyAgree(recipient: Certificate, cek: Buffer): Asn1 {
  const ephemeral = createECDH('prime256v1');
  const ephemeralPoint = ephemeral.generateKeys();
  const shared = ephemeral.computeSecret(recipient.ecPoint);
  const wrapAlg = algorithm(OID.aes256Wrap);
  const kek = x963Kdf('sha256', shared, 32, sharedInfo(wrapAlg, 32, undefined));
  const encryptedKey = wrap('id-aes256-wrap', kek, cek);
  return ctx(1, [
    int(3),
    ctx(0, [ctx(1, [algorithm(OID.ecPublicKey), bitString(ephemeralPoint)])]),
    algorithm(OID.ecdhSha256Kdf, wrapAlg),
    seq([seq([issuerAndSerial(recipient), octets(encryptedKey)])]),
  ]);
}

/** ECC-CMS-SharedInfo (RFC 5753 §7.2), the KDF's "other info". */
function sharedInfo(wrapAlg: Asn1, keyBytes: number, ukm: Buffer | undefined): Buffer {
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(keyBytes * 8);
  return toDer(seq([wrapAlg, ...(ukm ? [ctx(0, [octets(ukm)])] : []), ctx(2, [octets(bits)])]));
}

/** ANSI X9.63 KDF: Hash(Z || counter || SharedInfo) blocks. */
function x963Kdf(hash: string, z: Buffer, length: number, info: Buffer): Buffer {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let i = 1, have = 0; have < length; i++) {
    counter.writeUInt32BE(i);
    const block = createHash(hash).update(z).update(counter).update(info).digest();
    blocks.push(block);
    have += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function wrap(cipher: string, kek: Buffer, key: Buffer): Buffer {
  const c = createCipheriv(cipher, kek, WRAP_IV);
  return Buffer.concat([c.update(key), c.final()]);
}

function unwrap(cipher: string, kek: Buffer, wrapped: Buffer): Buffer {
  try {
    const d = createDecipheriv(cipher, kek, WRAP_IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch (cause) {
    throw new WireError('DECRYPT_FAILED', 'the wrapped content key does not unwrap (tampered or wrong key)', { cause });
  }
}

/** The CEK recovered from the RecipientInfo addressed to `me`, and how it was transported. */
export interface RecoveredKey {
  cek: Buffer;
  keyManagement: KeyManagement;
}

/** Find our RecipientInfo among `recipientInfos` and recover the CEK. */
export function recoverContentKey(recipientInfos: Asn1[], me: Identity): RecoveredKey {
  for (const ri of recipientInfos) {
    if (ri.tagClass === 0 && ri.type === Tag.SEQUENCE) {
      const found = tryKeyTrans(ri, me);
      if (found) return found;
    } else if (isContext(ri, 1)) {
      const found = tryKeyAgree(ri, me);
      if (found) return found;
    } // kekri, pwri, ori: never addressed to a certificate holder
  }
  throw new WireError('NOT_A_RECIPIENT', `the message is not encrypted to ${me.certificate.subject}`);
}

function matchesRid(rid: Asn1, cert: Certificate): boolean {
  if (isContext(rid, 0)) return cert.subjectKeyId?.equals(bytesOf(rid)) ?? false;
  if (rid.type !== Tag.SEQUENCE) return false;
  const r = new Reader(rid, 'IssuerAndSerialNumber');
  return cert.matchesIssuerSerial(toDer(r.next(Tag.SEQUENCE, 'issuer')), toDer(r.next(Tag.INTEGER, 'serialNumber')));
}

function tryKeyTrans(node: Asn1, me: Identity): RecoveredKey | undefined {
  const r = new Reader(node, 'KeyTransRecipientInfo');
  r.next(Tag.INTEGER, 'version');
  if (!matchesRid(r.any('rid'), me.certificate)) return undefined;
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'keyEncryptionAlgorithm'), 'keyEncryptionAlgorithm');
  const encryptedKey = readOctets(r.next(Tag.OCTETSTRING, 'encryptedKey'), 'encryptedKey');
  if (alg.oid === OID.rsaEncryption) {
    throw new WireError('INSECURE_KEY_TRANSPORT', 'RSA PKCS#1 v1.5 key transport is refused; use RSAES-OAEP with SHA-256');
  }
  if (alg.oid !== OID.rsaesOaep) throw new WireError('UNSUPPORTED_ALGORITHM', `key transport ${alg.oid} is outside the crypto profile`);
  if (me.certificate.keyType !== 'rsa') throw new WireError('BAD_KEY', 'RSA key transport to a non-RSA certificate');
  const oaepHash = oaepHashOf(alg.params);
  try {
    const cek = privateDecrypt({ key: me.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, encryptedKey);
    return { cek, keyManagement: `rsaes-oaep-${oaepHash}` };
  } catch (cause) {
    throw new WireError('DECRYPT_FAILED', 'the RSA-OAEP encrypted content key does not decrypt', { cause });
  }
}

/** RSAES-OAEP-params: hash and MGF1 hash must be the same SHA-2 (node has one knob for both). */
function oaepHashOf(params: Asn1 | undefined): 'sha256' | 'sha384' | 'sha512' {
  let hash: string | undefined = 'sha1';
  let mgfHash: string | undefined = 'sha1';
  for (const field of (params?.value as Asn1[] | undefined) ?? []) {
    const inner = (field.value as Asn1[])[0];
    if (!inner) continue;
    if (isContext(field, 0)) hash = DIGESTS.get(readAlgorithm(inner, 'hashFunc').oid);
    if (isContext(field, 1)) {
      const mgf = readAlgorithm(inner, 'maskGenFunc');
      mgfHash = mgf.oid === OID.mgf1 && mgf.params ? DIGESTS.get(readAlgorithm(mgf.params, 'mgf1 hash').oid) : undefined;
    }
    if (isContext(field, 2)) throw new WireError('UNSUPPORTED_ALGORITHM', 'RSAES-OAEP with a label is outside the crypto profile');
  }
  if (!hash || hash === 'sha1' || hash !== mgfHash) {
    throw new WireError('UNSUPPORTED_ALGORITHM', 'RSAES-OAEP must use SHA-256/384/512 for both the hash and MGF1');
  }
  return hash as 'sha256' | 'sha384' | 'sha512';
}

function tryKeyAgree(node: Asn1, me: Identity): RecoveredKey | undefined {
  const r = new Reader(node, 'KeyAgreeRecipientInfo');
  r.next(Tag.INTEGER, 'version');
  const originator = r.optionalContext(0);
  const ukmNode = r.optionalContext(1);
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'keyEncryptionAlgorithm'), 'keyEncryptionAlgorithm');
  const encryptedKeys = r.next(Tag.SEQUENCE, 'recipientEncryptedKeys').value as Asn1[];
  let encryptedKey: Buffer | undefined;
  for (const rek of encryptedKeys) {
    const rr = new Reader(rek, 'RecipientEncryptedKey');
    const rid = rr.any('rid');
    const ridInner = isContext(rid, 0) ? (rid.value as Asn1[])[0] : rid; // rKeyId [0] { subjectKeyIdentifier, ... }
    const matches = isContext(rid, 0) ? !!ridInner && me.certificate.subjectKeyId?.equals(bytesOf(ridInner)) : matchesRid(rid, me.certificate);
    if (matches) encryptedKey = readOctets(rr.next(Tag.OCTETSTRING, 'encryptedKey'), 'encryptedKey');
  }
  if (!encryptedKey) return undefined;
  const kdfHash = ECDH_KDF_HASHES.get(alg.oid);
  if (!kdfHash || !alg.params) throw new WireError('UNSUPPORTED_ALGORITHM', `key agreement ${alg.oid} is outside the crypto profile`);
  const wrapOid = readAlgorithm(alg.params, 'keyWrapAlgorithm').oid;
  const wrapAlg = KEY_WRAPS.get(wrapOid);
  if (!wrapAlg) throw new WireError('UNSUPPORTED_ALGORITHM', `key wrap ${wrapOid} is outside the crypto profile`);
  if (me.certificate.keyType !== 'ec' || me.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new WireError('UNSUPPORTED_ALGORITHM', 'ECDH key agreement needs a P-256 recipient key');
  }
  const ephemeral = originatorPublicKey(originator);
  const ukm = ukmNode ? readOctets((ukmNode.value as Asn1[])[0] ?? ukmNode, 'ukm') : undefined;
  const shared = diffieHellman({ privateKey: me.privateKey, publicKey: ephemeral });
  const kek = x963Kdf(kdfHash, shared, wrapAlg.keyBytes, sharedInfo(algorithm(wrapOid), wrapAlg.keyBytes, ukm));
  const cek = unwrap(wrapAlg.cipher, kek, encryptedKey);
  return { cek, keyManagement: `ecdh-p256-${kdfHash}kdf-aes${(wrapAlg.keyBytes * 8) as 128 | 192 | 256}wrap` };
}

/** originator [0] EXPLICIT originatorKey [1] { algorithm, publicKey }: the sender's ephemeral P-256 key. */
function originatorPublicKey(originator: Asn1 | undefined): KeyObject {
  const choice = originator && Array.isArray(originator.value) ? originator.value[0] : undefined;
  if (!choice || !isContext(choice, 1)) throw new WireError('UNSUPPORTED_ALGORITHM', 'ECDH needs an ephemeral originator key');
  const r = new Reader(choice, 'OriginatorPublicKey');
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'algorithm'), 'OriginatorPublicKey');
  if (alg.oid !== OID.ecPublicKey) throw new WireError('UNSUPPORTED_ALGORITHM', 'the originator key is not an EC key');
  const point = bytesOf(r.next(Tag.BITSTRING, 'publicKey')).subarray(1);
  if (point.length !== 65 || point[0] !== 0x04) throw new WireError('UNSUPPORTED_ALGORITHM', 'the originator key is not an uncompressed P-256 point');
  try {
    return createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, point]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new WireError('MALFORMED_CMS', 'the originator key is not a point on P-256', { cause });
  }
}

