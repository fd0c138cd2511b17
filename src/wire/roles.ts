/**
 * Signer roles. Every paygate certificate says what it is for in its extendedKeyUsage: a
 * client (signs requests), a gateway (signs replies) or a feed (signs feed checkpoints). The
 * purposes are paygate's own OIDs under a UUID arc (ITU-T X.667, `2.25.<uuid>`), so no
 * registration is needed and no other software gives them meaning; they sit next to
 * emailProtection, which OpenSSL's S/MIME tools require of a signer.
 *
 * Trust alone (the signature chains to the CA) says "one of ours"; the role says "allowed to say
 * this". Without it a gateway's certificate could sign requests and a client's could sign
 * replies. A deployment with its own PKI configures which OIDs stand for which role (for
 * example clientAuth for clients), or none to switch the check off.
 */
import { WireError } from './errors.ts';
import type { Certificate } from './x509.ts';

/** The arc paygate's OIDs live under: `2.25.` and the UUID e4bb64fa-9024-45d6-a532-a7e099513cc0 as an integer. */
export const PAYGATE_OID_ARC = '2.25.304036990644117518068304133342800985280';

/** The extendedKeyUsage purpose of each signer role. */
export const SIGNER_ROLE_OIDS = {
  client: `${PAYGATE_OID_ARC}.1.1`,
  gateway: `${PAYGATE_OID_ARC}.1.2`,
  feed: `${PAYGATE_OID_ARC}.1.3`,
} as const;

/** A signer role: who may sign what. */
export type SignerRole = keyof typeof SIGNER_ROLE_OIDS;

/** The roles a certificate carries (paygate's OIDs found in its extendedKeyUsage). */
export function signerRolesOf(certificate: Certificate): SignerRole[] {
  const eku = certificate.extensions.extKeyUsage;
  if (eku === undefined) return [];
  return (Object.keys(SIGNER_ROLE_OIDS) as SignerRole[]).filter((role) => eku.has(SIGNER_ROLE_OIDS[role]));
}

/**
 * Checks that `certificate` carries one of `acceptedOids` in its extendedKeyUsage. An empty list
 * accepts any certificate (the check is off).
 *
 * @param role what the signer must be, for the message (`client`, `gateway`, …).
 * @throws WireError `WRONG_SIGNER_ROLE` naming the subject and the role expected, never content.
 */
export function requireSignerRole(certificate: Certificate, acceptedOids: readonly string[], role: string): void {
  if (acceptedOids.length === 0) return;
  const eku = certificate.extensions.extKeyUsage;
  if (eku !== undefined && acceptedOids.some((oid) => eku.has(oid))) return;
  const has = signerRolesOf(certificate);
  const what = has.length > 0 ? `a ${has.join('/')} certificate` : 'a certificate without a paygate role';
  throw new WireError('WRONG_SIGNER_ROLE', `signer ${certificate.subject} is ${what}; only a ${role} certificate may sign this`);
}
