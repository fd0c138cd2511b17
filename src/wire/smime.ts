/**
 * seal() and open(): the wire body (docs/wire-format.md). Sign, then encrypt; on input, decrypt, verify,
 * check trust, and hand back the YAML with who signed it and how.
 */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { WireError } from './errors.ts';
import { buildEnvelope, contentTypeOf, openEnvelope } from './enveloped-data.ts';
import { asLatin1, decodeBody, parseEntity, splitMultipartSigned, toCanonicalCrlf, writePkcs7Mime, type MimeEntity } from './mime.ts';
import { OID, type AlgorithmsUsed, type SignedForm } from './profile.ts';
import { buildSignedData, verifySignedData, type VerifiedSignedData } from './signed-data.ts';
import { TrustStore } from './trust.ts';
import { Certificate, type Identity } from './x509.ts';

// Certificate's constructor is private (use Certificate.from), so z.instanceof cannot type it.
const certificate = z.custom<Certificate>((v) => v instanceof Certificate, 'a Certificate (Certificate.from)');
const identity = z.object({
  certificate,
  privateKey: z.custom<Identity['privateKey']>((k) => !!k, 'a private KeyObject'),
  chain: z.array(certificate).readonly().default([]),
});

/** Options of seal(); defaults live here and only here. */
export const sealOptionsSchema = z.object({
  /** Who can decrypt: one certificate per recipient (RSA → OAEP, EC → ECDH). */
  recipients: z.array(certificate).min(1),
  /** Who signs: certificate and private key. */
  signer: identity,
  cipher: z.enum(['aes-256-gcm', 'aes-256-cbc']).default('aes-256-gcm'),
  signingTime: z.date().optional(),
});
export type SealOptions = z.input<typeof sealOptionsSchema>;

/** Options of open(); defaults live here and only here. */
export const openOptionsSchema = z.object({
  /** Our certificate and key (we must be one of the recipients). */
  identity,
  /** Trust anchors the signer must chain to. */
  trust: z.instanceof(TrustStore),
  /** The clock for validity checks. */
  now: z.date().optional(),
  /** Sealed bodies larger than this are refused before any decoding (BODY_TOO_LARGE). */
  maxBodyBytes: z.number().int().positive().default(256 * 1024),
  /** Signed content larger than this is refused (YAML_LIMIT). */
  maxContentBytes: z.number().int().positive().default(64 * 1024),
});
export type OpenOptions = z.input<typeof openOptionsSchema>;

/** What open() returns. */
export interface OpenedMessage {
  /** The signed content as UTF-8 text: the YAML document. */
  yaml: string;
  /** The verified signer. */
  signer: Certificate;
  /** The trust path, signer first, anchor last. */
  chain: Certificate[];
  algorithms: AlgorithmsUsed;
}

/** Sign `content` (the YAML) then encrypt it; returns the S/MIME entity text. */
export function seal(content: string | Buffer, options: SealOptions): string {
  const o = parseOptions(sealOptionsSchema, options);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const signed = writePkcs7Mime(buildSignedData(bytes, o.signer, o.signingTime), 'signed-data');
  const envelope = buildEnvelope(Buffer.from(signed, 'latin1'), o.recipients, o.cipher);
  return writePkcs7Mime(envelope, o.cipher === 'aes-256-gcm' ? 'authEnveloped-data' : 'enveloped-data');
}

/** Decrypt, verify, check trust and freshness of the signer; returns the YAML and its signer. */
export function open(body: string | Buffer, options: OpenOptions): OpenedMessage {
  const o = parseOptions(openOptionsSchema, options);
  // A string is read as latin1, one byte per character: its length is its size in bytes.
  if (body.length > o.maxBodyBytes) {
    throw new WireError('BODY_TOO_LARGE', `the sealed body is ${body.length} bytes, over the ${o.maxBodyBytes}-byte limit`);
  }
  const envelope = openEnvelope(outerDer(asLatin1(body)), o.identity);
  const { verified, signedForm } = verifyInner(envelope.content);
  const chain = o.trust.verify(verified.signer, verified.certificates, o.now ?? new Date());
  return {
    yaml: contentText(verified.content, signedForm, o.maxContentBytes),
    signer: verified.signer,
    chain,
    algorithms: {
      contentEncryption: envelope.contentEncryption,
      keyManagement: envelope.keyManagement,
      signature: verified.signature,
      signedForm,
    },
  };
}

function parseOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  const result = schema.safeParse(options);
  if (!result.success) {
    const where = result.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new WireError('BAD_KEY', `invalid options: ${where}`);
  }
  return result.data;
}

/**
 * The outer envelope as DER: an S/MIME application/pkcs7-mime entity, or bare DER. Text (of
 * one-byte characters, asLatin1) is read as text: only the base64 decoder turns it into bytes.
 */
function outerDer(input: Buffer | string): Buffer {
  if (typeof input === 'string' ? input.charCodeAt(0) === 0x30 : input[0] === 0x30) {
    return typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  }
  const entity = parseEntity(input);
  if (!/^application\/(x-)?pkcs7-mime$/.test(entity.contentType.type)) {
    throw new WireError('NOT_ENCRYPTED', `the body is ${entity.contentType.type}, not an encrypted S/MIME entity`);
  }
  return decodeBody(entity);
}

/** The decrypted content is one of the three signed forms of the wire contract; anything else is UNSIGNED. */
function verifyInner(content: Buffer): { verified: VerifiedSignedData; signedForm: SignedForm } {
  if (content[0] === 0x30 && isSignedDataDer(content)) {
    return { verified: verifySignedData(content), signedForm: 'opaque-der' };
  }
  const entity = tryParseEntity(content);
  const type = entity?.contentType.type;
  if (entity && (type === 'application/pkcs7-mime' || type === 'application/x-pkcs7-mime')) {
    return { verified: verifySignedData(decodeBody(entity)), signedForm: 'opaque-smime' };
  }
  if (entity && type === 'multipart/signed') {
    return { verified: verifyMultipart(entity), signedForm: 'multipart-signed' };
  }
  throw new WireError('UNSIGNED', 'the decrypted content is not signed: refused');
}

function isSignedDataDer(content: Buffer): boolean {
  try {
    return contentTypeOf(content) === OID.signedData;
  } catch {
    return false;
  }
}

function tryParseEntity(content: Buffer): MimeEntity | undefined {
  try {
    return parseEntity(content);
  } catch {
    return undefined;
  }
}

const YAML_PART_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain']);

/**
 * Detached signature over the first part. S/MIME signs the canonical (CRLF) form; openssl writes
 * LF, so we verify the canonical form first and the bytes as received second (a -binary signer).
 */
function verifyMultipart(entity: MimeEntity): VerifiedSignedData {
  const { signedPart, signature } = splitMultipartSigned(entity);
  const part = parseEntity(signedPart);
  if (!YAML_PART_TYPES.has(part.contentType.type)) {
    throw new WireError('MALFORMED_MIME', `the signed part is ${part.contentType.type}; application/yaml or text/plain expected`);
  }
  let verified: VerifiedSignedData;
  try {
    verified = verifySignedData(signature, toCanonicalCrlf(signedPart));
  } catch (canonicalError) {
    if (!(canonicalError instanceof WireError) || canonicalError.code !== 'BAD_SIGNATURE') throw canonicalError;
    verified = verifySignedData(signature, signedPart);
  }
  return { ...verified, content: decodeBody(part) };
}

function contentText(content: Buffer, form: SignedForm, maxBytes: number): string {
  if (content.length > maxBytes) {
    throw new WireError('YAML_LIMIT', `the signed content is ${content.length} bytes, over the ${maxBytes}-byte limit`);
  }
  if (!isUtf8(content)) throw new WireError('YAML_INVALID', 'the signed content is not valid UTF-8');
  const text = content.toString('utf8');
  // MIME parts travel in canonical CRLF form; give back the local (LF) form of the text.
  return form === 'multipart-signed' ? text.replace(/\r\n/g, '\n') : text;
}
