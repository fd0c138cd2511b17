/**
 * Trust decisions about a signer: does its certificate chain to one of our anchors (or is it
 * pinned), and is every certificate on the path inside its validity period right now?
 */
import { WireError } from './errors.ts';
import { Certificate } from './x509.ts';

const MAX_PATH = 6;

/**
 * A set of trust anchors (CA certificates or pinned leaf certificates).
 *
 * Verified paths are cached per signer so that the per-message cost is a map lookup and a
 * date comparison; the validity period is always checked against the caller's clock.
 */
export class TrustStore {
  private readonly anchors: Certificate[];
  private readonly paths = new Map<string, Certificate[]>();

  constructor(anchors: Iterable<string | Buffer | Certificate>) {
    this.anchors = [...anchors].flatMap((a) => (a instanceof Certificate ? [a] : Certificate.allFromPem(a)));
    if (this.anchors.length === 0) throw new WireError('BAD_KEY', 'a trust store needs at least one certificate');
  }

  /**
   * Check that `signer` chains to an anchor, through `intermediates` if needed, and that every
   * certificate on the path is valid at `now`. Returns the path, signer first.
   */
  verify(signer: Certificate, intermediates: readonly Certificate[], now: Date = new Date()): Certificate[] {
    let path = this.paths.get(signer.fingerprint);
    if (!path) {
      path = this.buildPath(signer, intermediates);
      if (this.paths.size >= 1024) this.paths.clear();
      this.paths.set(signer.fingerprint, path);
    }
    for (const cert of path) {
      if (now < cert.notBefore || now > cert.notAfter) {
        const when = now > cert.notAfter ? `expired on ${cert.notAfter.toISOString()}` : `not valid before ${cert.notBefore.toISOString()}`;
        throw new WireError('CERT_EXPIRED', `certificate ${cert.subject} ${when}`);
      }
    }
    return path;
  }

  private buildPath(signer: Certificate, intermediates: readonly Certificate[]): Certificate[] {
    if (!signer.canSignMessages) {
      throw new WireError('UNTRUSTED_SIGNER', `certificate ${signer.subject} is not allowed to sign messages (keyUsage/extendedKeyUsage)`);
    }
    const path = [signer];
    let current = signer;
    for (let depth = 0; depth < MAX_PATH; depth++) {
      if (this.anchors.some((a) => a.fingerprint === current.fingerprint)) return path; // pinned or an anchor itself
      const anchor = this.anchors.find((a) => issued(a, current, path.length - 1));
      if (anchor) return [...path, anchor];
      const next = intermediates.find((c) => c.fingerprint !== current.fingerprint && issued(c, current, path.length - 1));
      if (!next) break;
      path.push(next);
      current = next;
    }
    throw new WireError('UNTRUSTED_SIGNER', `signer ${signer.subject} does not chain to a trusted certificate`);
  }
}

/**
 * Did `issuer` issue `subject`, and may it? `below` counts the CA certificates already between
 * the issuer and the signer, which its pathLenConstraint bounds (RFC 5280 §4.2.1.9).
 */
function issued(issuer: Certificate, subject: Certificate, below: number): boolean {
  const pathLength = issuer.extensions.pathLength;
  if (!issuer.canIssue || (pathLength !== undefined && below > pathLength)) return false;
  return subject.x509.checkIssued(issuer.x509) && subject.x509.verify(issuer.publicKey);
}
