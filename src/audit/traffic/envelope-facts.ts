/**
 * What a CMS ContentInfo says about itself without being decrypted: its content type, the
 * content cipher, and for every recipient how the content key reaches it (key transport or
 * agreement, hash, key wrap, the RSA modulus size) and whom it names. Only the outer envelope is
 * read: the signed content inside is encrypted.
 *
 * Reads the same structures as src/wire/enveloped-data.ts and recipients.ts, but where those
 * refuse what is outside the crypto profile, this names it, since naming it is the auditor's job.
 * Failures are WireError MALFORMED_CMS from the DER reader; inspect.ts turns them into facts.
 */
import { explicitInner, isContext, isUniversal, parseDer, readAlgorithm, readInt, readOctets, readOid, Reader, Tag, type DerNode } from '../../wire/der.ts';
import { DIGESTS, ECDH_KDF_HASHES, KEY_WRAPS, OID } from '../../wire/profile.ts';
import { dnString, serialHex } from './der-name.ts';

/** How one recipient gets the content key, and whom the envelope names. */
export interface RecipientFacts {
  /** RFC 4514 issuer, or `subjectKeyIdentifier:<hex>`. */
  readonly issuer: string;
  /** Lower-case hex serial, empty for a subjectKeyIdentifier. */
  readonly serial: string;
  /** `issuer DER (hex)|serial hex`, or `ski:<hex>`: how a given certificate is recognised. */
  readonly key: string;
  /** `rsaes-oaep-sha256`, `rsaes-pkcs1-v1_5`, `ecdh-p256-sha256kdf-aes256wrap`, … or an OID / a recipient kind. */
  readonly keyManagement: string;
  /** RSA modulus bits (encryptedKey length × 8) for key transport. */
  readonly rsaBits?: number;
}

/** The envelope's facts. */
export interface EnvelopeFacts {
  /** `authEnvelopedData`, `envelopedData`, `signedData`, `data` or the content type's OID. */
  readonly contentType: string;
  /**
   * For an envelope: `aes-256-gcm` or `aes-256-cbc` when their parameters are as open() accepts
   * them, else a name saying what differs (`aes-256-gcm, 4-byte tag`), or the OID (with
   * the envelope kind when they do not fit).
   */
  readonly contentEncryption?: string;
  readonly recipients: readonly RecipientFacts[];
}

const CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  [OID.authEnvelopedData, 'authEnvelopedData'],
  [OID.envelopedData, 'envelopedData'],
  [OID.signedData, 'signedData'],
  [OID.data, 'data'],
]);

/** Hash names for OAEP's hash and MGF1, SHA-1 included (it is what absent parameters mean). */
const HASH_NAMES: ReadonlyMap<string, string> = new Map([[OID.sha1, 'sha1'], ...DIGESTS]);

/** Curves by the length of an uncompressed point (0x04 ‖ X ‖ Y). */
const CURVE_BY_POINT_BYTES: ReadonlyMap<number, string> = new Map([[65, 'p256'], [97, 'p384'], [133, 'p521']]);

/** The facts of a DER ContentInfo. Throws WireError (MALFORMED_CMS) when it does not parse. */
export function envelopeFacts(der: Buffer, names: NameCache): EnvelopeFacts {
  const info = new Reader(parseDer(der, 'ContentInfo'), 'ContentInfo');
  const oid = readOid(info.next(Tag.OID, 'contentType'), 'ContentInfo');
  const contentType = CONTENT_TYPES.get(oid) ?? oid;
  if (oid !== OID.authEnvelopedData && oid !== OID.envelopedData) return { contentType, recipients: [] };
  const explicit = info.optionalContext(0);
  if (!explicit) return { contentType: `${contentType} without content`, recipients: [] };
  const r = new Reader(explicitInner(explicit, 'envelope'), 'envelope');
  r.next(Tag.INTEGER, 'version');
  r.optionalContext(0); // originatorInfo
  const recipients = r.next(Tag.SET, 'recipientInfos').children('recipientInfos').flatMap((ri) => recipientFacts(ri, names));
  const eci = new Reader(r.next(Tag.SEQUENCE, 'encryptedContentInfo'), 'encryptedContentInfo');
  readOid(eci.next(Tag.OID, 'contentType'), 'encryptedContentInfo');
  const algorithm = readAlgorithm(eci.next(Tag.SEQUENCE, 'contentEncryptionAlgorithm'), 'contentEncryptionAlgorithm');
  let contentEncryption = contentCipher(oid, algorithm.oid);
  if (contentEncryption === 'aes-256-gcm') contentEncryption = gcmCipher(algorithm.params, r);
  else if (contentEncryption === 'aes-256-cbc') contentEncryption = cbcCipher(algorithm.params);
  return { contentType, contentEncryption, recipients };
}

/** Bytes of a GCM nonce the profile writes (SP 800-38D §8.2: 96-bit IVs; another length goes through GHASH). */
const GCM_NONCE_BYTES = 12;
/** GCM tag lengths open() accepts (src/wire/enveloped-data.ts): a shorter tag is a weaker authenticator. */
const GCM_MIN_TAG_BYTES = 12;
const GCM_MAX_TAG_BYTES = 16;
const CBC_IV_BYTES = 16;

/**
 * `aes-256-gcm` when the GCM parameters and the tag are as open() accepts them (RFC 5084
 * GCMParameters: a nonce, a tag length of 12 to 16 bytes, 12 when absent, and a tag of exactly
 * that length after the encrypted content) and the nonce has the 12 bytes the profile writes;
 * else a name saying what differs, which the profile does not list. `rest` is the
 * AuthEnvelopedData after its encryptedContentInfo: [1] authAttrs, then the tag.
 */
function gcmCipher(params: DerNode | undefined, rest: Reader): string {
  if (params === undefined) return 'aes-256-gcm, no parameters';
  let nonceBytes: number;
  let tagLength: number;
  let tagBytes: number;
  try {
    const p = new Reader(params, 'GCMParameters');
    nonceBytes = readOctets(p.next(Tag.OCTETSTRING, 'aes-nonce'), 'aes-nonce').length;
    const icv = p.peek();
    tagLength = icv === undefined ? 12 : readInt(icv, 'aes-ICVlen');
  } catch {
    return 'aes-256-gcm, malformed parameters';
  }
  try {
    rest.optionalContext(1);
    tagBytes = readOctets(rest.next(Tag.OCTETSTRING, 'mac'), 'mac').length;
  } catch {
    return 'aes-256-gcm, no tag';
  }
  if (tagLength < GCM_MIN_TAG_BYTES || tagLength > GCM_MAX_TAG_BYTES) return `aes-256-gcm, ${tagLength}-byte tag`;
  if (tagBytes !== tagLength) return `aes-256-gcm, ${tagBytes}-byte tag (${tagLength} declared)`;
  if (nonceBytes !== GCM_NONCE_BYTES) return `aes-256-gcm, ${nonceBytes}-byte nonce`;
  return 'aes-256-gcm';
}

/** `aes-256-cbc` when its parameters are a 16-byte IV, as open() requires; else a name saying what differs. */
function cbcCipher(params: DerNode | undefined): string {
  if (params === undefined || params.tagClass !== 0 || params.type !== Tag.OCTETSTRING) return 'aes-256-cbc, no IV';
  let ivBytes: number;
  try {
    ivBytes = readOctets(params, 'aes-IV').length;
  } catch {
    return 'aes-256-cbc, malformed IV';
  }
  return ivBytes === CBC_IV_BYTES ? 'aes-256-cbc' : `aes-256-cbc, ${ivBytes}-byte IV`;
}

function contentCipher(envelope: string, cipher: string): string {
  if (envelope === OID.authEnvelopedData && cipher === OID.aes256Gcm) return 'aes-256-gcm';
  if (envelope === OID.envelopedData && cipher === OID.aes256Cbc) return 'aes-256-cbc';
  // GCM in EnvelopedData has no tag; CBC in AuthEnvelopedData has no authentication: neither is what its name says.
  if (cipher === OID.aes256Gcm || cipher === OID.aes256Cbc) return `${cipher} in ${CONTENT_TYPES.get(envelope) ?? envelope}`;
  return cipher;
}

function recipientFacts(ri: DerNode, names: NameCache): RecipientFacts[] {
  if (isUniversal(ri, Tag.SEQUENCE)) return [keyTrans(ri, names)];
  if (isContext(ri, 1)) return keyAgree(ri, names);
  const kind = ri.tagClass === 2 ? (['', '', 'kekri', 'pwri', 'ori'][ri.type] ?? `recipient [${ri.type}]`) : 'malformed recipient';
  return [{ issuer: `(${kind})`, serial: '', key: `kind:${kind}`, keyManagement: kind || 'malformed recipient' }];
}

function keyTrans(ri: DerNode, names: NameCache): RecipientFacts {
  const r = new Reader(ri, 'KeyTransRecipientInfo');
  r.next(Tag.INTEGER, 'version');
  const rid = ridFacts(r.any('rid'), names);
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'keyEncryptionAlgorithm'), 'keyEncryptionAlgorithm');
  const encryptedKeyNode = r.next(Tag.OCTETSTRING, 'encryptedKey');
  const rsaBits = (encryptedKeyNode.constructed ? readOctets(encryptedKeyNode, 'encryptedKey').length : encryptedKeyNode.contentLength) * 8;
  if (alg.oid === OID.rsaEncryption) return { ...rid, keyManagement: 'rsaes-pkcs1-v1_5', rsaBits };
  if (alg.oid === OID.rsaesOaep) return { ...rid, keyManagement: oaepName(alg.params), rsaBits };
  return { ...rid, keyManagement: alg.oid };
}

/** `rsaes-oaep-<hash>`, with `-mgf1-<hash>` when MGF1 differs and `-label` when there is one. Absent fields mean SHA-1 (RFC 4055). */
function oaepName(params: DerNode | undefined): string {
  let hash = 'sha1';
  let mgf = 'sha1';
  let label = false;
  for (const field of params ? new Reader(params, 'RSAES-OAEP-params').remaining : []) {
    const inner = explicitInner(field, 'RSAES-OAEP-params');
    if (isContext(field, 0)) hash = hashName(readAlgorithm(inner, 'hashFunc').oid);
    else if (isContext(field, 1)) mgf = mgfName(inner);
    else if (isContext(field, 2)) label = true;
  }
  return `rsaes-oaep-${hash}${mgf === hash ? '' : `-mgf1-${mgf}`}${label ? '-label' : ''}`;
}

function mgfName(node: DerNode): string {
  const mgf = readAlgorithm(node, 'maskGenFunc');
  if (mgf.oid !== OID.mgf1) return mgf.oid;
  return mgf.params ? hashName(readAlgorithm(mgf.params, 'MGF1 hash').oid) : 'sha1';
}

const hashName = (oid: string): string => HASH_NAMES.get(oid) ?? oid;

function keyAgree(ri: DerNode, names: NameCache): RecipientFacts[] {
  const r = new Reader(ri, 'KeyAgreeRecipientInfo');
  r.next(Tag.INTEGER, 'version');
  const originator = r.optionalContext(0);
  r.optionalContext(1); // ukm
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'keyEncryptionAlgorithm'), 'keyEncryptionAlgorithm');
  const keyManagement = agreementName(alg, originator);
  return r.next(Tag.SEQUENCE, 'recipientEncryptedKeys').children('recipientEncryptedKeys').map((rek) => {
    const rr = new Reader(rek, 'RecipientEncryptedKey');
    const rid = rr.any('rid');
    // rKeyId [0] IMPLICIT RecipientKeyIdentifier { subjectKeyIdentifier, date?, other? }
    const facts = isContext(rid, 0) ? skiFacts(readOctets(explicitInner(rid, 'rKeyId'), 'subjectKeyIdentifier')) : ridFacts(rid, names);
    return { ...facts, keyManagement };
  });
}

/** `ecdh-<curve>-<hash>kdf-aes<bits>wrap` for the schemes of RFC 5753, else the OIDs involved. */
function agreementName(alg: { oid: string; params: DerNode | undefined }, originator: DerNode | undefined): string {
  const kdf = ECDH_KDF_HASHES.get(alg.oid);
  const wrapOid = alg.params ? readAlgorithm(alg.params, 'keyWrapAlgorithm').oid : undefined;
  const wrap = wrapOid === undefined ? undefined : KEY_WRAPS.get(wrapOid);
  if (kdf === undefined) return alg.oid;
  if (wrap === undefined) return `ecdh-${kdf}kdf-${wrapOid ?? 'no-key-wrap'}`;
  return `ecdh-${originatorCurve(originator)}-${kdf}kdf-aes${wrap.keyBytes * 8}wrap`;
}

/** The curve of the ephemeral originator key, from its point's length; `static` when the originator is a certificate. */
function originatorCurve(originator: DerNode | undefined): string {
  const choice = originator ? explicitInner(originator, 'originator') : undefined;
  if (!choice || !isContext(choice, 1)) return 'static';
  const r = new Reader(choice, 'OriginatorPublicKey');
  const alg = readAlgorithm(r.next(Tag.SEQUENCE, 'algorithm'), 'OriginatorPublicKey');
  if (alg.oid !== OID.ecPublicKey) return alg.oid;
  const point = r.next(Tag.BITSTRING, 'publicKey');
  return CURVE_BY_POINT_BYTES.get(point.contentLength - 1) ?? `ec-${(point.contentLength - 1) * 8}bit-point`;
}

/** An IssuerAndSerialNumber, or a [0] subjectKeyIdentifier (KeyTransRecipientInfo's rid). */
function ridFacts(rid: DerNode, names: NameCache): Pick<RecipientFacts, 'issuer' | 'serial' | 'key'> {
  if (isContext(rid, 0)) return skiFacts(readOctets(rid, 'subjectKeyIdentifier'));
  const r = new Reader(rid, 'IssuerAndSerialNumber');
  const issuer = r.next(Tag.SEQUENCE, 'issuer');
  const serial = serialHex(r.next(Tag.INTEGER, 'serialNumber'));
  const rendered = names.render(issuer);
  return { issuer: rendered.text, serial, key: `${rendered.key}|${serial}` };
}

function skiFacts(ski: Buffer): Pick<RecipientFacts, 'issuer' | 'serial' | 'key'> {
  const hex = ski.subarray(0, 64).toString('hex');
  return { issuer: `subjectKeyIdentifier:${hex}`, serial: '', key: `ski:${hex}` };
}

/**
 * Issuer names rendered once: every message names the same few issuers, so the same DER is
 * rendered from the cache. Bounded, since a hostile capture can name a new issuer every time.
 */
export class NameCache {
  readonly #names = new Map<string, { text: string; key: string }>();

  constructor(private readonly limit = 1024) {}

  render(issuer: DerNode): { text: string; key: string } {
    const raw = issuer.raw;
    const latin = raw.toString('latin1');
    let found = this.#names.get(latin);
    if (found === undefined) {
      found = { text: dnString(issuer), key: raw.toString('hex') };
      if (this.#names.size >= this.limit) this.#names.delete(this.#names.keys().next().value as string);
      this.#names.set(latin, found);
    }
    return found;
  }
}

/** The matching key of a certificate's issuer DER and serial DER (as in {@link RecipientFacts.key}). */
export function issuerSerialKey(issuerDer: Buffer, serial: DerNode): string {
  return `${issuerDer.toString('hex')}|${serialHex(serial)}`;
}
