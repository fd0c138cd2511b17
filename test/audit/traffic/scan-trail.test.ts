/**
 * The scan with its audit trail at scale and at the edges: 10,000 clean messages with a record
 * per request give a clean verdict and exact counts; duplicates (a retry re-sending the same
 * bytes, a capture duplicate) raise nothing; the window keeps requests sent before the capture
 * and messages after the trail's end from being judged; checkpoints are skipped.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/events.ts';
import { openSqliteSource, startCheckpointer } from '../../../src/audit/index.ts';
import { scanTraffic, scanTrafficDetailed, type ScanOptions } from '../../../src/audit/traffic/index.ts';
import { openSqliteFeedStore } from '../../../src/feed/index.ts';
import { loadIdentity } from '../../../src/wire/index.ts';
import { makeTestPki } from '../../helpers/pki.ts';
import {
  auditRecord, parties, sealedEvents, sealedReply, sealedRequest, writeCapture, writeTrail, type Message, type Parties,
} from './scan-fixtures.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);
const PROVIDERS = ['card', 'paypal', 'giftcard'] as const;

let p: Parties;
beforeAll(async () => {
  p = parties(await makeTestPki());
});

/** `body` with one more MIME header line: another digest, the same envelope (nothing is decrypted). */
function variant(body: Buffer, n: number): Buffer {
  return Buffer.concat([Buffer.from(`Content-ID: <${n}@scan-test>\n`), body]);
}

async function scanWith(messages: Message[], records: AuditRecord[], options: Partial<ScanOptions> = {}) {
  const capture = await writeCapture(messages);
  const path = writeTrail(records);
  if (records.length === 0) {
    // A feed that exists but holds no audit record.
    const store = openSqliteFeedStore({ path });
    store.append('audit', { title: 'note', content: 'not a record' }, { chained: true });
    store.close();
  }
  const trail = openSqliteSource(path, 'audit');
  try {
    return await scanTrafficDetailed({ capture, trail, certificates: p.knownPems, now: at(0), ...options });
  } finally {
    trail.close();
  }
}

describe('scan with the trail', () => {
  it('10,000 clean messages (5,000 requests, 4,000 replies, 1,000 events) and their records: clean, exact counts', async () => {
    // A few hundred sealed bodies, varied by a MIME header line so that every message has its own digest.
    const requests = Array.from({ length: 100 }, () => sealedRequest(p));
    const replies = Array.from({ length: 100 }, () => sealedReply(p));
    const events = Array.from({ length: 20 }, () => sealedEvents(p));
    const messages: Message[] = [];
    const records: AuditRecord[] = [];
    for (let i = 0; i < 5000; i++) {
      const t = i * 100;
      const provider = PROVIDERS[i % 3] as string;
      const request = variant(requests[i % 100] as Buffer, i);
      messages.push({ destination: `/queue/paygate.${provider}`, body: request, time: at(t), headers: [['correlation-id', `c-${i}`]] });
      if (i % 5 === 4) {
        records.push(auditRecord({ time: at(t + 30), provider, type: 'refund', request, status: 'dead_lettered', code: 'BAD_SIGNATURE' }));
      } else {
        const reply = variant(replies[i % 100] as Buffer, i);
        messages.push({ destination: `/remote-temp-queue/s.${i % 7}`, body: reply, time: at(t + 20), headers: [['correlation-id', `c-${i}`]] });
        records.push(auditRecord({ time: at(t + 30), provider, type: 'authorize', request, reply }));
      }
      if (i % 5 === 0) messages.push({ destination: '/queue/paygate.feed.events', body: variant(events[i % 20] as Buffer, i), time: at(t + 40) });
    }
    const { report: r, duplicates } = await scanWith(messages, records);
    expect(r.anomalies).toEqual({ total: 0, by_kind: {}, listed: [] });
    expect(r.verdict).toBe('clean');
    expect(r.capture.messages).toBe(10_000);
    expect(r.counts).toEqual({ request: 5000, reply: 4000, events: 1000, dead_letter: 0, other: 0, encrypted: 10_000, clear: 0 });
    expect(r.trail).toMatchObject({ records: 5000, matched_requests: 5000, matched_replies: 4000, refusals: [{ code: 'BAD_SIGNATURE', count: 1000 }] });
    expect(r.providers.map((x) => [x.provider, x.requests, x.replies])).toEqual([['card', 1667, 1334], ['giftcard', 1666, 1333], ['paypal', 1667, 1333]]);
    expect(r.providers.find((x) => x.provider === 'card')?.by_type).toEqual([{ type: 'authorize', count: 1334 }, { type: 'refund', count: 333 }]);
    expect(r.ciphers).toEqual([{ content_encryption: 'aes-256-gcm', key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: 10_000, status: 'approved' }]);
    expect(duplicates).toBe(0);
  });

  it('the same body captured twice (a retry, a capture duplicate) matches its one record: no anomaly, counted as captured and as a duplicate', async () => {
    const request = sealedRequest(p);
    const reply = sealedReply(p);
    const messages = [
      { destination: '/queue/paygate.card', body: request, time: at(0) },
      { destination: '/remote-temp-queue/s.1', body: reply, time: at(50) },
      { destination: '/queue/paygate.card', body: request, time: at(60_000) },
      { destination: '/queue/paygate.card', body: request, time: at(60_001) },
      { destination: '/remote-temp-queue/s.1', body: reply, time: at(60_050) },
    ];
    const { report: r, duplicates } = await scanWith(messages, [auditRecord({ time: at(60_040), request, reply })]);
    expect(r.verdict).toBe('clean');
    expect(r.counts).toMatchObject({ request: 3, reply: 2 });
    expect(r.trail).toMatchObject({ matched_requests: 3, matched_replies: 2 });
    expect(duplicates).toBe(3);
  });

  it('a reply sent again after a redelivery (another body, no record names it) is tied to its request by correlation id, not an anomaly; without the header it is unrecorded', async () => {
    const request = sealedRequest(p);
    const [first, again] = [sealedReply(p), sealedReply(p)];
    const requestId = '0b7c7c36-5d0e-4d1a-9c55-3f6f1f0f2a11';
    const correlation = [['correlation-id', requestId]] as const;
    const messages = [
      { destination: '/queue/paygate.card', body: request, headers: correlation, time: at(0) },
      { destination: '/remote-temp-queue/s.1', body: first, headers: correlation, time: at(50) },
      { destination: '/remote-temp-queue/s.1', body: again, headers: correlation, time: at(900) },
    ];
    // The record comes last: messages after the trail's last record are not judged.
    const records = [auditRecord({ time: at(1_000), durationMs: 1_000, request, reply: first, requestId })];
    const { report: r } = await scanWith(messages, records, { windowLeadMs: 0 });
    expect(r.anomalies.total).toBe(0);
    expect(r.trail).toMatchObject({ matched_replies: 1, replies_by_correlation: 1 });

    // Another request's id, or no header at all (RabbitMQ's firehose keeps none): not accounted for.
    const other = [['correlation-id', '5e0f0b8a-79b3-4c55-8a43-2d2b1f0c9a77']] as const;
    for (const headers of [other, []] as const) {
      const { report: unlinked } = await scanWith([...messages.slice(0, 2), { ...messages[2]!, headers }], records, { windowLeadMs: 0 });
      expect(unlinked.anomalies.by_kind).toEqual({ unrecorded_message: 1 });
      expect(unlinked.trail).toMatchObject({ replies_by_correlation: 0 });
    }
  });

  it('forged replies naming a recorded correlation id: at most maxRepliesByCorrelation (default 3) per id are tied, every further one is unrecorded_message', async () => {
    const request = sealedRequest(p);
    const reply = sealedReply(p);
    const cid = 'shop-chosen-1';
    const messages: Message[] = [
      { destination: '/queue/paygate.card', body: request, headers: [['correlation-id', cid]], time: at(0) },
      { destination: '/remote-temp-queue/s.1', body: reply, headers: [['correlation-id', cid]], time: at(50) },
      ...Array.from({ length: 50 }, (_, i) => ({ destination: `/temp-queue/exfil${i}`, body: sealedReply(p), headers: [['correlation-id', cid]] as const, time: at(100 + i) })),
    ];
    const records = [{ ...auditRecord({ time: at(1_000), durationMs: 1_000, request, reply }), correlation_id: cid }];
    const { report: r } = await scanWith(messages, records, { windowLeadMs: 0 });
    expect(r.verdict).toBe('anomalies');
    expect(r.anomalies.by_kind).toEqual({ unrecorded_message: 47 });
    expect(r.trail).toMatchObject({ matched_replies: 1, replies_by_correlation: 3, replies_by_correlation_limit: 3 });
    // The first three captured are tied; the rest are listed, saying why they were not.
    expect(r.anomalies.listed.map((a) => a.destination)).toEqual(Array.from({ length: 47 }, (_, i) => `/temp-queue/exfil${i + 3}`));
    expect(r.anomalies.listed[0]?.detail).toBe('a captured reply that no audit record names (reply_body_sha256); '
      + 'its correlation id names a captured, recorded request, which already has 3 replies tied to it that way (the most allowed)');
    const strict = await scanWith(messages, records, { windowLeadMs: 0, maxRepliesByCorrelation: 0 });
    expect(strict.report.anomalies.by_kind).toEqual({ unrecorded_message: 50 });
    expect(strict.report.trail).toMatchObject({ replies_by_correlation: 0, replies_by_correlation_limit: 0 });
  });

  it('a correlation id ties a reply only to a CAPTURED request a record names by digest, captured before the reply', async () => {
    const request = sealedRequest(p);
    const [reply, again] = [sealedReply(p), sealedReply(p)];
    const requestId = '3d1f6c0e-2b7a-4e55-9a1c-8f0e7d6c5b4a';
    const record = auditRecord({ time: at(1_000), durationMs: 1_000, request, reply, requestId });
    const cid = [['correlation-id', requestId]] as const;
    const answered = { destination: '/remote-temp-queue/s.1', body: reply, headers: cid, time: at(50) };
    const sentAgain = { destination: '/remote-temp-queue/s.1', body: again, headers: cid, time: at(900) };

    // The request had no correlation-id: the worker answers with the request id, which its record holds.
    const noHeader = await scanWith([{ destination: '/queue/paygate.card', body: request, time: at(0) }, answered, sentAgain], [record], { windowLeadMs: 0 });
    expect(noHeader.report.anomalies.total).toBe(0);
    expect(noHeader.report.trail).toMatchObject({ replies_by_correlation: 1 });

    // The same id, but the recorded request was never captured (only a record names the id): not tied.
    const uncaptured = await scanWith([answered, sentAgain], [record], { windowLeadMs: 0 });
    expect(uncaptured.report.trail).toMatchObject({ replies_by_correlation: 0 });
    expect(uncaptured.report.anomalies.listed.filter((a) => a.kind === 'unrecorded_message').map((a) => a.seq)).toEqual([2]);

    // A reply captured before the request it names: not tied.
    const early = { ...sentAgain, time: at(0) };
    const before = await scanWith([early, { destination: '/queue/paygate.card', body: request, headers: cid, time: at(10) }, answered], [record], { windowLeadMs: 0 });
    expect(before.report.trail).toMatchObject({ replies_by_correlation: 0, matched_replies: 1 });
    expect(before.report.anomalies.listed.map((a) => [a.kind, a.seq])).toEqual([['unrecorded_message', 1]]);

    // A request no record names: its correlation id ties nothing.
    const unrecorded = sealedRequest(p);
    const foreign = await scanWith([
      { destination: '/queue/paygate.card', body: request, time: at(0) }, answered,
      { destination: '/queue/paygate.card', body: unrecorded, headers: [['correlation-id', 'x-1']], time: at(100) },
      { destination: '/remote-temp-queue/s.2', body: again, headers: [['correlation-id', 'x-1']], time: at(200) },
    ], [record], { windowLeadMs: 0 });
    expect(foreign.report.trail).toMatchObject({ replies_by_correlation: 0 });
    expect(foreign.report.anomalies.listed.map((a) => [a.kind, a.seq])).toEqual([['unrecorded_message', 3], ['unrecorded_message', 4]]);
  });

  it('the window: a record of a request sent before the capture began, and one ending after it, are not expected on the wire; one inside is', async () => {
    const messages = [0, 60_000, 120_000].map((t) => ({ destination: '/queue/paygate.card', body: sealedRequest(p), time: at(t) }));
    const records = messages.map((m) => auditRecord({ time: new Date(m.time.getTime() + 10), request: m.body }));
    const early = auditRecord({ time: at(20_000), request: sealedRequest(p), durationMs: 10 }); // reached the worker 20 s in: may predate the capture
    const late = auditRecord({ time: at(125_000), request: sealedRequest(p) }); // after the capture's last message
    const inside = auditRecord({ time: at(90_000), request: sealedRequest(p) });
    const { report: r } = await scanWith(messages, [...records, early, late, inside]);
    expect(r.anomalies.by_kind).toEqual({ unseen_message: 1 });
    expect(r.anomalies.listed[0]?.body_sha256).toBe(inside.request_body_sha256);
    expect(r.trail?.records_expected).toBe(3); // the records at 60 s, 90 s and 120 s
    // With no lead, the early record is expected too.
    const strict = await scanWith(messages, [...records, early, late, inside], { windowLeadMs: 0 });
    expect(strict.report.anomalies.by_kind).toEqual({ unseen_message: 2 });
  });

  it('captured messages after the trail\'s last record are not judged (their records may not be written yet); an empty trail judges all', async () => {
    const messages = [0, 60_000].map((t) => ({ destination: '/queue/paygate.card', body: sealedRequest(p), time: at(t) }));
    const partial = await scanWith(messages, [auditRecord({ time: at(10), request: messages[0]?.body as Buffer })]);
    expect(partial.report.verdict).toBe('clean');
    expect(partial.report.trail?.messages_judged).toBe(1);
    const empty = await scanWith(messages, []);
    expect(empty.report.anomalies.by_kind).toEqual({ unrecorded_message: 2 });
    expect(empty.report.trail).toMatchObject({ records: 0, matched_requests: 0 });
  });

  it('checkpoints and entries that are not audit records are skipped, not matched', async () => {
    const request = sealedRequest(p);
    const path = writeTrail([auditRecord({ time: at(10), request })]);
    const store = openSqliteFeedStore({ path });
    try {
      startCheckpointer({ store, identity: loadIdentity(p.pki.feed.certPem, p.pki.feed.keyPem), intervalMs: 0 }).checkpoint('audit');
      store.append('audit', { title: 'note', content: 'not a record' });
    } finally {
      store.close();
    }
    const capture = await writeCapture([{ destination: '/queue/paygate.card', body: request, time: at(0) }]);
    const trail = openSqliteSource(path, 'audit');
    try {
      const { report: r, unreadableRecords } = await scanTrafficDetailed({ capture, trail });
      expect(r.verdict).toBe('clean');
      expect(r.trail).toMatchObject({ records: 1, matched_requests: 1, source: path });
      expect(unreadableRecords).toBe(1);
    } finally {
      trail.close();
    }
  });

  it('bad options are AUDIT_BAD_OPTION naming the field', async () => {
    await expect(scanTraffic({ capture: '' })).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION', message: expect.stringContaining('capture') });
    await expect(scanTraffic({ capture: 'x', minRsaBits: 10 })).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION', message: expect.stringContaining('minRsaBits') });
    await expect(scanTraffic({ capture: 'x', certificates: ['not a pem'] })).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION', message: 'certificates[0] holds no PEM certificate' });
  });
});
