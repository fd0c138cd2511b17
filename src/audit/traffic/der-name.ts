/**
 * X.509 names and serial numbers as the scan reports them, read straight from the DER a CMS
 * recipient carries (src/wire/x509.ts only hands out Node's own rendering of whole
 * certificates). Every value comes from a captured message, so it is hostile: rendering is
 * bounded in length and escapes anything unprintable.
 */
import { isUniversal, readOid, Reader, Tag, type DerNode } from '../../wire/der.ts';

/** Short names of the attribute types RFC 4514 §3 lists, plus the usual e-mail and serial ones. */
const ATTRIBUTE_NAMES: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.5', 'serialNumber'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.9', 'STREET'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['1.2.840.113549.1.9.1', 'emailAddress'],
]);

/** A rendered name longer than this is cut (a hostile name can be megabytes). */
export const MAX_NAME_CHARS = 512;

/** Universal string types whose content is text: UTF8, Printable, IA5, Teletex (read as latin1), BMP, Universal. */
const TEXT_TYPES: ReadonlyMap<number, 'utf8' | 'latin1' | 'ucs2' | 'ucs4'> = new Map([
  [12, 'utf8'], [19, 'latin1'], [22, 'latin1'], [20, 'latin1'], [26, 'latin1'], [30, 'ucs2'], [28, 'ucs4'],
]);

/**
 * The RFC 4514 string of a DER Name (most significant RDN last, as RFC 4514 writes it). Throws
 * WireError MALFORMED_CMS when the node is not a Name.
 */
export function dnString(name: DerNode): string {
  const rdns = name.children('Name').map((rdn) => {
    if (!isUniversal(rdn, Tag.SET)) return '#malformed';
    return rdn.children('RelativeDistinguishedName').map(attribute).join('+');
  });
  const text = rdns.reverse().join(',');
  return text.length > MAX_NAME_CHARS ? `${text.slice(0, MAX_NAME_CHARS)}…` : text;
}

function attribute(atv: DerNode): string {
  const r = new Reader(atv, 'AttributeTypeAndValue');
  const type = readOid(r.next(Tag.OID, 'type'), 'AttributeTypeAndValue');
  const value = r.any('value');
  const name = ATTRIBUTE_NAMES.get(type) ?? type;
  const encoding = value.tagClass === 0 && !value.constructed ? TEXT_TYPES.get(value.type) : undefined;
  if (encoding === undefined) return `${name}=#${value.raw.subarray(0, MAX_NAME_CHARS).toString('hex')}`;
  return `${name}=${escapeValue(decodeText(value.content, encoding))}`;
}

function decodeText(bytes: Buffer, encoding: 'utf8' | 'latin1' | 'ucs2' | 'ucs4'): string {
  const cut = bytes.subarray(0, MAX_NAME_CHARS * 4);
  if (encoding === 'utf8' || encoding === 'latin1') return cut.toString(encoding);
  if (encoding === 'ucs2') return Buffer.from(cut).swap16().toString('utf16le');
  let text = '';
  for (let at = 0; at + 4 <= cut.length; at += 4) {
    const code = cut.readUInt32BE(at);
    text += code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
  }
  return text;
}

/** RFC 4514 §2.4 escaping, plus `\XX` for control characters so that a name never breaks a line or a terminal. */
function escapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if (',+"\\<>;='.includes(ch)) out += `\\${ch}`;
    else if ((i === 0 && (ch === '#' || ch === ' ')) || (i === value.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** A serial number INTEGER as lower-case hex without leading zeros (`0` for zero). */
export function serialHex(serial: DerNode): string {
  const hex = serial.content.subarray(0, 64).toString('hex').replace(/^0+/, '');
  return hex === '' ? '0' : hex;
}
