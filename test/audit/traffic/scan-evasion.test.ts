/**
 * What a sender with a broker login could hide from the scan, each tried on its own capture with
 * its audit trail: a card number in a certificate's name (a recipient's issuer DN, a given
 * certificate's subject), a card number in the DER under a base64 or quoted-printable transfer
 * encoding, and weak AES-GCM or AES-CBC parameters behind the approved cipher's OID. Each is
 * reported, and the report (JSON, the scan's summary, the HTML page) never shows the card number.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSqliteSource } from '../../../src/audit/index.ts';
import { renderReportHtml } from '../../../src/audit/traffic/report-html.ts';
import { scanTrafficDetailed, type ScanDetails } from '../../../src/audit/traffic/index.ts';
import { describeScan } from '../../../src/cli/audit-scan.ts';
import { algorithm, ctx, ctxPrimitive, embed, explicitInner, int, octets, oid, parseDer, Reader, seq, Tag, toDer, type Asn1 } from '../../../src/wire/der.ts';
import { openEnvelope } from '../../../src/wire/enveloped-data.ts';
import { OID } from '../../../src/wire/profile.ts';
import { OAEP_SHA256, openssl } from '../../helpers/openssl.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { makeTestPki } from '../../helpers/pki.ts';
import { auditRecord, opensslEncrypt, parties, sealedRequest, tempDir, writeCapture, writeTrail, type Parties } from './scan-fixtures.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);
const PAN_WRITTEN = '4111 1111 1111 1111';
const PAN_MASKED = '411111******1111';
/** How the project's masking rule shows {@link PAN_WRITTEN} in free text: first 6 and last 4 digits, the separators kept. */
const PAN_MASKED_WRITTEN = '4111 11** **** 1111';

let p: Parties;
let panCert: { path: string; pem: string };

beforeAll(async () => {
  p = parties(await makeTestPki());
  const dir = tempDir('pan-cert');
  const path = join(dir, 'pan.crt');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${PAN_WRITTEN}/O=shop`, '-days', '30', '-keyout', join(dir, 'pan.key'), '-out', path]);
  panCert = { path, pem: openssl(['x509', '-in', path]).toString() };
});

/** Scans `bodies` as requests to provider card, each with its audit record (so only what the body itself raises shows). */
async function scanRequests(bodies: readonly Buffer[], certificates: readonly string[] = p.knownPems): Promise<ScanDetails> {
  const capture = await writeCapture(bodies.map((body, i) => ({ destination: '/queue/paygate.card', body, time: at(i * 100) })));
  const trail = openSqliteSource(writeTrail(bodies.map((body, i) => auditRecord({ time: at(i * 100 + 50), request: body }))), 'audit');
  try {
    return await scanTrafficDetailed({ capture, trail, certificates: [...certificates], now: at(0), windowLeadMs: 0 });
  } finally {
    trail.close();
  }
}

/** The `data-figure` values of a rendered page, by name (unescaped). */
function htmlFigures(html: string): Map<string, string> {
  const unescape = (v: string): string => v.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return new Map([...html.matchAll(/<span data-figure="([^"]+)"[^>]*>([^<]*)<\/span>/g)].map((m) => [unescape(m[1] ?? ''), unescape(m[2] ?? '')]));
}

/** An S/MIME body's header block and its DER (base64 decoded). */
function smimeParts(body: Buffer): { head: string; der: Buffer } {
  const text = body.toString('latin1');
  const blank = /\r?\n\r?\n/.exec(text);
  if (blank === null) throw new Error('not an S/MIME entity');
  return { head: text.slice(0, blank.index), der: Buffer.from(text.slice(blank.index + blank[0].length), 'base64') };
}

/** A sealed request's DER with the card number written in clear over bytes of its encrypted content; returns the DER and where. */
function derWithPan(): { head: string; der: Buffer; panAt: number } {
  const { head, der } = smimeParts(sealedRequest(p));
  const pan = Buffer.from(` ${PAN_WRITTEN} `);
  const panAt = der.length - 200; // inside the encrypted content, before the 16-byte tag
  pan.copy(der, panAt);
  return { head, der, panAt };
}

/**
 * `der` quoted-printable encoded: every byte as `=XX` but the card number, written as is with a
 * soft line break in its middle, so that the body as sent holds no card number at all.
 */
function quotedPrintable(der: Buffer, panAt: number): string {
  let out = '';
  for (let i = 0; i < der.length; i++) {
    if (i > 0 && i % 24 === 0) out += '=\r\n';
    if (i === panAt + 10) out += '=\r\n';
    const byte = der[i] as number;
    const literal = i >= panAt && i < panAt + PAN_WRITTEN.length + 2;
    out += literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * An AuthEnvelopedData with the recipient infos of a real sealed request and the GCM parameters
 * given: a nonce of `nonceBytes`, a tag of `tagBytes`, and an ICVlen of `declared` (absent: 12).
 */
function gcmEnvelope(nonceBytes: number, tagBytes: number, declared?: number): Buffer {
  const real = smimeParts(sealedRequest(p)).der;
  const info = new Reader(parseDer(real, 'ContentInfo'), 'ContentInfo');
  info.next(Tag.OID, 'contentType');
  const inner = new Reader(explicitInner(info.optionalContext(0) as NonNullable<ReturnType<Reader['optionalContext']>>, 'envelope'), 'envelope');
  inner.next(Tag.INTEGER, 'version');
  const recipientInfos = inner.next(Tag.SET, 'recipientInfos');
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', randomBytes(32), nonce, { authTagLength: Math.min(16, Math.max(4, tagBytes)) });
  const encrypted = Buffer.concat([cipher.update('paygate_request: 1\n'), cipher.final()]);
  const tag = Buffer.concat([cipher.getAuthTag(), Buffer.alloc(16)]).subarray(0, tagBytes);
  const params: Asn1[] = [octets(nonce), ...(declared === undefined ? [] : [int(declared)])];
  const body = seq([int(0), embed(recipientInfos.raw), seq([oid(OID.data), algorithm(OID.aes256Gcm, seq(params)), ctxPrimitive(0, encrypted)]), octets(tag)]);
  return toDer(seq([oid(OID.authEnvelopedData), ctx(0, [body])]));
}

/** An EnvelopedData (AES-256-CBC) with the recipient infos of a real sealed request and an IV of `ivBytes`. */
function cbcEnvelope(ivBytes: number): Buffer {
  const real = smimeParts(sealedRequest(p, 'paygate_request: 1\n', 'aes-256-cbc')).der;
  const info = new Reader(parseDer(real, 'ContentInfo'), 'ContentInfo');
  info.next(Tag.OID, 'contentType');
  const inner = new Reader(explicitInner(info.optionalContext(0) as NonNullable<ReturnType<Reader['optionalContext']>>, 'envelope'), 'envelope');
  inner.next(Tag.INTEGER, 'version');
  const recipientInfos = inner.next(Tag.SET, 'recipientInfos');
  const body = seq([int(0), embed(recipientInfos.raw), seq([oid(OID.data), algorithm(OID.aes256Cbc, octets(randomBytes(ivBytes))), ctxPrimitive(0, randomBytes(32))])]);
  return toDer(seq([oid(OID.envelopedData), ctx(0, [body])]));
}

describe('card numbers where the scan did not look', () => {
  it('a card number in a recipient\'s issuer DN and a given certificate\'s subject: masked in the JSON, the summary and the page, which agree', async () => {
    const body = opensslEncrypt(panCert.path, ['-aes-256-gcm'], OAEP_SHA256);
    for (const certificates of [p.knownPems, [...p.knownPems, panCert.pem]]) {
      const details = await scanRequests([body], certificates);
      const r = details.report;
      const json = JSON.stringify(r);
      expect(findPans(json)).toEqual([]);
      const pan = r.recipients.find((x) => x.issuer.includes(PAN_MASKED_WRITTEN));
      expect(pan?.issuer).toBe(`O=shop,CN=${PAN_MASKED_WRITTEN}`); // RFC 4514: the last RDN first
      const text = describeScan(details);
      expect(findPans(text)).toEqual([]);
      const html = renderReportHtml(r);
      expect(findPans(html)).toEqual([]);
      const figures = htmlFigures(html);
      r.recipients.forEach((x, i) => expect(figures.get(`recipient[${i + 1}].issuer`)).toBe(x.issuer));
      if (certificates.length === p.knownPems.length) {
        // Not a given certificate: an unknown recipient, whose detail names the DN, masked alike everywhere.
        const [anomaly] = r.anomalies.listed;
        expect(r.anomalies.by_kind).toEqual({ unknown_recipient: 1 });
        expect(anomaly?.detail).toMatch(/^encrypted to a recipient no given certificate matches: O=shop,CN=4111 11\*\* \*\*\*\* 1111, serial [0-9a-f]+$/);
        expect(text).toContain(anomaly?.detail);
        expect(html).toContain(anomaly?.detail);
      } else {
        expect(r.verdict).toBe('clean');
        const row = r.certificates.find((c) => c.subject.includes(PAN_MASKED_WRITTEN));
        expect(row).toMatchObject({ subject: `O=shop,CN=${PAN_MASKED_WRITTEN}`, issuer: `O=shop,CN=${PAN_MASKED_WRITTEN}`, messages_to: 1 });
        expect(figures.get(`certificate[${r.certificates.indexOf(row!) + 1}].subject`)).toBe(row?.subject);
        expect(pan?.certificate?.subject).toBe(`O=shop,CN=${PAN_MASKED_WRITTEN}`);
      }
    }
  });

  it('a card number in clear inside the DER of a base64 or quoted-printable S/MIME body (not in the body as sent): card_data, masked', async () => {
    const { head, der, panAt } = derWithPan();
    const base64 = Buffer.from(`${head}\r\n\r\n${der.toString('base64').replace(/(.{64})/g, '$1\r\n')}\r\n`, 'latin1');
    const qpHead = head.replace(/Content-Transfer-Encoding: *base64/i, 'Content-Transfer-Encoding: quoted-printable');
    expect(qpHead).not.toBe(head);
    const qp = Buffer.from(`${qpHead}\r\n\r\n${quotedPrintable(der, panAt)}=\r\n`, 'latin1'); // a hard line break would add bytes
    for (const body of [base64, qp]) expect(findPans(body.toString('latin1'))).toEqual([]); // nothing to see as sent
    const { report: r } = await scanRequests([base64, qp, der]);
    expect(r.counts).toMatchObject({ request: 3, encrypted: 3, clear: 0 });
    expect(r.anomalies.by_kind).toEqual({ card_data: 3 });
    expect(r.anomalies.listed.map((a) => [a.seq, a.detail])).toEqual([
      [1, `a card number (${PAN_MASKED}) in the decoded S/MIME body`],
      [2, `a card number (${PAN_MASKED}) in the decoded S/MIME body`],
      [3, `a card number (${PAN_MASKED}) in body`], // bare DER: the body as sent
    ]);
    expect(findPans(JSON.stringify(r))).toEqual([]);
  });
});

describe('cipher parameters behind an approved OID', () => {
  it('AES-GCM is approved only with a 12-byte nonce and a 12- to 16-byte tag of the declared length (as open() reads it); AES-CBC only with a 16-byte IV', async () => {
    const cases: [Buffer, string][] = [
      [gcmEnvelope(12, 16, 16), 'aes-256-gcm'],
      [gcmEnvelope(12, 12), 'aes-256-gcm'], // ICVlen absent: 12
      [gcmEnvelope(12, 4, 4), 'aes-256-gcm, 4-byte tag'],
      [gcmEnvelope(12, 8, 8), 'aes-256-gcm, 8-byte tag'],
      [gcmEnvelope(12, 12, 16), 'aes-256-gcm, 12-byte tag (16 declared)'],
      [gcmEnvelope(8, 16, 16), 'aes-256-gcm, 8-byte nonce'],
      [gcmEnvelope(16, 16, 16), 'aes-256-gcm, 16-byte nonce'],
      [cbcEnvelope(16), 'aes-256-cbc'],
      [cbcEnvelope(8), 'aes-256-cbc, 8-byte IV'],
    ];
    // open() refuses the short and mismatched tags before decrypting: the scan judges them as it does.
    for (const [der] of cases.slice(2, 5)) expect(() => openEnvelope(der, p.gateway)).toThrow(/GCM tag length is invalid/);
    const { report: r } = await scanRequests(cases.map(([der]) => der));
    const approved = ['aes-256-gcm', 'aes-256-cbc'];
    const refused = cases.filter(([, name]) => !approved.includes(name));
    expect(r.anomalies.by_kind).toEqual({ unknown_algorithm: refused.length, unauthenticated_cipher: 1 }); // plain CBC where GCM is required
    for (const [i, [, name]] of cases.entries()) {
      const anomalies = r.anomalies.listed.filter((a) => a.seq === i + 1);
      if (name === 'aes-256-gcm') expect(anomalies).toEqual([]);
      else if (name === 'aes-256-cbc') expect(anomalies.map((a) => a.kind)).toEqual(['unauthenticated_cipher']);
      else expect(anomalies.map((a) => [a.kind, a.detail])).toEqual([['unknown_algorithm', `content encryption ${name} (${name.startsWith('aes-256-gcm') ? 'authEnvelopedData' : 'envelopedData'}) is outside the crypto profile`]]);
    }
    for (const [, name] of refused) {
      expect(r.ciphers).toContainEqual({ content_encryption: name, key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: 1, status: 'refused' });
    }
    expect(r.ciphers).toContainEqual({ content_encryption: 'aes-256-gcm', key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: 2, status: 'approved' });
  });
});
