/**
 * The S/MIME entity layer (RFC 8551 §3): MIME headers, a blank line, a transfer-encoded body.
 * We write exactly what `openssl cms` writes; we read LF or CRLF line endings, folded headers,
 * base64 / 7bit / 8bit / binary / quoted-printable bodies, and multipart/signed entities.
 */
import { WireError } from './errors.ts';

export interface ContentType {
  /** Lower-cased `type/subtype`. */
  type: string;
  /** Parameters with lower-cased names, unquoted values. */
  params: Record<string, string>;
}

export interface MimeEntity {
  headers: ReadonlyMap<string, string>;
  contentType: ContentType;
  /** The body as transmitted (before transfer decoding). */
  rawBody: Buffer;
}


/** Write DER as an S/MIME `application/pkcs7-mime` entity, byte-compatible with openssl cms. */
export function writePkcs7Mime(der: Buffer, smimeType: 'enveloped-data' | 'authEnveloped-data' | 'signed-data'): string {
  return (
    'MIME-Version: 1.0\n' +
    'Content-Disposition: attachment; filename="smime.p7m"\n' +
    `Content-Type: application/pkcs7-mime; smime-type=${smimeType}; name="smime.p7m"\n` +
    'Content-Transfer-Encoding: base64\n\n' +
    base64Lines(der) +
    '\n'
  );
}

function base64Lines(der: Buffer): string {
  const b64 = der.toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out;
}

/** Split an entity into headers and raw body. Header names are lower-cased. */
export function parseEntity(input: Buffer): MimeEntity {
  // Only the header block becomes a string; the body stays bytes (it is most of the entity).
  const end = headerEnd(input);
  if (!end) throw new WireError('MALFORMED_MIME', 'no blank line ends the MIME headers');
  const { headers, contentType } = parseHeaderBlock(input.toString('latin1', 0, end.index));
  return { headers, contentType, rawBody: input.subarray(end.bodyStart) };
}

/**
 * Headers and Content-Type of a header block. Senders write the same few header blocks on every
 * message, so parsed blocks are kept (bounded); the maps handed out are never modified.
 */
function parseHeaderBlock(block: string): { headers: ReadonlyMap<string, string>; contentType: ContentType } {
  const cached = headerBlocks.get(block);
  if (cached) return cached;
  const parsed = parseHeaderLines(block);
  if (headerBlocks.size < 256) headerBlocks.set(block, parsed);
  return parsed;
}

const headerBlocks = new Map<string, { headers: ReadonlyMap<string, string>; contentType: ContentType }>();

function parseHeaderLines(block: string): { headers: Map<string, string>; contentType: ContentType } {
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new WireError('MALFORMED_MIME', 'a MIME header line has no name');
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return { headers, contentType: parseContentType(headers.get('content-type') ?? 'text/plain') };
}

/** Where the header block ends (a line break, then an empty line; LF or CRLF), searched in bytes. */
function headerEnd(input: Buffer): { index: number; bodyStart: number } | undefined {
  for (let lf = input.indexOf(0x0a); lf !== -1; lf = input.indexOf(0x0a, lf + 1)) {
    const index = input[lf - 1] === 0x0d ? lf - 1 : lf;
    if (input[lf + 1] === 0x0a) return { index, bodyStart: lf + 2 };
    if (input[lf + 1] === 0x0d && input[lf + 2] === 0x0a) return { index, bodyStart: lf + 3 };
  }
  return undefined;
}

/** Parse a Content-Type value: `type/subtype; name=value; name="quoted value"`. */
export function parseContentType(value: string): ContentType {
  const [head = '', ...rest] = splitParams(value);
  const type = head.trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) {
    throw new WireError('MALFORMED_MIME', 'the Content-Type header is not type/subtype');
  }
  const params: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const raw = part.slice(eq + 1).trim();
    params[part.slice(0, eq).trim().toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { type, params };
}

function splitParams(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** The body of an entity with its Content-Transfer-Encoding undone. */
export function decodeBody(entity: MimeEntity): Buffer {
  const encoding = (entity.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  switch (encoding) {
    case 'base64':
      return decodeBase64(entity.rawBody);
    case '7bit':
    case '8bit':
    case 'binary':
      return entity.rawBody;
    case 'quoted-printable':
      return decodeQuotedPrintable(entity.rawBody.toString('latin1'));
    default:
      throw new WireError('MALFORMED_MIME', 'unknown Content-Transfer-Encoding (base64, 7bit, 8bit, binary or quoted-printable expected)');
  }
}

/**
 * Strict base64. Buffer.from silently skips characters outside the alphabet (and stops at a
 * misplaced `=`), which would hide corruption; either way it yields fewer bytes than a text of
 * that length must, and a truncated text is not a whole number of 4-character groups. So the
 * lengths alone tell, with no per-byte JavaScript and no second copy of the body.
 */
export function decodeBase64(body: Buffer): Buffer {
  let text = body.toString('latin1');
  for (const space of WHITESPACE) if (text.includes(space)) text = text.replaceAll(space, '');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const decoded = Buffer.from(text, 'base64');
  // Node also decodes the URL-safe alphabet; S/MIME never uses it.
  if (text.length % 4 !== 0 || decoded.length !== (text.length / 4) * 3 - padding || URL_SAFE.test(text)) {
    throw new WireError('MALFORMED_MIME', 'the base64 body is not valid base64 (characters outside the alphabet, truncated, or bad padding)');
  }
  return decoded;
}

const WHITESPACE = ['\n', '\r', ' ', '\t'] as const;
const URL_SAFE = /[-_]/;

function decodeQuotedPrintable(text: string): Buffer {
  const soft = text.replace(/=\r?\n/g, '');
  return Buffer.from(soft.replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

/** The two parts of a multipart/signed entity (RFC 8551 §3.5.3). */
export interface MultipartSigned {
  /** The first part exactly as transmitted: headers, blank line, body. */
  signedPart: Buffer;
  /** The detached signature (DER SignedData without content). */
  signature: Buffer;
}

/** Split a multipart/signed entity into the signed MIME part and the detached signature. */
export function splitMultipartSigned(entity: MimeEntity): MultipartSigned {
  const boundary = entity.contentType.params['boundary'];
  if (!boundary) throw new WireError('MALFORMED_MIME', 'multipart/signed without a boundary parameter');
  const body = entity.rawBody.toString('latin1');
  const delimiter = `--${boundary}`;
  // Each delimiter starts a line; the line break before it belongs to the delimiter (RFC 2046 §5.1.1).
  const parts: string[] = [];
  let at = body.startsWith(delimiter) ? 0 : body.indexOf(`\n${delimiter}`);
  while (at !== -1) {
    const lineStart = body[at] === '\n' ? at + 1 : at;
    const afterDelimiter = lineStart + delimiter.length;
    if (body.startsWith('--', afterDelimiter)) break; // close delimiter
    const contentStart = body.indexOf('\n', afterDelimiter);
    if (contentStart === -1) break;
    const next = body.indexOf(`\n${delimiter}`, contentStart);
    if (next === -1) throw new WireError('MALFORMED_MIME', 'multipart/signed is not closed by its boundary');
    const end = body[next - 1] === '\r' ? next - 1 : next;
    parts.push(body.slice(contentStart + 1, end));
    at = next;
  }
  if (parts.length !== 2) throw new WireError('MALFORMED_MIME', `multipart/signed must have 2 parts, found ${parts.length}`);
  const signaturePart = parseEntity(Buffer.from(parts[1] as string, 'latin1'));
  if (!/^application\/(x-)?pkcs7-signature$/.test(signaturePart.contentType.type)) {
    throw new WireError('MALFORMED_MIME', 'the second part of multipart/signed is not a PKCS#7 signature');
  }
  return { signedPart: Buffer.from(parts[0] as string, 'latin1'), signature: decodeBody(signaturePart) };
}

/** Canonical MIME form: every line break CRLF (what S/MIME signatures are computed over). */
export function toCanonicalCrlf(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
