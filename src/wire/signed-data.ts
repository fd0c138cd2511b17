/**
 * CMS SignedData (RFC 5652 §5): build one signer with signed attributes, and verify any number
 * of signers with node:crypto. Algorithms are limited to the crypto profile (profile.ts).
 */
import { constants, createHash, hash as cryptoHash, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { WireError } from './errors.ts';
import {
  algorithm, ctx, embed, explicitInner, int, isContext, isUniversal, nullValue, octets, oid, parseDer, readAlgorithm,
  readInt, readOctets, readOid, Reader, seq, set, Tag, toDer, utcTime, withTag, type Asn1, type DerNode,
} from './der.ts';
import { DIGESTS, OID, type SignatureAlgorithm } from './profile.ts';
import { Certificate, type Identity } from './x509.ts';

/** Build a DER ContentInfo(SignedData) over `content`, signed by `signer`, its certificate and chain included. */
export function buildSignedData(content: Buffer, signer: Identity, signingTime = new Date()): Buffer {
  return signedDataOver(content, signer, signingTime, false);
}

/**
 * Build a detached DER ContentInfo(SignedData) over `content`: the same signer, attributes and
 * certificates as {@link buildSignedData}, without the content itself (RFC 5652 §5.2: eContent
 * absent), so the signature can travel beside data stored elsewhere. Verify it with
 * `verifySignedData(der, content)` or `openssl cms -verify -binary -inform DER -content <file>`.
 */
export function buildDetachedSignedData(content: Buffer, signer: Identity, signingTime = new Date()): Buffer {
  return signedDataOver(content, signer, signingTime, true);
}

function signedDataOver(content: Buffer, signer: Identity, signingTime: Date, detached: boolean): Buffer {
  const cert = signer.certificate;
  const attrs = [
    attribute(OID.contentType, oid(OID.data)),
    attribute(OID.signingTime, utcTime(signingTime)),
    attribute(OID.messageDigest, octets(createHash('sha256').update(content).digest())),
  ]
    .map(toDer)
    .sort(Buffer.compare) // DER: a SET OF is sorted by encoding
    .map(embed);
  const toSign = toDer(set(attrs));
  const isRsa = cert.keyType === 'rsa';
  const signature = cryptoSign('sha256', toSign, isRsa ? { key: signer.privateKey, padding: constants.RSA_PKCS1_PADDING } : signer.privateKey);
  const signerInfo = seq([
    int(1),
    seq([embed(cert.issuerDer), embed(cert.serialDer)]),
    algorithm(OID.sha256),
    ctx(0, attrs),
    isRsa ? algorithm(OID.rsaEncryption, nullValue()) : algorithm(OID.ecdsaWithSha256),
    octets(signature),
  ]);
  const signedData = seq([
    int(1),
    set([algorithm(OID.sha256)]),
    seq(detached ? [oid(OID.data)] : [oid(OID.data), ctx(0, [octets(content)])]),
    ctx(0, [cert.node, ...signer.chain.map((c) => c.node)]),
    set([signerInfo]),
  ]);
  return toDer(seq([oid(OID.signedData), ctx(0, [signedData])]));
}

function attribute(type: string, value: Asn1): Asn1 {
  return seq([oid(type), set([value])]);
}

const SIGNED_DATA_VERSIONS = new Set([1, 3, 4, 5]);

/** What a verified SignedData gives back. */
export interface VerifiedSignedData {
  content: Buffer;
  /** The certificate of the first signer (all signers verified). */
  signer: Certificate;
  /** Every certificate the message carried (for path building). */
  certificates: Certificate[];
  signature: SignatureAlgorithm;
}

/**
 * Verify a DER ContentInfo(SignedData). `detached` is the content for a detached signature
 * (multipart/signed); otherwise the encapsulated content is used. Signatures only: trust in
 * the signer's certificate is the caller's job (TrustStore).
 */
export function verifySignedData(der: Buffer, detached?: Buffer): VerifiedSignedData {
  const info = new Reader(parseDer(der, 'SignedData'), 'ContentInfo');
  if (readOid(info.next(Tag.OID, 'contentType'), 'ContentInfo') !== OID.signedData) {
    throw new WireError('UNSIGNED', 'the content is CMS but not SignedData');
  }
  const explicit = info.optionalContext(0);
  if (!explicit) throw new WireError('MALFORMED_CMS', 'SignedData: no content');
  const sd = new Reader(explicitInner(explicit, 'SignedData'), 'SignedData');
  const version = readInt(sd.next(Tag.INTEGER, 'version'), 'version');
  if (!SIGNED_DATA_VERSIONS.has(version)) throw new WireError('MALFORMED_CMS', `SignedData version ${version} is not defined`);
  sd.next(Tag.SET, 'digestAlgorithms');
  const encap = new Reader(sd.next(Tag.SEQUENCE, 'encapContentInfo'), 'encapContentInfo');
  const eContentType = readOid(encap.next(Tag.OID, 'eContentType'), 'encapContentInfo');
  const eContent = encap.optionalContext(0);
  const encapsulated = eContent ? readOctets(explicitInner(eContent, 'eContent'), 'eContent') : undefined;
  const content = detached ?? encapsulated;
  if (!content) throw new WireError('UNSIGNED', 'SignedData carries no content and none was given beside it');
  const certsNode = sd.optionalContext(0);
  const certificates = (certsNode?.children('certificates') ?? [])
    .filter((c) => isUniversal(c, Tag.SEQUENCE)) // other CertificateChoices (attribute certificates) are not ours
    .map((c) => Certificate.fromDer(c.raw));
  sd.optionalContext(1); // crls
  const signerInfos = sd.next(Tag.SET, 'signerInfos').children('signerInfos');
  if (signerInfos.length === 0) throw new WireError('UNSIGNED', 'SignedData has no signer');
  const verified = signerInfos.map((si) => verifySignerInfo(si, content, eContentType, certificates));
  const first = verified[0] as { signer: Certificate; signature: SignatureAlgorithm };
  return { content, signer: first.signer, certificates, signature: first.signature };
}

function verifySignerInfo(node: DerNode, content: Buffer, eContentType: string, certificates: Certificate[]) {
  const r = new Reader(node, 'SignerInfo');
  r.next(Tag.INTEGER, 'version');
  const signer = findSigner(r.any('sid'), certificates);
  const digestOid = readAlgorithm(r.next(Tag.SEQUENCE, 'digestAlgorithm'), 'digestAlgorithm').oid;
  const hash = DIGESTS.get(digestOid);
  if (!hash) throw new WireError('UNSUPPORTED_ALGORITHM', `digest algorithm ${digestOid} is outside the crypto profile`);
  const signedAttrs = r.optionalContext(0);
  const sigAlg = readAlgorithm(r.next(Tag.SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm');
  const signature = readOctets(r.next(Tag.OCTETSTRING, 'signature'), 'signature');
  let signedBytes = content;
  if (signedAttrs) {
    checkSignedAttributes(signedAttrs, content, hash, eContentType);
    // The signature covers the attributes re-tagged as a universal SET OF (RFC 5652 §5.4).
    signedBytes = withTag(0x31, signedAttrs.content);
  }
  const { algorithm: name, key } = signatureVerifyKey(sigAlg, hash, signer);
  if (!verifies(hash, signedBytes, key, signature)) throw new WireError('BAD_SIGNATURE', `the signature of ${signer.subject} does not verify`);
  return { signer, signature: name };
}

function verifies(hash: string, data: Buffer, key: VerifyKey, signature: Buffer): boolean {
  try {
    return cryptoVerify(hash, data, key, signature);
  } catch {
    return false; // a malformed signature value is a bad signature, not a crash
  }
}

function findSigner(sid: DerNode, certificates: Certificate[]): Certificate {
  let found: Certificate | undefined;
  if (isContext(sid, 0)) {
    const keyId = readOctets(sid, 'subjectKeyIdentifier');
    found = certificates.find((c) => c.subjectKeyId?.equals(keyId));
  } else {
    const r = new Reader(sid, 'IssuerAndSerialNumber');
    const issuer = r.next(Tag.SEQUENCE, 'issuer').raw;
    const serial = r.next(Tag.INTEGER, 'serialNumber').raw;
    found = certificates.find((c) => c.matchesIssuerSerial(issuer, serial));
  }
  if (!found) throw new WireError('UNTRUSTED_SIGNER', 'the signer certificate is not included in the message');
  return found;
}

function checkSignedAttributes(attrs: DerNode, content: Buffer, hash: string, eContentType: string): void {
  let digest: Buffer | undefined;
  let contentType: string | undefined;
  for (const attr of attrs.children('signedAttrs')) {
    const r = new Reader(attr, 'Attribute');
    const type = readOid(r.next(Tag.OID, 'attrType'), 'Attribute');
    const value = r.next(Tag.SET, 'attrValues').children('attrValues')[0];
    if (type === OID.messageDigest && value) digest = readOctets(value, 'messageDigest');
    if (type === OID.contentType && value) contentType = readOid(value, 'contentType');
  }
  if (!digest || !contentType) throw new WireError('MALFORMED_CMS', 'signed attributes lack messageDigest or contentType');
  if (contentType !== eContentType) throw new WireError('BAD_SIGNATURE', 'the signed contentType does not match the content');
  if (!cryptoHash(hash, content, 'buffer').equals(digest)) {
    throw new WireError('BAD_SIGNATURE', 'the content does not match the signed message digest');
  }
}

type VerifyKey = Parameters<typeof cryptoVerify>[2];

const RSA_PKCS1 = new Set<string>([OID.rsaEncryption, OID.sha256WithRSA, OID.sha384WithRSA, OID.sha512WithRSA]);
const ECDSA = new Set<string>([OID.ecPublicKey, OID.ecdsaWithSha256, OID.ecdsaWithSha384, OID.ecdsaWithSha512]);

function signatureVerifyKey(sigAlg: { oid: string; params: DerNode | undefined }, hash: 'sha256' | 'sha384' | 'sha512', signer: Certificate): { algorithm: SignatureAlgorithm; key: VerifyKey } {
  const key = signer.publicKey;
  if (RSA_PKCS1.has(sigAlg.oid) && signer.keyType === 'rsa') {
    return { algorithm: `rsa-pkcs1-${hash}`, key: { key, padding: constants.RSA_PKCS1_PADDING } };
  }
  if (sigAlg.oid === OID.rsassaPss && signer.keyType === 'rsa') {
    return { algorithm: `rsa-pss-${hash}`, key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pssSaltLength(sigAlg.params, hash) } };
  }
  if (ECDSA.has(sigAlg.oid) && signer.keyType === 'ec') {
    return { algorithm: `ecdsa-${hash}`, key };
  }
  throw new WireError('UNSUPPORTED_ALGORITHM', `signature algorithm ${sigAlg.oid} with a ${signer.keyType} key is outside the crypto profile`);
}

/** RSASSA-PSS-params: the hash and MGF1 hash must equal the digest; returns the salt length. */
function pssSaltLength(params: DerNode | undefined, hash: string): number {
  if (!params) throw new WireError('UNSUPPORTED_ALGORITHM', 'RSASSA-PSS with default (SHA-1) parameters is outside the crypto profile');
  let saltLength = 20;
  let pssHash = 'sha1';
  let mgfHash = 'sha1';
  for (const field of new Reader(params, 'RSASSA-PSS-params').remaining) {
    const inner = explicitInner(field, 'RSASSA-PSS-params');
    if (isContext(field, 0)) pssHash = DIGESTS.get(readAlgorithm(inner, 'hashAlgorithm').oid) ?? 'unsupported';
    if (isContext(field, 1)) mgfHash = mgf1Hash(inner) ?? 'unsupported';
    if (isContext(field, 2)) saltLength = readInt(inner, 'saltLength');
  }
  if (pssHash !== hash || mgfHash !== hash) throw new WireError('UNSUPPORTED_ALGORITHM', 'RSASSA-PSS hash and MGF1 hash must be SHA-256/384/512 and match the digest');
  return saltLength;
}

/** The hash of an MGF1 AlgorithmIdentifier, if it is MGF1 with a profile hash. */
export function mgf1Hash(node: DerNode): 'sha256' | 'sha384' | 'sha512' | undefined {
  const mgf = readAlgorithm(node, 'maskGenAlgorithm');
  return mgf.oid === OID.mgf1 && mgf.params ? DIGESTS.get(readAlgorithm(mgf.params, 'mgf1 hash').oid) : undefined;
}
