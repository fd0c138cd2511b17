/**
 * DER for the CMS code. Writing uses node-forge's ASN.1 encoder (typed builders below). Reading
 * uses a small lazy TLV reader over Buffer slices: a message's nested structures (certificates,
 * signed attributes) are only parsed when looked at, and their original bytes are at hand, so a
 * certificate is hashed and found in the cache without being re-encoded, and signed attributes
 * are verified over the bytes the signer sent. forge parsed everything eagerly into binary
 * strings and had to re-encode; see docs/benchmarks.md for what that cost.
 *
 * Every read checks the tag's form (SEQUENCE/SET constructed; INTEGER/OID/BOOLEAN/NULL
 * primitive) and fails with MALFORMED_CMS, never with an untyped exception.
 */
import forge from 'node-forge';
import { WireError } from './errors.ts';

const { asn1 } = forge;
/** A forge ASN.1 node, used only for building DER. */
export type Asn1 = forge.asn1.Asn1;

export const Tag = {
  BOOLEAN: 1,
  INTEGER: 2,
  BITSTRING: 3,
  OCTETSTRING: 4,
  NULL: 5,
  OID: 6,
  UTF8: 12,
  SEQUENCE: 16,
  SET: 17,
  UTCTIME: 23,
} as const;

const UNIVERSAL = 0;
const CONTEXT = 2;
const MAX_NESTING = 64;

const malformed = (what: string, problem: string) => new WireError('MALFORMED_CMS', `${what}: ${problem}`);

// ---- reading ----------------------------------------------------------------------------

/**
 * One TLV of a DER/BER encoding. It holds offsets into the message; `raw`, `content` and the
 * children are made on first use (most nodes of a message are never looked at that closely).
 */
export class DerNode {
  private parsedChildren: DerNode[] | undefined;
  /** depth × 8 + tag class × 2 + constructed: one field instead of three (a message makes ~70 nodes). */
  private readonly bits: number;

  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly contentStart: number,
    /** End of the value bytes (for indefinite lengths: before the end-of-contents octets). */
    private readonly contentEnd: number,
    /** Offset just past this TLV in the buffer it was read from. */
    readonly end: number,
    tagClass: number,
    readonly type: number,
    constructed: boolean,
    depth: number,
  ) {
    this.bits = depth * 8 + tagClass * 2 + (constructed ? 1 : 0);
  }

  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  get tagClass(): number {
    return (this.bits >> 1) & 3;
  }

  get constructed(): boolean {
    return (this.bits & 1) === 1;
  }

  private get depth(): number {
    return this.bits >> 3;
  }

  /** The whole TLV as received. */
  get raw(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /** The value bytes (a new slice each time: hold on to it rather than asking twice). */
  get content(): Buffer {
    return this.buf.subarray(this.contentStart, this.contentEnd);
  }

  /** Bytes the whole TLV takes. */
  get length(): number {
    return this.end - this.start;
  }

  /** Bytes the value takes (without making a slice of them). */
  get contentLength(): number {
    return this.contentEnd - this.contentStart;
  }

  /** The value bytes as a latin1 string (a map key), without making a slice of them. */
  contentText(): string {
    return this.buf.toString('latin1', this.contentStart, this.contentEnd);
  }

  /** The value as an unsigned big-endian number (1 to 6 bytes; the caller checks the length). */
  contentUInt(): number {
    return this.buf.readUIntBE(this.contentStart, this.contentEnd - this.contentStart);
  }

  /** The first value byte (undefined when the value is empty). */
  get firstContentByte(): number | undefined {
    return this.contentEnd > this.contentStart ? this.buf[this.contentStart] : undefined;
  }

  /** The nested TLVs of a constructed value. */
  children(what: string): DerNode[] {
    if (!this.constructed) throw malformed(what, 'expected a constructed value');
    if (!this.parsedChildren) {
      const items: DerNode[] = [];
      for (let offset = this.contentStart; offset < this.contentEnd; ) {
        const item = readTlv(this.buf, offset, this.contentEnd, what, this.depth + 1);
        items.push(item);
        offset = item.end;
      }
      this.parsedChildren = items;
    }
    return this.parsedChildren;
  }
}

/** Parse one DER (or BER) value that must span the whole input. */
export function parseDer(der: Buffer, what: string): DerNode {
  const node = readTlv(der, 0, der.length, what, 0);
  if (node.length !== der.length) throw malformed(what, 'trailing bytes after the value');
  return node;
}

/** One TLV starting at `start`, which must end by `limit` (its parent's end). */
function readTlv(buf: Buffer, start: number, limit: number, what: string, depth: number): DerNode {
  if (depth > MAX_NESTING) throw malformed(what, 'nested too deeply');
  let at = start;
  if (at >= limit) throw malformed(what, 'truncated (no tag)');
  const first = buf[at++] as number;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let type = first & 0x1f;
  if (type === 0x1f) {
    type = 0;
    for (let b = 0x80; b & 0x80; ) {
      if (at >= limit || at - start > 5) throw malformed(what, 'bad tag number');
      b = buf[at++] as number;
      type = type * 128 + (b & 0x7f);
    }
  }
  if (at >= limit) throw malformed(what, 'truncated (no length)');
  const lengthByte = buf[at++] as number;
  if (lengthByte === 0x80) return readIndefinite(buf, start, at, limit, { tagClass, type, constructed }, what, depth);
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count > 4 || at + count > limit) throw malformed(what, 'bad length');
    length = buf.readUIntBE(at, count);
    at += count;
  }
  if (at + length > limit) throw malformed(what, 'truncated value');
  return new DerNode(buf, start, at, at + length, at + length, tagClass, type, constructed, depth);
}

/** BER indefinite length (some S/MIME producers stream): children up to the 00 00 marker. */
function readIndefinite(buf: Buffer, start: number, contentStart: number, limit: number, tag: { tagClass: number; type: number; constructed: boolean }, what: string, depth: number): DerNode {
  if (!tag.constructed) throw malformed(what, 'indefinite length on a primitive value');
  let at = contentStart;
  while (!(buf[at] === 0 && buf[at + 1] === 0 && at + 1 < limit)) {
    if (at >= limit) throw malformed(what, 'indefinite length without end-of-contents');
    at = readTlv(buf, at, limit, what, depth + 1).end;
  }
  return new DerNode(buf, start, contentStart, at, at + 2, tag.tagClass, tag.type, true, depth);
}

/** A cursor over the children of a constructed value, failing with MALFORMED_CMS. */
export class Reader {
  private index = 0;
  private readonly items: DerNode[];

  constructor(
    node: DerNode,
    private readonly what: string,
  ) {
    this.items = node.children(what);
  }

  /** The next child, which must be the universal type `type` in its proper form. */
  next(type: number, label: string): DerNode {
    const item = this.items[this.index];
    if (!item || !isUniversal(item, type)) throw malformed(this.what, `missing or malformed ${label}`);
    this.index++;
    return item;
  }

  /** The next child if it is context tag `[n]`, else undefined (OPTIONAL fields). */
  optionalContext(n: number): DerNode | undefined {
    const item = this.items[this.index];
    if (item && isContext(item, n)) {
      this.index++;
      return item;
    }
    return undefined;
  }

  /** The next child whatever it is (CHOICE fields). */
  any(label: string): DerNode {
    const item = this.items[this.index];
    if (!item) throw malformed(this.what, `missing ${label}`);
    this.index++;
    return item;
  }

  /** The next child without moving past it (undefined at the end). */
  peek(): DerNode | undefined {
    return this.items[this.index];
  }

  get remaining(): DerNode[] {
    return this.items.slice(this.index);
  }
}

/** Is `node` the universal type `type`, in the form DER requires for it? */
export function isUniversal(node: DerNode, type: number): boolean {
  if (node.tagClass !== UNIVERSAL || node.type !== type) return false;
  switch (type) {
    case Tag.SEQUENCE:
    case Tag.SET:
      return node.constructed; // MUST_BE_CONSTRUCTED
    case Tag.BOOLEAN:
    case Tag.INTEGER:
    case Tag.NULL:
    case Tag.OID:
      return !node.constructed; // MUST_BE_PRIMITIVE
    default:
      return true;
  }
}

export const isContext = (node: DerNode, n: number): boolean => node.tagClass === CONTEXT && node.type === n;

/** The single child of an EXPLICIT `[n]` wrapper (or of any constructed value). */
export function explicitInner(node: DerNode, label: string): DerNode {
  const inner = node.children(label)[0];
  if (!inner) throw malformed(label, 'empty explicit tag');
  return inner;
}

export function readOid(node: DerNode, label: string): string {
  if (!isUniversal(node, Tag.OID) || node.contentLength === 0 || node.contentLength > 64) throw malformed(label, 'expected an OID');
  const key = node.contentText();
  let dotted = oidCache.get(key);
  if (dotted === undefined) {
    dotted = decodeOid(node.content);
    if (dotted === undefined) throw malformed(label, 'bad OID encoding');
    // A message names a dozen OIDs, nearly always the same ones; the bound keeps junk from growing it.
    if (oidCache.size < 1024) oidCache.set(key, dotted);
  }
  return dotted;
}

const oidCache = new Map<string, string>();

/**
 * The dotted form of an OID's content octets, or undefined when they are not a minimal base-128
 * encoding (X.690 8.19). Arcs are read as BigInt: UUID arcs (`2.25.<128-bit integer>`, X.667),
 * such as paygate's signer roles, exceed what node-forge's 32-bit decoder can read.
 */
function decodeOid(content: Buffer): string | undefined {
  const arcs: bigint[] = [];
  let value = 0n;
  let started = false;
  for (const byte of content) {
    if (!started && byte === 0x80) return undefined; // a leading 0x80 is a non-minimal encoding
    started = true;
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
      started = false;
    }
  }
  const first = arcs.shift();
  if (first === undefined || started) return undefined; // empty, or the last arc is unfinished
  const root = first < 40n ? 0n : first < 80n ? 1n : 2n;
  return [root, first - root * 40n, ...arcs].join('.');
}

/** A small non-negative INTEGER (versions, lengths): 1 to 6 content bytes. */
export function readInt(node: DerNode, label: string): number {
  const n = node.contentLength;
  if (!isUniversal(node, Tag.INTEGER) || n < 1 || n > 6 || (node.firstContentByte ?? 0) & 0x80) {
    throw malformed(label, 'expected a small non-negative INTEGER');
  }
  return node.contentUInt();
}

/** OCTET STRING content, primitive or BER-constructed (chunks concatenated). Also for IMPLICIT tags. */
export function readOctets(node: DerNode, label: string): Buffer {
  if (!node.constructed) return node.content;
  return Buffer.concat(node.children(label).map((chunk) => readOctets(chunk, label)));
}

/** An AlgorithmIdentifier: its OID and its parameters, if any (NULL counts as absent). */
export function readAlgorithm(node: DerNode, label: string): { oid: string; params: DerNode | undefined } {
  const r = new Reader(node, label);
  const id = readOid(r.next(Tag.OID, 'algorithm'), label);
  const params = r.peek();
  const absent = !params || isUniversal(params, Tag.NULL);
  return { oid: id, params: absent ? undefined : params };
}

// ---- building (forge) -------------------------------------------------------------------

const U = asn1.Class.UNIVERSAL;
const C = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

export const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, items);
export const oid = (dotted: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(dotted).getBytes());
export const int = (n: number): Asn1 => asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes());
export const octets = (b: Buffer): Asn1 => asn1.create(U, T.OCTETSTRING, false, b.toString('binary'));
export const bitString = (b: Buffer): Asn1 => asn1.create(U, T.BITSTRING, false, '\x00' + b.toString('binary'));
export const nullValue = (): Asn1 => asn1.create(U, T.NULL, false, '');
export const utcTime = (d: Date): Asn1 => asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d));
/** `[n]` EXPLICIT wrapper, or IMPLICIT constructed when `items` replace the inner tag. */
export const ctx = (n: number, items: Asn1[]): Asn1 => asn1.create(C, n, true, items);
/** `[n]` IMPLICIT primitive (e.g. encryptedContent [0] IMPLICIT OCTET STRING). */
export const ctxPrimitive = (n: number, b: Buffer): Asn1 => asn1.create(C, n, false, b.toString('binary'));
/** AlgorithmIdentifier with absent parameters, or with the given ones. */
export const algorithm = (dotted: string, params?: Asn1): Asn1 => seq(params ? [oid(dotted), params] : [oid(dotted)]);

/** A pre-encoded DER value (a certificate, a Name) as a forge node, to embed in what we build. */
export function embed(der: Buffer): Asn1 {
  // @types/node-forge only knows the old boolean `strict` argument; forge 1.x takes options.
  const options = { strict: true, parseAllBytes: true, decodeBitStrings: false } as unknown as boolean;
  return asn1.fromDer(der.toString('binary'), options);
}

/** `content` under a single-byte tag with a DER length (e.g. signed attributes re-tagged as SET). */
export function withTag(tagByte: number, content: Buffer): Buffer {
  const n = content.length;
  const lengthBytes: number[] = [];
  for (let v = n; v > 0 && n >= 0x80; v = Math.floor(v / 256)) lengthBytes.unshift(v & 0xff);
  const head = 2 + lengthBytes.length;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = tagByte;
  out[1] = n < 0x80 ? n : 0x80 | lengthBytes.length;
  lengthBytes.forEach((b, i) => (out[2 + i] = b));
  content.copy(out, head);
  return out;
}
