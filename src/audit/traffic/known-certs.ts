/**
 * The certificates given to the scan (`--certs`): the recipients a deployment expects, and the
 * certificate inventory of the report (subject, issuer, serial, fingerprint, validity, days to
 * expiry). A recipient is recognised by its issuer and serial (the DER bytes, not a rendering) or
 * by its subjectKeyIdentifier.
 */
import { AuditError } from '../errors.ts';
import { parseDer, Reader, Tag } from '../../wire/der.ts';
import { Certificate } from '../../wire/index.ts';
import { dnString, serialHex } from './der-name.ts';
import { issuerSerialKey } from './envelope-facts.ts';
import type { CertificateInventoryRow } from './scan-report.ts';

const DAY_MS = 86_400_000;

/** One known certificate. */
export interface KnownCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly sha256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Recipient keys naming it (issuer and serial, and its subjectKeyIdentifier when it has one). */
  readonly keys: readonly string[];
}

/** The known certificates, looked up by recipient key. */
export class KnownCertificates {
  readonly all: readonly KnownCertificate[];
  readonly #byKey = new Map<string, KnownCertificate>();

  constructor(inputs: readonly (string | Buffer)[]) {
    const seen = new Set<string>();
    const all: KnownCertificate[] = [];
    inputs.forEach((input, index) => {
      let certificates: Certificate[];
      try {
        certificates = Certificate.allFromPem(input);
      } catch (error) {
        throw new AuditError('AUDIT_BAD_OPTION', `certificates[${index}] is not a certificate this scan reads: ${(error as Error).message}`, { cause: error });
      }
      if (certificates.length === 0) throw new AuditError('AUDIT_BAD_OPTION', `certificates[${index}] holds no PEM certificate`);
      for (const certificate of certificates) {
        if (seen.has(certificate.fingerprint)) continue; // the same certificate given twice is one row
        seen.add(certificate.fingerprint);
        all.push(known(certificate));
      }
    });
    this.all = all;
    for (const cert of all) for (const key of cert.keys) this.#byKey.set(key, cert);
  }

  /** The certificate a recipient key names, if known. */
  find(key: string): KnownCertificate | undefined {
    return this.#byKey.get(key);
  }

  get size(): number {
    return this.all.length;
  }
}

function known(certificate: Certificate): KnownCertificate {
  const tbs = new Reader(new Reader(parseDer(certificate.der, 'certificate'), 'certificate').next(Tag.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
  tbs.optionalContext(0);
  const serial = tbs.next(Tag.INTEGER, 'serialNumber');
  tbs.next(Tag.SEQUENCE, 'signature');
  const issuer = tbs.next(Tag.SEQUENCE, 'issuer');
  tbs.next(Tag.SEQUENCE, 'validity');
  const subject = tbs.next(Tag.SEQUENCE, 'subject');
  const keys = [issuerSerialKey(certificate.issuerDer, serial)];
  if (certificate.subjectKeyId) keys.push(`ski:${certificate.subjectKeyId.subarray(0, 64).toString('hex')}`);
  return {
    subject: dnString(subject),
    issuer: dnString(issuer),
    serial: serialHex(serial),
    sha256: certificate.fingerprint,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    keys,
  };
}

/** Whole days from `now` to `notAfter` (negative once expired). */
export function daysToExpiry(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** The inventory row of a known certificate. */
export function inventoryRow(cert: KnownCertificate, now: Date, messagesTo: number): CertificateInventoryRow {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serial,
    sha256: cert.sha256,
    not_before: cert.notBefore.toISOString(),
    not_after: cert.notAfter.toISOString(),
    days_to_expiry: daysToExpiry(cert.notAfter, now),
    messages_to: messagesTo,
  };
}
