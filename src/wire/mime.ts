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
  readonly headers: ReadonlyMap<string, string>;
  readonly contentType: ContentType;
  /** The body as transmitted (before transfer decoding). */
  readonly rawBody: Buffer;
  /** The same body as a latin1 string (one character per byte). */
  readonly rawText: string;
}

/**
 * An entity read from bytes or from text, whichever was given: the body is converted to the
 * other form only when asked for. Sealed bodies mostly arrive as text and are base64, which
 * node decodes from text, so the text is never copied into bytes and back.
 */
class Entity implements MimeEntity {
  #bytes: Buffer | undefined;
  #text: string | undefined;

  constructor(
    readonly headers: ReadonlyMap<string, string>,
    readonly contentType: ContentType,
    body: Buffer | string,
  ) {
    if (typeof body === 'string') this.#text = body;
    else this.#bytes = body;
  }

  get rawBody(): Buffer {
    this.#bytes ??= Buffer.from(this.#text as string, 'latin1');
    return this.#bytes;
  }

  get rawText(): string {
    this.#text ??= (this.#bytes as Buffer).toString('latin1');
    return this.#text;
  }
}

/** A string holding a character above U+00FF, which latin1 cannot hold as one byte. */
const NOT_LATIN1 = /[\u0100-\uffff]/;

/**
 * `input` as latin1 text when it is text already and every character is one byte, else as
 * bytes (a string with wider characters is converted as Buffer.from(…, 'latin1') does, so both
 * forms of one body always read the same). The check costs nothing on one-byte strings.
 */
export function asLatin1(input: Buffer | string): Buffer | string {
  return typeof input === 'string' && NOT_LATIN1.test(input) ? Buffer.from(input, 'latin1') : input;
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

/** Split an entity (bytes, or text of one-byte characters) into headers and raw body. Header names are lower-cased. */
export function parseEntity(source: Buffer | string): MimeEntity {
  // Only the header block becomes a string; the body stays as it came (it is most of the entity).
  const input = asLatin1(source);
  const end = typeof input === 'string' ? headerEndInText(input) : headerEnd(input);
  if (!end) throw new WireError('MALFORMED_MIME', 'no blank line ends the MIME headers');
  const block = typeof input === 'string' ? input.slice(0, end.index) : input.toString('latin1', 0, end.index);
  const { headers, contentType } = parseHeaderBlock(block);
  return new Entity(headers, contentType, typeof input === 'string' ? input.slice(end.bodyStart) : input.subarray(end.bodyStart));
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

/** headerEnd() over text of one-byte characters. */
function headerEndInText(input: string): { index: number; bodyStart: number } | undefined {
  for (let lf = input.indexOf('\n'); lf !== -1; lf = input.indexOf('\n', lf + 1)) {
    const index = input.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
    if (input.charCodeAt(lf + 1) === 0x0a) return { index, bodyStart: lf + 2 };
    if (input.charCodeAt(lf + 1) === 0x0d && input.charCodeAt(lf + 2) === 0x0a) return { index, bodyStart: lf + 3 };
  }
  return undefined;
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
      return decodeBase64(entity.rawText);
    case '7bit':
    case '8bit':
    case 'binary':
      return entity.rawBody;
    case 'quoted-printable':
      return decodeQuotedPrintable(entity.rawText);
    default:
      throw new WireError('MALFORMED_MIME', 'unknown Content-Transfer-Encoding (base64, 7bit, 8bit, binary or quoted-printable expected)');
  }
}

/**
 * Strict base64. Buffer.from silently skips characters outside the alphabet (and stops at a
 * misplaced `=`), which would hide corruption; either way it yields fewer bytes than a text of
 * that length must, and a truncated text is not a whole number of 4-character groups. So the
 * lengths alone tell, with no per-byte JavaScript and no copy of the body: line breaks and
 * other whitespace are counted, not removed (node skips them as it skips any character outside
 * the alphabet, so the decoded bytes are those of the text without them).
 */
export function decodeBase64(body: Buffer | string): Buffer {
  const text = typeof body === 'string' ? body : body.toString('latin1');
  let spaces = 0;
  for (const space of WHITESPACE) if (text.includes(space)) spaces += occurrences(text, space);
  const length = text.length - spaces;
  const last = lastNonSpace(text, text.length);
  const padding = text.charCodeAt(last) !== EQUALS ? 0 : text.charCodeAt(lastNonSpace(text, last)) === EQUALS ? 2 : 1;
  const decoded = Buffer.from(text, 'base64');
  // Node also decodes the URL-safe alphabet; S/MIME never uses it.
  if (length % 4 !== 0 || decoded.length !== (length / 4) * 3 - padding || text.includes('-') || text.includes('_')) {
    throw new WireError('MALFORMED_MIME', 'the base64 body is not valid base64 (characters outside the alphabet, truncated, or bad padding)');
  }
  return decoded;
}

const WHITESPACE = ['\n', '\r', ' ', '\t'] as const;
const EQUALS = 0x3d;

function occurrences(text: string, what: string): number {
  let n = 0;
  for (let at = text.indexOf(what); at !== -1; at = text.indexOf(what, at + 1)) n++;
  return n;
}

/** Index of the last character before `end` that is not whitespace (-1 if none). */
function lastNonSpace(text: string, end: number): number {
  let at = end - 1;
  while (at >= 0 && isSpace(text.charCodeAt(at))) at--;
  return at;
}

const isSpace = (c: number): boolean => c === 0x0a || c === 0x0d || c === 0x20 || c === 0x09;

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
  const body = entity.rawText;
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
