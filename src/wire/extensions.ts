/**
 * The X.509 v3 extensions that trust decisions depend on, read once per certificate:
 * subjectKeyIdentifier (CMS recipient and signer ids), basicConstraints (who may issue, and how
 * deep), keyUsage and extendedKeyUsage (what a key may be used for).
 */
import { explicitInner, isContext, isUniversal, parseDer, readInt, readOctets, readOid, Reader, Tag, type DerNode } from './der.ts';

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
export function readExtensions(tbsRest: DerNode[]): CertificateExtensions {
  const result: CertificateExtensions = { subjectKeyId: undefined, isCa: false, pathLength: undefined, keyUsage: undefined, extKeyUsage: undefined };
  const wrapper = tbsRest.find((node) => isContext(node, 3));
  if (!wrapper) return result;
  for (const ext of new Reader(explicitInner(wrapper, 'extensions'), 'extensions').remaining) {
    const r = new Reader(ext, 'extension');
    const id = readOid(r.next(Tag.OID, 'extnID'), 'extension');
    const valueNode = r.remaining.at(-1);
    if (!valueNode || !isUniversal(valueNode, Tag.OCTETSTRING)) continue;
    const value = () => parseDer(readOctets(valueNode, 'extnValue'), id);
    if (id === OIDS.subjectKeyIdentifier) result.subjectKeyId = readOctets(value(), 'subjectKeyIdentifier');
    else if (id === OIDS.basicConstraints) Object.assign(result, basicConstraints(value()));
    else if (id === OIDS.keyUsage) result.keyUsage = keyUsage(value());
    else if (id === OIDS.extKeyUsage) result.extKeyUsage = new Set(value().children('extKeyUsage').map((o) => readOid(o, 'extKeyUsage')));
  }
  return result;
}

function basicConstraints(node: DerNode): { isCa: boolean; pathLength: number | undefined } {
  let isCa = false;
  let pathLength: number | undefined;
  for (const field of node.children('basicConstraints')) {
    if (isUniversal(field, Tag.BOOLEAN)) isCa = field.content[0] !== undefined && field.content[0] !== 0;
    if (isUniversal(field, Tag.INTEGER)) pathLength = readInt(field, 'pathLenConstraint');
  }
  return { isCa, pathLength };
}

function keyUsage(node: DerNode): Set<KeyUsage> {
  const bytes = node.content.subarray(1); // first byte: unused bits
  const set = new Set<KeyUsage>();
  KEY_USAGE_BITS.forEach((name, bit) => {
    const byte = bytes[bit >> 3] ?? 0;
    if (byte & (0x80 >> (bit & 7))) set.add(name);
  });
  return set;
}
