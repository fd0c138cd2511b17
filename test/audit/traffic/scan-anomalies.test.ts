/**
 * Every anomaly the scan reports, each seeded ALONE into an otherwise clean capture with its
 * audit trail: the test fails if that one detection is removed (the scan would then be clean, or
 * report another kind). Bodies are sealed by paygate's own seal and by the real `openssl cms`.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/events.ts';
import { openSqliteSource } from '../../../src/audit/index.ts';
import { scanTraffic, type ScanOptions, type ScanReport } from '../../../src/audit/traffic/index.ts';
import { OAEP_SHA256, openssl } from '../../helpers/openssl.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { makeForeignPki, makeTestPki, type TestPki } from '../../helpers/pki.ts';
import {
  auditRecord, opensslEncrypt, parties, sealedEvents, sealedReply, sealedRequest, tempDir, writeCapture, writeTrail,
  type Message, type Parties,
} from './scan-fixtures.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const PAN = '4111111111111111';

let p: Parties;
let ecPki: TestPki;
let shortKey: { certPath: string; certPem: string };

beforeAll(async () => {
  p = parties(await makeTestPki());
  ecPki = await makeTestPki({ algo: 'ec' });
  const dir = tempDir('short-rsa');
  const certPath = join(dir, 'short.crt');
  openssl(['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-subj', '/CN=short rsa recipient', '-days', '30', '-keyout', join(dir, 'short.key'), '-out', certPath]);
  shortKey = { certPath, certPem: openssl(['x509', '-in', certPath]).toString() };
});

/** What a test adds to the clean traffic: messages, and whether each request or reply has its record. */
interface Seed {
  messages?: (Message & { record?: boolean })[];
  records?: AuditRecord[];
  options?: Partial<ScanOptions>;
  certificates?: string[];
}

/**
 * The clean traffic (two requests with their replies, one events message, their records) plus
 * the seed, scanned with the trail and the deployment's certificates.
 */
async function scan(seed: Seed = {}): Promise<ScanReport> {
  const req1 = sealedRequest(p);
  const rep1 = sealedReply(p);
  const req2 = sealedRequest(p);
  const rep2 = sealedReply(p);
  const messages: (Message & { record?: boolean })[] = [
    { destination: '/queue/paygate.card', body: req1, time: at(0), headers: [['correlation-id', 'c-1'], ['reply-to', '/temp-queue/r']] },
    { destination: '/remote-temp-queue/s1.r', body: rep1, time: at(0.1), headers: [['correlation-id', 'c-1']] },
    { destination: '/queue/paygate.paypal', body: req2, time: at(60), headers: [['correlation-id', 'c-2'], ['reply-to', '/temp-queue/r']] },
    { destination: '/remote-temp-queue/s1.r', body: rep2, time: at(60.1), headers: [['correlation-id', 'c-2']] },
    { destination: '/queue/paygate.feed.events', body: sealedEvents(p), time: at(60.2) },
    ...(seed.messages ?? []),
  ];
  const records = [
    auditRecord({ time: at(0.2), request: req1, reply: rep1 }),
    auditRecord({ time: at(60.2), provider: 'paypal', type: 'capture', request: req2, reply: rep2 }),
    // Seeded requests get a record, unless the seed says not.
    ...(seed.messages ?? []).filter((m) => m.record !== false && m.destination.startsWith('/queue/paygate.'))
      .map((m) => auditRecord({ time: new Date(m.time.getTime() + 50), request: m.body })),
    ...(seed.records ?? []),
  ];
  const capture = await writeCapture(messages.sort((a, b) => a.time.getTime() - b.time.getTime()));
  const trail = openSqliteSource(writeTrail(records), 'audit');
  try {
    return await scanTraffic({ capture, trail, certificates: seed.certificates ?? p.knownPems, now: at(0), ...seed.options });
  } finally {
    trail.close();
  }
}

/** The seeded message's anomaly, checked to be the only one. */
function onlyAnomaly(report: ScanReport, kind: string): ScanReport['anomalies']['listed'][number] {
  expect(report.anomalies.by_kind).toEqual({ [kind]: 1 });
  expect(report.verdict).toBe('anomalies');
  const [anomaly] = report.anomalies.listed;
  expect(anomaly?.kind).toBe(kind);
  return anomaly as ScanReport['anomalies']['listed'][number];
}

describe('scan anomalies, one at a time', () => {
  it('the clean traffic is clean: counts, providers, ciphers, known recipients, every request and reply matched', async () => {
    const r = await scan();
    expect(r.verdict).toBe('clean');
    expect(r.anomalies).toEqual({ total: 0, by_kind: {}, listed: [] });
    expect(r.counts).toEqual({ request: 2, reply: 2, events: 1, dead_letter: 0, other: 0, encrypted: 5, clear: 0 });
    expect(r.providers.map((x) => [x.provider, x.requests, x.replies])).toEqual([['card', 1, 1], ['paypal', 1, 1]]);
    expect(r.providers.find((x) => x.provider === 'paypal')?.by_type).toEqual([{ type: 'capture', count: 1 }]);
    expect(r.ciphers).toEqual([{ content_encryption: 'aes-256-gcm', key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: 5, status: 'approved' }]);
    expect(r.trail).toMatchObject({ records: 2, matched_requests: 2, matched_replies: 2, refusals: [] });
    expect(r.policy).toEqual({ require_gcm: true, min_rsa_bits: 2048, known_recipients: 3 });
    expect(r.certificates.map((c) => [c.subject, c.messages_to])).toEqual([
      ['CN=paygate dev gateway,O=paygate dev', 2], ['CN=paygate dev client,O=paygate dev', 2], ['CN=paygate dev feed,O=paygate dev', 1],
    ]);
    expect(r.recipients.every((x) => x.certificate !== undefined && x.issuer === 'CN=paygate dev CA,O=paygate dev')).toBe(true);
  });

  it('a plaintext body: clear_body', async () => {
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body: Buffer.from('paygate_request: 1\ntype: authorize\n'), time: at(30) }] });
    expect(onlyAnomaly(r, 'clear_body')).toMatchObject({ seq: 3, destination: '/queue/paygate.card' });
    expect(r.counts.clear).toBe(1);
  });

  it('an empty body (a dead letter whose body was withheld) is not clear data', async () => {
    const r = await scan({ messages: [{ destination: '/queue/paygate.card.dlq', body: Buffer.alloc(0), time: at(30), record: false }] });
    expect(r.verdict).toBe('clean');
    expect(r.counts).toMatchObject({ dead_letter: 1, clear: 0 });
    expect(r.providers.find((x) => x.provider === 'card')?.dead_letters).toBe(1);
  });

  it('a PKCS#1 v1.5 envelope from openssl cms: weak_key_transport, refused in the cipher inventory', async () => {
    const body = opensslEncrypt(p.pki.gateway.certPath, ['-aes-256-gcm']);
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body, time: at(30) }] });
    expect(onlyAnomaly(r, 'weak_key_transport').detail).toMatch(/^key transport rsaes-pkcs1-v1_5 to CN=paygate dev CA,O=paygate dev, serial [0-9a-f]+$/);
    expect(r.ciphers).toContainEqual({ content_encryption: 'aes-256-gcm', key_management: 'rsaes-pkcs1-v1_5', rsa_bits: 2048, messages: 1, status: 'refused' });
  });

  it('a CBC envelope where GCM is required: unauthenticated_cipher; accepted with requireGcm false', async () => {
    const body = sealedRequest(p, 'paygate_request: 1\n', 'aes-256-cbc');
    const seed = { messages: [{ destination: '/queue/paygate.card', body, time: at(30) }] };
    expect(onlyAnomaly(await scan(seed), 'unauthenticated_cipher').detail).toContain('aes-256-cbc');
    const allowed = await scan({ ...seed, options: { requireGcm: false } });
    expect(allowed.verdict).toBe('clean');
    expect(allowed.ciphers).toContainEqual({ content_encryption: 'aes-256-cbc', key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: 1, status: 'approved' });
  });

  it('a card number in a header: card_data naming the header, the number masked everywhere in the report', async () => {
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body: sealedRequest(p), time: at(30), headers: [['x-order-ref', `order ${PAN.replace(/(\d{4})/g, '$1 ').trim()}`]] }] });
    expect(onlyAnomaly(r, 'card_data').detail).toBe('a card number (411111******1111) in header x-order-ref');
    expect(findPans(JSON.stringify(r))).toEqual([]);
  });

  it('a message to an unknown recipient: unknown_recipient (an ECDH envelope of a foreign PKI, approved algorithms)', async () => {
    const foreign = await makeForeignPki();
    const body = opensslEncrypt(foreign.client.certPath, ['-aes-256-gcm'], ['-keyopt', 'ecdh_kdf_md:sha256']);
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body, time: at(30) }] });
    expect(onlyAnomaly(r, 'unknown_recipient').detail).toMatch(/^encrypted to a recipient no given certificate matches: CN=paygate foreign CA,O=paygate dev, serial [0-9a-f]+$/);
    expect(r.ciphers).toContainEqual(expect.objectContaining({ key_management: 'ecdh-p256-sha256kdf-aes256wrap', status: 'approved' }));
    expect(r.ciphers.find((c) => c.key_management.startsWith('ecdh'))).not.toHaveProperty('rsa_bits');
  });

  it('without certificates no recipient is unknown', async () => {
    const foreign = await makeForeignPki();
    const body = opensslEncrypt(foreign.client.certPath, ['-aes-256-gcm'], ['-keyopt', 'ecdh_kdf_md:sha256']);
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body, time: at(30) }], certificates: [] });
    expect(r.verdict).toBe('clean');
    expect(r.policy.known_recipients).toBe(0);
  });

  it('ECDH with openssl\'s default SHA-1 KDF: weak_kdf', async () => {
    const body = opensslEncrypt(ecPki.gateway.certPath, ['-aes-256-gcm']);
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body, time: at(30) }], certificates: [...p.knownPems, ecPki.gateway.certPem] });
    expect(onlyAnomaly(r, 'weak_kdf').detail).toMatch(/^key agreement ecdh-p256-sha1kdf-aes256wrap to /);
  });

  it('an RSA-1024 recipient: short_rsa_key, read from the encrypted key\'s size', async () => {
    const body = opensslEncrypt(shortKey.certPath, ['-aes-256-gcm'], OAEP_SHA256);
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body, time: at(30) }], certificates: [...p.knownPems, shortKey.certPem] });
    expect(onlyAnomaly(r, 'short_rsa_key').detail).toMatch(/^an RSA-1024 key \(rsaes-oaep-sha256\) to CN=short rsa recipient, serial /);
    expect(r.ciphers).toContainEqual(expect.objectContaining({ key_management: 'rsaes-oaep-sha256', rsa_bits: 1024, status: 'weak' }));
  });

  it('RSAES-OAEP with SHA-1 (openssl\'s OAEP default): unknown_algorithm', async () => {
    const body = opensslEncrypt(p.pki.gateway.certPath, ['-aes-256-gcm'], ['-keyopt', 'rsa_padding_mode:oaep']);
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body, time: at(30) }] });
    expect(onlyAnomaly(r, 'unknown_algorithm').detail).toMatch(/^key transport rsaes-oaep-sha1 to /);
  });

  it('a signed but unencrypted S/MIME body: not_encrypted', async () => {
    const body = openssl(['cms', '-sign', '-nodetach', '-signer', p.pki.client.certPath, '-inkey', p.pki.client.keyPath], 'paygate_request: 1\n');
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body, time: at(30) }] });
    expect(onlyAnomaly(r, 'not_encrypted').detail).toBe('CMS signedData, not an encrypted envelope');
  });

  it('a request missing from the trail: unrecorded_message', async () => {
    const r = await scan({ messages: [{ destination: '/queue/paygate.card', body: sealedRequest(p), time: at(30), record: false }] });
    expect(onlyAnomaly(r, 'unrecorded_message')).toMatchObject({ seq: 3, detail: 'a captured request that no audit record names (request_body_sha256)' });
  });

  it('a trail record whose request never crossed the wire: unseen_message', async () => {
    const ghost = auditRecord({ time: at(45), provider: 'giftcard', request: sealedRequest(p), requestId: '7b4c3f1e-8a2d-4c5b-9e6f-0a1b2c3d4e5f' });
    const r = await scan({ records: [ghost] });
    expect(onlyAnomaly(r, 'unseen_message')).toEqual({
      kind: 'unseen_message', time: ghost.time, body_sha256: ghost.request_body_sha256, request_id: ghost.request_id,
      detail: 'an audit record of provider giftcard whose request was never captured',
    });
  });
});
