/**
 * The report's inventories: the cryptography seen on the wire (PCI DSS v4.0 requirement 12.3.3
 * asks for an inventory of the cipher suites and protocols in use, reviewed at least yearly),
 * the recipients envelopes were addressed to, and the certificates given with their expiry.
 */
import { barChart } from './report-charts.ts';
import { esc, figure, shortDigest, table, untrusted, type Row } from './report-format.ts';
import type { CipherUse, ScanReport } from './scan-report.ts';

/** Days under which a certificate's expiry is highlighted. */
export const EXPIRY_WARNING_DAYS = 30;

/** The stable figure name of a cipher inventory row: `cipher:<content>/<key management>[/<rsa bits>]`. */
export function cipherKey(c: CipherUse): string {
  return `cipher:${c.content_encryption}/${c.key_management}${c.rsa_bits === undefined ? '' : `/${c.rsa_bits}`}`;
}

const STATUS_TONE = { approved: 'ok', weak: 'warn', refused: 'bad' } as const;

/** The cipher inventory: each content cipher with its key management and RSA size, counted. */
export function cipherSection(report: ScanReport): string {
  const rows: Row[] = report.ciphers.map((c) => {
    const key = cipherKey(c);
    return {
      cls: c.status,
      cells: [
        untrusted(c.content_encryption), untrusted(c.key_management),
        c.rsa_bits === undefined ? '<span class="note">n/a (ECDH)</span>' : esc(String(c.rsa_bits)),
        figure(key, c.messages), figure(`${key}.status`, c.status, `status ${c.status}`),
      ],
    };
  });
  const bars = report.ciphers.map((c) => ({
    label: `${c.content_encryption} / ${c.key_management}${c.rsa_bits === undefined ? '' : ` / RSA ${c.rsa_bits}`}`,
    value: c.messages,
    tone: STATUS_TONE[c.status],
  }));
  return `<section aria-labelledby="ciphers-h"><h2 id="ciphers-h">Cipher inventory</h2>
<p class="note">PCI DSS v4.0 requirement 12.3.3: the cryptography in use for cardholder data, as seen in the envelopes on the wire (read from their structure; nothing was decrypted). <em>approved</em>: a profile paygate writes or reads; <em>weak</em> and <em>refused</em>: the anomaly list says why.</p>
${report.ciphers.length === 0 ? '<p class="none">No encrypted message was captured.</p>' : `${barChart('chart-ciphers', 'Messages per cipher and key management', bars)}
${table('Content encryption, key management and RSA key size, per message', ['content encryption', 'key management', 'RSA bits', 'messages', 'status'], rows)}`}
${recipientTable(report)}
</section>`;
}

function recipientTable(report: ScanReport): string {
  if (report.recipients.length === 0) return '';
  const rows: Row[] = report.recipients.map((r, i) => {
    const n = `recipient[${i + 1}]`;
    const cert = r.certificate;
    const known = cert === undefined
      ? '<span class="status bad">unknown</span>'
      : `${untrusted(cert.subject)}, expires ${esc(cert.not_after)} (${figure(`${n}.days_to_expiry`, cert.days_to_expiry)} days)`;
    const cells = [figure(`${n}.issuer`, r.issuer), figure(`${n}.serial`, r.serial), figure(`${n}.messages`, r.messages), known];
    return cert === undefined && report.policy.known_recipients > 0 ? { cls: 'bad', cells } : cells;
  });
  return `<h3>Recipients</h3>
${table('Recipients the envelopes name (issuer and serial number), and the known certificate each is', ['issuer', 'serial', 'messages', 'certificate'], rows)}`;
}

/** The certificate inventory: every certificate given to the scan, days to expiry highlighted. */
export function certificateSection(report: ScanReport): string {
  const rows: Row[] = report.certificates.map((c, i) => {
    const n = `certificate[${i + 1}]`;
    const cells = [
      figure(`${n}.subject`, c.subject), untrusted(c.issuer), figure(`${n}.serial`, c.serial), shortDigest(c.sha256),
      esc(c.not_before), figure(`${n}.not_after`, c.not_after), figure(`${n}.days_to_expiry`, c.days_to_expiry), figure(`${n}.messages_to`, c.messages_to),
    ];
    if (c.days_to_expiry < 0) return { cls: 'expired', cells };
    return c.days_to_expiry < EXPIRY_WARNING_DAYS ? { cls: 'soon', cells } : cells;
  });
  const expired = report.certificates.filter((c) => c.days_to_expiry < 0).length;
  const soon = report.certificates.filter((c) => c.days_to_expiry >= 0 && c.days_to_expiry < EXPIRY_WARNING_DAYS).length;
  return `<section aria-labelledby="certs-h"><h2 id="certs-h">Certificate inventory</h2>
${report.certificates.length === 0
    ? '<p class="none">No certificate was given to the scan (<code>--certs</code>).</p>'
    : `<p>${figure('certificates.expired', expired)} expired, ${figure('certificates.expiring', soon)} expiring within ${EXPIRY_WARNING_DAYS} days (highlighted).</p>
${table('Certificates given to the scan, with the days left before each expires (negative: expired)', ['subject', 'issuer', 'serial', 'SHA-256', 'not before', 'not after', 'days to expiry', 'messages to it'], rows)}`}
</section>`;
}
