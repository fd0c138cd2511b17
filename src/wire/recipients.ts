/**
 * RecipientInfo (RFC 5652 §6.2): how the content-encryption key (CEK) reaches each recipient.
 * RSA recipients: KeyTransRecipientInfo with RSAES-OAEP (RFC 3560). EC recipients:
 * KeyAgreeRecipientInfo with ephemeral-static ECDH, X9.63 KDF and AES key wrap (RFC 5753).
 */
import {
  constants, createCipheriv, createDecipheriv, createECDH, hash as cryptoHash, privateDecrypt, publicEncrypt, type ECDH,
} from 'node:crypto';
import { WireError } from './errors.ts';
import {
  algorithm, bitString, ctx, embed, explicitInner, int, isContext, isUniversal, octets, readAlgorithm, readOctets,
  Reader, seq, Tag, toDer, type Asn1, type DerNode,
} from './der.ts';
import { mgf1Hash } from './signed-data.ts';
import { DIGESTS, ECDH_KDF_HASHES, KEY_WRAPS, OID, type KeyManagement } from './profile.ts';
import type { Certificate, Identity } from './x509.ts';

const WRAP_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

/** Build the RecipientInfo for one recipient of `cek`. */
export function buildRecipientInfo(recipient: Certificate, cek: Buffer): Asn1 {
  return recipient.keyType === 'rsa' ? buildKeyTrans(recipient, cek) : buildKeyAgree(recipient, cek);
}

function issuerAndSerial(cert: Certificate): Asn1 {
  return seq([embed(cert.issuerDer), embed(cert.serialDer)]);
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
  const kek = x963Kdf('sha256', shared, 32, cachedSharedInfo(OID.aes256Wrap, 32, undefined));
  const encryptedKey = wrap('id-aes256-wrap', kek, cek);
  return ctx(1, [
    int(3),
    ctx(0, [ctx(1, [algorithm(OID.ecPublicKey), bitString(ephemeralPoint)])]),
    algorithm(OID.ecdhSha256Kdf, algorithm(OID.aes256Wrap)),
    seq([seq([issuerAndSerial(recipient), octets(encryptedKey)])]),
  ]);
}

/** ECC-CMS-SharedInfo (RFC 5753 §7.2), the KDF's "other info". */
function sharedInfo(wrapOid: string, keyBytes: number, ukm: Buffer | undefined): Buffer {
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(keyBytes * 8);
  return toDer(seq([algorithm(wrapOid), ...(ukm ? [ctx(0, [octets(ukm)])] : []), ctx(2, [octets(bits)])]));
}

/** Without a ukm (what OpenSSL and we write) SharedInfo depends only on the wrap: build it once. */
function cachedSharedInfo(wrapOid: string, keyBytes: number, ukm: Buffer | undefined): Buffer {
  if (ukm) return sharedInfo(wrapOid, keyBytes, ukm);
  let info = sharedInfos.get(wrapOid);
  if (!info) sharedInfos.set(wrapOid, (info = sharedInfo(wrapOid, keyBytes, undefined)));
  return info;
}

const sharedInfos = new Map<string, Buffer>();

/**
 * ANSI X9.63 KDF: Hash(Z || counter || SharedInfo) blocks, each hashed with one native call
 * (crypto.hash) over one buffer rather than a Hash object fed three times.
 */
function x963Kdf(hash: string, z: Buffer, length: number, info: Buffer): Buffer {
  const input = Buffer.allocUnsafe(z.length + 4 + info.length);
  z.copy(input, 0);
  info.copy(input, z.length + 4);
  const blocks: Buffer[] = [];
  for (let counter = 1, have = 0; have < length; counter++) {
    input.writeUInt32BE(counter, z.length);
    const block = cryptoHash(hash, input, 'buffer');
    blocks.push(block);
    have += block.length;
  }
  // One block always, for AES keys and SHA-2.
  return (blocks.length === 1 ? (blocks[0] as Buffer) : Buffer.concat(blocks)).subarray(0, length);
}

function wrap(cipher: string, kek: Buffer, key: Buffer): Buffer {
  const c = createCipheriv(cipher, kek, WRAP_IV);
  return Buffer.concat([c.update(key), c.final()]);
}

/**
 * RFC 3394 unwrap. OpenSSL unwraps and checks the integrity value in update() (which throws when
 * it does not match) and its final() adds nothing for the wrap modes, so it is not called.
 */
function unwrap(cipher: string, kek: Buffer, wrapped: Buffer): Buffer {
  try {
    return createDecipheriv(cipher, kek, WRAP_IV).update(wrapped);
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
export function recoverContentKey(recipientInfos: DerNode[], me: Identity): RecoveredKey {
  for (const ri of recipientInfos) {
    if (isUniversal(ri, Tag.SEQUENCE)) {
      const found = tryKeyTrans(ri, me);
      if (found) return found;
    } else if (isContext(ri, 1)) {
      const found = tryKeyAgree(ri, me);
      if (found) return found;
    } // kekri, pwri, ori: never addressed to a certificate holder
  }
  throw new WireError('NOT_A_RECIPIENT', `the message is not encrypted to ${me.certificate.subject}`);
}

/** Does a RecipientIdentifier (issuerAndSerialNumber, or [0] subjectKeyIdentifier) name `cert`? */
function matchesRid(rid: DerNode, cert: Certificate): boolean {
  if (isContext(rid, 0)) return cert.subjectKeyId?.equals(readOctets(rid, 'subjectKeyIdentifier')) ?? false;
  if (!isUniversal(rid, Tag.SEQUENCE)) return false;
  const r = new Reader(rid, 'IssuerAndSerialNumber');
  return cert.matchesIssuerSerial(r.next(Tag.SEQUENCE, 'issuer').raw, r.next(Tag.INTEGER, 'serialNumber').raw);
}

function tryKeyTrans(node: DerNode, me: Identity): RecoveredKey | undefined {
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
function oaepHashOf(params: DerNode | undefined): 'sha256' | 'sha384' | 'sha512' {
  let hash: string | undefined = 'sha1';
  let mgfHash: string | undefined = 'sha1';
  for (const field of params ? new Reader(params, 'RSAES-OAEP-params').remaining : []) {
    const inner = explicitInner(field, 'RSAES-OAEP-params');
    if (isContext(field, 0)) hash = DIGESTS.get(readAlgorithm(inner, 'hashFunc').oid);
    if (isContext(field, 1)) mgfHash = mgf1Hash(inner);
    if (isContext(field, 2)) throw new WireError('UNSUPPORTED_ALGORITHM', 'RSAES-OAEP with a label is outside the crypto profile');
  }
  if (!hash || hash === 'sha1' || hash !== mgfHash) {
    throw new WireError('UNSUPPORTED_ALGORITHM', 'RSAES-OAEP must use SHA-256/384/512 for both the hash and MGF1');
  }
  return hash as 'sha256' | 'sha384' | 'sha512';
}

function tryKeyAgree(node: DerNode, me: Identity): RecoveredKey | undefined {
  const r = new Reader(node, 'KeyAgreeRecipientInfo');
  r.next(Tag.INTEGER, 'version');
  const originator = r.optionalContext(0);
  const ukmNode = r.optionalContext(1);
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'keyEncryptionAlgorithm'), 'keyEncryptionAlgorithm');
  const encryptedKey = ourEncryptedKey(r.next(Tag.SEQUENCE, 'recipientEncryptedKeys'), me.certificate);
  if (!encryptedKey) return undefined;
  const kdfHash = ECDH_KDF_HASHES.get(alg.oid);
  if (!kdfHash || !alg.params) throw new WireError('UNSUPPORTED_ALGORITHM', `key agreement ${alg.oid} is outside the crypto profile`);
  const wrapOid = readAlgorithm(alg.params, 'keyWrapAlgorithm').oid;
  const wrapAlg = KEY_WRAPS.get(wrapOid);
  if (!wrapAlg) throw new WireError('UNSUPPORTED_ALGORITHM', `key wrap ${wrapOid} is outside the crypto profile`);
  const shared = agree(me, originatorPoint(originator));
  const ukm = ukmNode ? readOctets(explicitInner(ukmNode, 'ukm'), 'ukm') : undefined;
  const kek = x963Kdf(kdfHash, shared, wrapAlg.keyBytes, cachedSharedInfo(wrapOid, wrapAlg.keyBytes, ukm));
  const cek = unwrap(wrapAlg.cipher, kek, encryptedKey);
  return { cek, keyManagement: `ecdh-p256-${kdfHash}kdf-aes${(wrapAlg.keyBytes * 8) as 128 | 192 | 256}wrap` };
}

/** The encryptedKey of the RecipientEncryptedKey whose rid names us (rKeyId is [0] { subjectKeyIdentifier, … }). */
function ourEncryptedKey(list: DerNode, cert: Certificate): Buffer | undefined {
  for (const rek of list.children('recipientEncryptedKeys')) {
    const rr = new Reader(rek, 'RecipientEncryptedKey');
    const rid = rr.any('rid');
    const matches = isContext(rid, 0)
      ? cert.subjectKeyId?.equals(readOctets(explicitInner(rid, 'rKeyId'), 'subjectKeyIdentifier')) === true
      : matchesRid(rid, cert);
    if (matches) return readOctets(rr.next(Tag.OCTETSTRING, 'encryptedKey'), 'encryptedKey');
  }
  return undefined;
}

/** originator [0] EXPLICIT originatorKey [1] { algorithm, publicKey }: the sender's ephemeral P-256 point. */
function originatorPoint(originator: DerNode | undefined): Buffer {
  const choice = originator ? explicitInner(originator, 'originator') : undefined;
  if (!choice || !isContext(choice, 1)) throw new WireError('UNSUPPORTED_ALGORITHM', 'ECDH needs an ephemeral originator key');
  const r = new Reader(choice, 'OriginatorPublicKey');
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'algorithm'), 'OriginatorPublicKey');
  if (alg.oid !== OID.ecPublicKey) throw new WireError('UNSUPPORTED_ALGORITHM', 'the originator key is not an EC key');
  const point = r.next(Tag.BITSTRING, 'publicKey').content.subarray(1);
  if (point.length !== 65 || point[0] !== 0x04) throw new WireError('UNSUPPORTED_ALGORITHM', 'the originator key is not an uncompressed P-256 point');
  return point;
}

/**
 * Our half of ECDH. One ECDH object per private key, made once: importing the sender's point
 * as a KeyObject for every message cost a quarter of an EC open (docs/benchmarks.md).
 * OpenSSL still checks that the point is on the curve.
 */
function agree(me: Identity, point: Buffer): Buffer {
  if (me.certificate.keyType !== 'ec' || me.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new WireError('UNSUPPORTED_ALGORITHM', 'ECDH key agreement needs a P-256 recipient key');
  }
  let ecdh = agreements.get(me.privateKey);
  if (!ecdh) {
    ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(me.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url'));
    agreements.set(me.privateKey, ecdh);
  }
  try {
    return ecdh.computeSecret(point);
  } catch (cause) {
    throw new WireError('MALFORMED_CMS', 'the originator key is not a point on P-256', { cause });
  }
}

const agreements = new WeakMap<Identity['privateKey'], ECDH>();
