/**
 * Small typed helpers over node-forge's ASN.1 codec, so the CMS code reads as structure rather
 * than tag arithmetic. forge works on "binary strings" (one char per byte); these helpers keep
 * that detail here and give Buffers to everyone else.
 */
import forge from 'node-forge';
import { WireError } from './errors.ts';

const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

const UNIVERSAL = asn1.Class.UNIVERSAL;
const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

/** Parse one DER (or BER) value that must span the whole input. */
export function parseDer(der: Buffer, what: string): Asn1 {
  try {
    // @types/node-forge only knows the old boolean `strict` argument; forge 1.x takes options.
    const options = { strict: true, parseAllBytes: true, decodeBitStrings: false } as unknown as boolean;
    return asn1.fromDer(der.toString('binary'), options);
  } catch (cause) {
    throw new WireError('MALFORMED_CMS', `${what} is not valid DER`, { cause });
  }
}

export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

/** The raw bytes of a primitive value (forge keeps them as a binary string). */
export function bytesOf(node: Asn1): Buffer {
  return Buffer.from(node.value as string, 'binary');
}

// ---- builders ---------------------------------------------------------------------------

export const seq = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SET, true, items);
export const oid = (dotted: string): Asn1 =>
  asn1.create(UNIVERSAL, T.OID, false, asn1.oidToDer(dotted).getBytes());
export const int = (n: number): Asn1 => asn1.create(UNIVERSAL, T.INTEGER, false, asn1.integerToDer(n).getBytes());
export const octets = (b: Buffer): Asn1 => asn1.create(UNIVERSAL, T.OCTETSTRING, false, b.toString('binary'));
export const bitString = (b: Buffer): Asn1 =>
  asn1.create(UNIVERSAL, T.BITSTRING, false, '\x00' + b.toString('binary'));
export const nullValue = (): Asn1 => asn1.create(UNIVERSAL, T.NULL, false, '');
export const utcTime = (d: Date): Asn1 => asn1.create(UNIVERSAL, T.UTCTIME, false, asn1.dateToUtcTime(d));
/** `[n]` EXPLICIT wrapper, or IMPLICIT constructed when `items` replace the inner tag. */
export const ctx = (n: number, items: Asn1[]): Asn1 => asn1.create(CONTEXT, n, true, items);
/** `[n]` IMPLICIT primitive (e.g. encryptedContent [0] IMPLICIT OCTET STRING). */
export const ctxPrimitive = (n: number, b: Buffer): Asn1 => asn1.create(CONTEXT, n, false, b.toString('binary'));
/** A whole pre-encoded DER value, re-parsed so it can be embedded (certificates, names). */
export const raw = (der: Buffer): Asn1 => parseDer(der, 'embedded value');
/** AlgorithmIdentifier with absent parameters, or with the given ones. */
export const algorithm = (dotted: string, params?: Asn1): Asn1 => seq(params ? [oid(dotted), params] : [oid(dotted)]);

// ---- readers ----------------------------------------------------------------------------

/** A cursor over the children of a constructed value, failing with MALFORMED_CMS. */
export class Reader {
  private index = 0;
  private readonly items: Asn1[];

  constructor(
    node: Asn1,
    private readonly what: string,
  ) {
    if (!Array.isArray(node.value)) throw new WireError('MALFORMED_CMS', `${what}: expected a constructed value`);
    this.items = node.value;
  }

  /** The next child, which must have the universal type `type`. */
  next(type: number, label: string): Asn1 {
    const item = this.items[this.index];
    if (!item || item.tagClass !== UNIVERSAL || item.type !== type) {
      throw new WireError('MALFORMED_CMS', `${this.what}: missing or malformed ${label}`);
    }
    this.index++;
    return item;
  }

  /** The next child if it is context tag `[n]`, else undefined (OPTIONAL fields). */
  optionalContext(n: number): Asn1 | undefined {
    const item = this.items[this.index];
    if (item && item.tagClass === CONTEXT && item.type === n) {
      this.index++;
      return item;
    }
    return undefined;
  }

  /** The next child whatever it is (CHOICE fields). */
  any(label: string): Asn1 {
    const item = this.items[this.index];
    if (!item) throw new WireError('MALFORMED_CMS', `${this.what}: missing ${label}`);
    this.index++;
    return item;
  }

  get remaining(): Asn1[] {
    return this.items.slice(this.index);
  }
}

export const isContext = (node: Asn1, n: number): boolean => node.tagClass === CONTEXT && node.type === n;

export function readOid(node: Asn1, label: string): string {
  if (node.tagClass !== UNIVERSAL || node.type !== T.OID) throw new WireError('MALFORMED_CMS', `${label}: expected an OID`);
  return asn1.derToOid(node.value as string);
}

export function readInt(node: Asn1, label: string): number {
  if (node.tagClass !== UNIVERSAL || node.type !== T.INTEGER) throw new WireError('MALFORMED_CMS', `${label}: expected an INTEGER`);
  return asn1.derToInteger(node.value as string);
}

/** OCTET STRING content, primitive or BER-constructed (chunks concatenated). */
export function readOctets(node: Asn1, label: string): Buffer {
  if (Array.isArray(node.value)) return Buffer.concat(node.value.map((chunk) => readOctets(chunk, label)));
  if (typeof node.value !== 'string') throw new WireError('MALFORMED_CMS', `${label}: expected an OCTET STRING`);
  return bytesOf(node);
}

/** An AlgorithmIdentifier: its OID and its parameters node, if any. */
export function readAlgorithm(node: Asn1, label: string): { oid: string; params: Asn1 | undefined } {
  const r = new Reader(node, label);
  const id = readOid(r.next(T.OID, 'algorithm'), label);
  const params = r.remaining[0];
  const absent = !params || (params.tagClass === UNIVERSAL && params.type === T.NULL);
  return { oid: id, params: absent ? undefined : params };
}

export { T as Tag };
