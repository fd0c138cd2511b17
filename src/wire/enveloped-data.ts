/**
 * CMS encryption: AuthEnvelopedData with AES-256-GCM (RFC 5083/5084, our default) and
 * EnvelopedData with AES-256-CBC (RFC 5652 §6, for older peers).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { WireError } from './errors.ts';
import {
  algorithm, ctx, ctxPrimitive, explicitInner, int, octets, oid, parseDer, readAlgorithm, readInt, readOctets, readOid,
  Reader, seq, set, Tag, toDer, type DerNode,
} from './der.ts';
import { OID, type ContentCipher, type KeyManagement } from './profile.ts';
import { buildRecipientInfo, recoverContentKey } from './recipients.ts';
import type { Certificate, Identity } from './x509.ts';

const GCM_TAG_BYTES = 16;
const ENVELOPED_DATA_VERSIONS = new Set([0, 2, 3, 4]);

/** Encrypt `content` to every recipient; returns DER ContentInfo. */
export function buildEnvelope(content: Buffer, recipients: readonly Certificate[], cipher: ContentCipher): Buffer {
  if (recipients.length === 0) throw new WireError('BAD_KEY', 'at least one recipient certificate is needed');
  const cek = randomBytes(32);
  const recipientInfos = set(recipients.map((r) => buildRecipientInfo(r, cek)));
  if (cipher === 'aes-256-gcm') {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', cek, nonce, { authTagLength: GCM_TAG_BYTES });
    const encrypted = Buffer.concat([c.update(content), c.final()]);
    const gcmParams = seq([octets(nonce), int(GCM_TAG_BYTES)]);
    const body = seq([
      int(0),
      recipientInfos,
      seq([oid(OID.data), algorithm(OID.aes256Gcm, gcmParams), ctxPrimitive(0, encrypted)]),
      octets(c.getAuthTag()),
    ]);
    return toDer(seq([oid(OID.authEnvelopedData), ctx(0, [body])]));
  }
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', cek, iv);
  const encrypted = Buffer.concat([c.update(content), c.final()]);
  // RFC 5652 §6.1: version 2 as soon as any RecipientInfo is not version 0 (kari is version 3).
  const version = recipients.every((r) => r.keyType === 'rsa') ? 0 : 2;
  const body = seq([
    int(version),
    recipientInfos,
    seq([oid(OID.data), algorithm(OID.aes256Cbc, octets(iv)), ctxPrimitive(0, encrypted)]),
  ]);
  return toDer(seq([oid(OID.envelopedData), ctx(0, [body])]));
}

/** What decryption gives back. */
export interface OpenedEnvelope {
  content: Buffer;
  contentEncryption: ContentCipher;
  keyManagement: KeyManagement;
}

/** The CMS content type of a DER ContentInfo (to tell envelopes from bare signatures). */
export function contentTypeOf(der: Buffer): string {
  const info = new Reader(parseDer(der, 'ContentInfo'), 'ContentInfo');
  return readOid(info.next(Tag.OID, 'contentType'), 'ContentInfo');
}

/** Decrypt a DER ContentInfo (AuthEnvelopedData or EnvelopedData) addressed to `me`. */
export function openEnvelope(der: Buffer, me: Identity): OpenedEnvelope {
  const info = new Reader(parseDer(der, 'envelope'), 'ContentInfo');
  const type = readOid(info.next(Tag.OID, 'contentType'), 'ContentInfo');
  if (type !== OID.authEnvelopedData && type !== OID.envelopedData) {
    throw new WireError('NOT_ENCRYPTED', `the message is CMS content type ${type}, not an encrypted envelope`);
  }
  const explicit = info.optionalContext(0);
  if (!explicit) throw new WireError('MALFORMED_CMS', 'the envelope has no content');
  const r = new Reader(explicitInner(explicit, 'envelope'), 'envelope');
  const version = readInt(r.next(Tag.INTEGER, 'version'), 'version');
  // RFC 5083 §2.1 fixes AuthEnvelopedData at 0; RFC 5652 §6.1 allows EnvelopedData 0, 2, 3, 4.
  if (type === OID.authEnvelopedData ? version !== 0 : !ENVELOPED_DATA_VERSIONS.has(version)) {
    throw new WireError('MALFORMED_CMS', `envelope version ${version} is not defined`);
  }
  r.optionalContext(0); // originatorInfo: certificates we do not need
  const recipientInfos = r.next(Tag.SET, 'recipientInfos').children('recipientInfos');
  const eci = new Reader(r.next(Tag.SEQUENCE, 'encryptedContentInfo'), 'encryptedContentInfo');
  readOid(eci.next(Tag.OID, 'contentType'), 'encryptedContentInfo');
  const alg = readAlgorithm(eci.next(Tag.SEQUENCE, 'contentEncryptionAlgorithm'), 'contentEncryptionAlgorithm');
  const encryptedNode = eci.optionalContext(0);
  if (!encryptedNode) throw new WireError('MALFORMED_CMS', 'the envelope carries no encrypted content');
  const encrypted = readOctets(encryptedNode, 'encryptedContent');
  const gcm = type === OID.authEnvelopedData;
  // Check the algorithm before spending a private-key operation on the recipient info.
  if ((gcm && alg.oid !== OID.aes256Gcm) || (!gcm && alg.oid !== OID.aes256Cbc) || !alg.params) {
    throw new WireError('UNSUPPORTED_ALGORITHM', `content encryption ${alg.oid} in ${gcm ? 'AuthEnvelopedData' : 'EnvelopedData'} is outside the crypto profile`);
  }
  const { cek, keyManagement } = recoverContentKey(recipientInfos, me);
  if (cek.length !== 32) throw new WireError('DECRYPT_FAILED', 'the content key is not an AES-256 key');
  const content = gcm ? decryptGcm(cek, alg.params, encrypted, r) : decryptCbc(cek, alg.params, encrypted);
  return { content, contentEncryption: gcm ? 'aes-256-gcm' : 'aes-256-cbc', keyManagement };
}

function decryptGcm(cek: Buffer, params: DerNode, encrypted: Buffer, rest: Reader): Buffer {
  const p = new Reader(params, 'GCMParameters');
  const nonce = readOctets(p.next(Tag.OCTETSTRING, 'aes-nonce'), 'aes-nonce');
  const icvNode = p.peek();
  const tagLength = icvNode ? readInt(icvNode, 'aes-ICVlen') : 12;
  rest.optionalContext(1); // authAttrs: we write none; when present they are the AAD
  const mac = readOctets(rest.next(Tag.OCTETSTRING, 'mac'), 'mac');
  if (mac.length !== tagLength || tagLength < 12 || tagLength > 16) throw new WireError('MALFORMED_CMS', 'the GCM tag length is invalid');
  try {
    const d = createDecipheriv('aes-256-gcm', cek, nonce, { authTagLength: tagLength });
    d.setAuthTag(mac);
    return finish(d.update(encrypted), d.final());
  } catch (cause) {
    throw new WireError('DECRYPT_FAILED', 'AES-256-GCM authentication failed: the message was altered', { cause });
  }
}

function decryptCbc(cek: Buffer, params: DerNode, encrypted: Buffer): Buffer {
  if (params.tagClass !== 0 || params.type !== Tag.OCTETSTRING) throw new WireError('MALFORMED_CMS', 'the AES-CBC IV is not an OCTET STRING');
  const iv = readOctets(params, 'aes-IV');
  if (iv.length !== 16) throw new WireError('MALFORMED_CMS', 'the AES-CBC IV is not 16 bytes');
  try {
    const d = createDecipheriv('aes-256-cbc', cek, iv);
    return finish(d.update(encrypted), d.final());
  } catch (cause) {
    throw new WireError('DECRYPT_FAILED', 'AES-256-CBC decryption failed: the message was altered', { cause });
  }
}

/** update() + final(), without copying when final() adds nothing (GCM never does). */
function finish(head: Buffer, tail: Buffer): Buffer {
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}
