/**
 * The X.509 v3 extensions that trust decisions depend on, read once per certificate:
 * subjectKeyIdentifier (CMS recipient and signer ids), basicConstraints (who may issue, and how
 * deep), keyUsage and extendedKeyUsage (what a key may be used for).
 */
import { isContext, parseDer, readOctets, readOid, Reader, Tag, type Asn1 } from './der.ts';

const OIDS = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
} as const;

export const KEY_USAGE_BITS = [
  'digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign',
  'encipherOnly', 'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGE_BITS)[number];

export const EKU = {
  emailProtection: '1.3.6.1.5.5.7.3.4',
  any: '2.5.29.37.0',
} as const;

export interface CertificateExtensions {
  subjectKeyId: Buffer | undefined;
  /** basicConstraints cA (false when the extension is absent). */
  isCa: boolean;
  /** basicConstraints pathLenConstraint, when set. */
  pathLength: number | undefined;
  /** keyUsage bits, or undefined when the extension is absent (any use allowed). */
  keyUsage: ReadonlySet<KeyUsage> | undefined;
  /** extendedKeyUsage OIDs, or undefined when the extension is absent (any purpose allowed). */
  extKeyUsage: ReadonlySet<string> | undefined;
}

/** Read the extensions from the TBSCertificate fields after subjectPublicKeyInfo. */
export function readExtensions(tbsRest: Asn1[]): CertificateExtensions {
  const result: CertificateExtensions = { subjectKeyId: undefined, isCa: false, pathLength: undefined, keyUsage: undefined, extKeyUsage: undefined };
  const wrapper = tbsRest.find((node) => isContext(node, 3));
  const list = wrapper && Array.isArray(wrapper.value) ? wrapper.value[0] : undefined;
  if (!list || !Array.isArray(list.value)) return result;
  for (const ext of list.value) {
    const r = new Reader(ext, 'extension');
    const id = readOid(r.next(Tag.OID, 'extnID'), 'extension');
    const valueNode = r.remaining.at(-1);
    if (!valueNode) continue;
    const value = () => parseDer(readOctets(valueNode, 'extnValue'), id);
    if (id === OIDS.subjectKeyIdentifier) result.subjectKeyId = readOctets(value(), 'subjectKeyIdentifier');
    else if (id === OIDS.basicConstraints) Object.assign(result, basicConstraints(value()));
    else if (id === OIDS.keyUsage) result.keyUsage = keyUsage(value());
    else if (id === OIDS.extKeyUsage) result.extKeyUsage = new Set((value().value as Asn1[]).map((o) => readOid(o, 'extKeyUsage')));
  }
  return result;
}

function basicConstraints(node: Asn1): { isCa: boolean; pathLength: number | undefined } {
  let isCa = false;
  let pathLength: number | undefined;
  for (const field of node.value as Asn1[]) {
    if (field.type === Tag.BOOLEAN) isCa = (field.value as string) !== '\x00';
    if (field.type === Tag.INTEGER) pathLength = Buffer.from(field.value as string, 'binary').readUIntBE(0, Math.min(6, (field.value as string).length));
  }
  return { isCa, pathLength };
}

function keyUsage(node: Asn1): Set<KeyUsage> {
  const bytes = Buffer.from(node.value as string, 'binary').subarray(1); // first byte: unused bits
  const set = new Set<KeyUsage>();
  KEY_USAGE_BITS.forEach((name, bit) => {
    const byte = bytes[bit >> 3] ?? 0;
    if (byte & (0x80 >> (bit & 7))) set.add(name);
  });
  return set;
}
