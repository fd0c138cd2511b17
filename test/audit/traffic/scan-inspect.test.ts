/**
 * Hostile bodies and destinations: whatever a broker login can SEND gives facts or an anomaly,
 * never a throw out of the scan. Built by hand (DER) where no tool writes such a thing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { algorithm, ctx, ctxPrimitive, int, octets, oid, seq, set, toDer, type Asn1 } from '../../../src/wire/der.ts';
import { writePkcs7Mime } from '../../../src/wire/mime.ts';
import { OID } from '../../../src/wire/profile.ts';
import { NameCache } from '../../../src/audit/traffic/envelope-facts.ts';
import { classifyDestination, inspectMessage, scanTraffic } from '../../../src/audit/traffic/index.ts';
import { makeTestPki } from '../../helpers/pki.ts';
import { parties, sealedRequest, writeCapture, type Parties } from './scan-fixtures.ts';

let p: Parties;
beforeAll(async () => {
  p = parties(await makeTestPki());
});

const inspect = (body: Buffer, headers: [string, string][] = []) => inspectMessage({ body, headers }, new NameCache());

/** AuthEnvelopedData with `count` OAEP-SHA-256 recipients (issuer CN=r, serial i), content not encrypted at all. */
function manyRecipients(count: number, keyBytes = 256): Buffer {
  const issuer = seq([set([seq([oid('2.5.4.3'), { tagClass: 0, type: 12, constructed: false, composed: false, value: 'r' } as unknown as Asn1])])]);
  const oaep = algorithm(OID.rsaesOaep, seq([ctx(0, [algorithm(OID.sha256)]), ctx(1, [algorithm(OID.mgf1, algorithm(OID.sha256))])]));
  const ris = Array.from({ length: count }, (_, i) => seq([int(0), seq([issuer, int(i + 1)]), oaep, octets(Buffer.alloc(keyBytes, 1))]));
  const body = seq([int(0), set(ris), seq([oid(OID.data), algorithm(OID.aes256Gcm, seq([octets(Buffer.alloc(12)), int(16)])), ctxPrimitive(0, Buffer.alloc(32))]), octets(Buffer.alloc(16))]);
  return toDer(seq([oid(OID.authEnvelopedData), ctx(0, [body])]));
}

describe('inspecting hostile bodies', () => {
  it('garbage, a 16 MB blob, truncated and deeply nested DER, broken base64: facts, never a throw', () => {
    const nested = Buffer.concat([Buffer.alloc(2000).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(4000)]);
    const cases: [string, Buffer, string][] = [
      ['garbage', Buffer.from([0xff, 0x00, 0x13, 0x37]), 'clear'],
      ['16 MB of bytes', Buffer.alloc(16 * 1024 * 1024, 0xab), 'clear'],
      ['16 MB of digits', Buffer.alloc(16 * 1024 * 1024, '7'), 'clear'],
      ['deeply nested BER', nested, 'clear'],
      ['truncated DER', manyRecipients(1).subarray(0, 100), 'clear'],
    ];
    for (const [what, body, format] of cases) expect(inspect(body).format, what).toBe(format);
    const badBase64 = Buffer.from('MIME-Version: 1.0\nContent-Type: application/pkcs7-mime; smime-type=authEnveloped-data\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n');
    expect(inspect(badBase64)).toMatchObject({ format: 'smime', notEncrypted: expect.stringMatching(/^the S\/MIME body does not decode \(MALFORMED_MIME: /) });
    const nestedSmime = Buffer.from(writePkcs7Mime(nested, 'authEnveloped-data'), 'latin1');
    expect(inspect(nestedSmime)).toMatchObject({ format: 'smime', notEncrypted: expect.stringMatching(/^the CMS does not parse \(MALFORMED_CMS: .*nested too deeply/) });
  });

  it('a CMS with 10,000 recipients: every recipient read, one anomaly per kind naming the first and the count', async () => {
    const der = manyRecipients(10_000, 128);
    const facts = inspect(Buffer.from(writePkcs7Mime(der, 'authEnveloped-data'), 'latin1'));
    expect(facts.envelope?.recipients).toHaveLength(10_000);
    expect(facts.envelope?.recipients[9999]).toMatchObject({ issuer: 'CN=r', serial: '2710', keyManagement: 'rsaes-oaep-sha256', rsaBits: 1024 });
    const capture = await writeCapture([{ destination: '/queue/paygate.card', body: der, time: new Date('2026-03-02T10:00:00Z') }]);
    const r = await scanTraffic({ capture, certificates: p.knownPems });
    expect(r.anomalies.by_kind).toEqual({ short_rsa_key: 1, unknown_recipient: 1 });
    expect(r.anomalies.listed.map((a) => a.detail)).toEqual([
      'an RSA-1024 key (rsaes-oaep-sha256) to CN=r, serial 1 (and 9999 more of its 10000 recipients)',
      'encrypted to a recipient no given certificate matches: CN=r, serial 1 (and 9999 more of its 10000 recipients)',
    ]);
    // Bounded: 10,000 distinct recipients, 1,000 rows and one row for the rest.
    expect(r.recipients).toHaveLength(1001);
    expect(r.recipients.at(-1)).toEqual({ issuer: '(more than 1000 recipients)', serial: '', messages: 1 });
    expect(r.counts.encrypted).toBe(1);
  });

  it('bare DER envelopes are encrypted; issuer names with control characters and separators are escaped', () => {
    const facts = inspect(manyRecipients(1));
    expect(facts).toMatchObject({ format: 'der', envelope: { contentType: 'authEnvelopedData', contentEncryption: 'aes-256-gcm' } });
    const sealed = sealedRequest(p);
    expect(inspect(sealed)).toMatchObject({ format: 'smime', envelope: { contentEncryption: 'aes-256-gcm', recipients: [{ issuer: 'CN=paygate dev CA,O=paygate dev', keyManagement: 'rsaes-oaep-sha256', rsaBits: 2048 }] } });
  });

  it('card numbers: in header names and values, the body, in other scripts and groupings; digests and UUIDs are not card numbers', () => {
    const cards = (headers: [string, string][], body = 'x') => inspect(Buffer.from(body), headers).cards;
    expect(cards([['x-ref', '5500-0000-0000-0004']])).toEqual([{ where: 'header x-ref', masked: '550000******0004' }]);
    expect(cards([['4111111111111111', 'v']])).toEqual([{ where: 'a header name', masked: '411111******1111' }]);
    expect(cards([], 'note: ４１１１ １１１１ １１１１ １１１１')).toEqual([{ where: 'body', masked: '(a card number in non-ASCII digits, not shown)' }]);
    expect(cards([['x-sha', '4111111111111111aa00000000000000000000000000000000000000000000bb'], ['x-id', '41111111-1111-4111-8111-111111111111']])).toEqual([]);
  });
});

describe('classifying destinations', () => {
  const naming = { requestPrefix: '/queue/paygate.', eventsQueue: '/queue/paygate.feed.events', dlqSuffix: '.dlq' };
  it.each([
    ['/queue/paygate.card', 'request', 'card'],
    ['/queue/paygate.gift-card', 'request', 'gift-card'],
    ['/queue/paygate.card.dlq', 'dead_letter', 'card'],
    ['/queue/paygate.feed.events', 'events', undefined],
    ['/queue/paygate.feed.events.dlq', 'dead_letter', undefined],
    ['/temp-queue/replies', 'reply', undefined],
    ['/remote-temp-queue/s1.replies', 'reply', undefined],
    ['/reply-queue/amq.gen-Xy_z', 'reply', undefined],
    ['/queue/amq.gen-Xy_z', 'reply', undefined],
    ['/queue/ID:host-1234-1:1:1', 'reply', undefined],
    ['/queue/paygate.Card', 'other', undefined],
    ['/queue/paygate.', 'other', undefined],
    ['/topic/paygate.card', 'other', undefined],
  ])('%s is %s', (destination, kind, provider) => {
    expect(classifyDestination(destination, naming)).toEqual(provider === undefined ? { kind } : { kind, provider });
  });
});
