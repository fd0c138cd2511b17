// The traffic audit end to end, on every broker of the matrix: capture on (the embedded broker's
// tap; RabbitMQ's firehose and ActiveMQ's mirrored queues read by the audit login), a real
// `paygate gateway` answers 2,000 SDK requests over the three plugins, its workers' events go to
// a real `paygate feed`; then `paygate audit scan` of the capture, with the audit trail, must count
// exactly the requests, replies and events sent, report the crypto profile actually used, and
// find no anomaly: every message encrypted to a known recipient, every request and reply matched
// to its record and every record to its messages. `paygate audit report` renders the same.
//
// The external brokers are shared with the other test files running at the same time: their
// traffic is in the capture too. The scan is given this run's share (traffic-audit-capture.ts
// says how it is told apart); everything this run sent must be in it, once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { GatewayChild } from '../../bench/chaos/gateway.ts';
import { isCheckpoint } from '../../src/audit/checkpoint.ts';
import type { AuditRecord } from '../../src/audit/events.ts';
import type { ScanReport } from '../../src/audit/traffic/index.ts';
import { parseTestBrokers, startTestBroker, type BrokerDescriptor } from '../helpers/brokers.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { FeedChild, newToken, readFeed, writeFeedConfig } from './audit-trail-feed.ts';
import { runWorkload, type SentRequest } from './audit-trail-workload.ts';
import { freePort, startGateway, startSandboxes, startShop, trailQueues, writeGatewayConfig, type Shop, type TrailQueues } from './audit-trail-world.ts';
import { runPaygate } from './request-path-support.ts';
import { extractRun, startExternalCapture, startTappedBroker, type RunningCapture } from './traffic-audit-capture.ts';

const REQUESTS = 2_000;
const IN_FLIGHT = 64;
/** For a condition that holds within seconds on an idle machine (a deadline for failures, not a pace). */
const SETTLE_MS = 90_000;

/** One key type per broker, so that both key transports of the profile cross a real broker. */
const PROFILE = {
  embedded: { algo: 'ec', keyManagement: 'ecdh-p256-sha256kdf-aes256wrap' },
  rabbitmq: { algo: 'rsa', keyManagement: 'rsaes-oaep-sha256' },
  activemq: { algo: 'ec', keyManagement: 'ecdh-p256-sha256kdf-aes256wrap' },
} as const;

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('the traffic audit on $name', (descriptor) => {
  const profile = PROFILE[descriptor.name];
  let pki: TestPki;
  let dir: string;
  let queues: TrailQueues;
  let capture: RunningCapture;
  let feed: FeedChild;
  let shop: Shop;
  let broker: BrokerDescriptor & { port: number };
  const reader = newToken();
  let failed = false;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'paygate-traffic-'));
    queues = trailQueues();
    pki = await makeTestPki({ algo: profile.algo });
    if (descriptor.name === 'embedded') {
      const tapped = await startTappedBroker(join(dir, 'capture'));
      stops.push(() => tapped.broker.stop());
      capture = tapped.capture;
      broker = { ...descriptor, host: tapped.broker.host, port: tapped.broker.port };
    } else {
      const started = await startTestBroker(descriptor);
      broker = started.descriptor as BrokerDescriptor & { port: number };
      capture = await startExternalCapture(broker, join(dir, 'capture'), `t${queues.run}`);
    }
    stops.push(() => capture.stop());
    const feedPort = await freePort();
    const feedConfig = writeFeedConfig(dir, broker, pki, { port: feedPort, eventsQueue: queues.events, readerTokenSha256: reader.sha256 });
    feed = new FeedChild(feedConfig, join(dir, 'feed.log'), `http://127.0.0.1:${feedPort}`, reader.token);
    await feed.start(SETTLE_MS);
    stops.push(() => feed.stop());
    const { endpoints } = await startSandboxes(pki, stops);
    const statusPort = await freePort();
    const config = writeGatewayConfig(dir, broker, pki, endpoints, queues, statusPort, { queue: queues.events, recipient: pki.feed.certPath });
    const gateway: GatewayChild = await startGateway(dir, config, statusPort);
    stops.push(() => gateway.stop());
    shop = await startShop(broker, pki, queues);
    stops.push(() => shop.close(2_000));
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (failed || process.env.PAYGATE_TRAIL_KEEP !== undefined) process.stderr.write(`traffic audit on ${descriptor.name}: kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('counts exactly the requests, replies and events sent, reports the profile used, and matches every message to the trail', async () => {
    onTestFailed(() => {
      failed = true;
    });
    // A reply that reaches the shop after its request was answered (a second answer, below) still crossed the broker.
    let lateReplies = 0;
    shop.on('late-reply', () => void (lateReplies += 1));
    const sent = await runWorkload(shop, { requests: REQUESTS, inFlight: IN_FLIGHT, seed: 11, keyPrefix: `traffic-${queues.run}` });
    expect(sent.filter((s) => s.answer.kind === 'timeout')).toEqual([]);
    const records = await settledRecords(sent);
    // One record per request processed. A worker that lost its broker connection mid-request (a
    // missed heart-beat on a loaded machine) has its request redelivered to another worker, and both
    // answer: two replies really crossed the broker, each with its record, and the shop saw the
    // second as a late reply. An events message may cross twice too (sent again after a lost
    // receipt) for one record. So requests are counted against what the shop sent, replies against
    // what it received, and events at least once per record.
    expect(new Set(records.map((r) => r.request_id))).toEqual(new Set(sent.map((s) => s.requestId)));
    const replies = records.filter((r) => r.reply_body_sha256 !== undefined);
    expect(replies).toHaveLength(records.length);
    // Every body the trail names is on the wire before the capture stops (a deadline, not a pace).
    const digests = records.flatMap((r) => [r.request_body_sha256, r.reply_body_sha256 ?? '']);
    await until(() => digests.every((d) => capture.seen.has(d)), 'every request and reply the trail names was captured');
    await capture.stop();

    const share = join(dir, 'run-capture');
    const kept = await extractRun(join(dir, 'capture'), share, {
      requestPrefix: queues.prefix,
      eventsQueue: queues.events,
      correlationIds: new Set(sent.map((s) => s.requestId)),
      replyDigests: new Set(replies.map((r) => r.reply_body_sha256 ?? '')),
    });
    const repliesSent = REQUESTS + lateReplies;

    const html = join(dir, 'report.html');
    const run = await runPaygate([
      'audit', 'report', share, '--db', join(dir, 'feed.sqlite'), '--trust', pki.ca.certPath,
      '--certs', pki.gateway.certPath, '--certs', pki.client.certPath, '--certs', pki.feed.certPath,
      '--request-prefix', queues.prefix, '--events-queue', queues.events, '--window-lead-ms', '0', '--out', html, '--json', '-',
    ]);
    expect(run.stderr).toMatch(new RegExp(`^CLEAN: ${kept} messages, 0 anomalies, audit chain intact`));
    const report = JSON.parse(run.stdout) as ScanReport;
    expect(report.anomalies.listed).toEqual([]);
    expect({ exit: run.code, verdict: report.verdict, anomalies: report.anomalies.total }).toEqual({ exit: 0, verdict: 'clean', anomalies: 0 });
    expect(report.counts).toMatchObject({ request: REQUESTS, reply: repliesSent, dead_letter: 0, encrypted: kept, clear: 0 });
    expect(report.counts.events).toBeGreaterThanOrEqual(records.length);
    expect(report.counts.request + report.counts.reply + report.counts.events).toBe(kept);
    expect(report.ciphers).toEqual([
      expect.objectContaining({ content_encryption: 'aes-256-gcm', key_management: profile.keyManagement, messages: kept, status: 'approved' }),
    ]);
    expect(report.trail).toMatchObject({ records: records.length, matched_requests: REQUESTS, matched_replies: repliesSent, chain: { intact: true } });
    const byProvider = Object.fromEntries(report.providers.filter((p) => p.requests > 0).map((p) => [p.provider, p.requests]));
    expect(byProvider).toEqual(countBy(sent, (s) => s.provider));
    // Every recipient is one of the three certificates: requests to the gateway, replies to the shop, events to the feed.
    expect(report.recipients.map((r) => [r.certificate?.subject, r.messages]).sort()).toEqual(
      [[expect.stringContaining('client'), repliesSent], [expect.stringContaining('feed'), report.counts.events], [expect.stringContaining('gateway'), REQUESTS]],
    );
    expect(readFileSync(html, 'utf8')).toContain('data-figure="counts.request"');
  }, 600_000);

  /**
   * The audit records of the run, once every request sent has one and their number held still
   * between two reads (or the deadline passed: the checks then say what is missing).
   */
  async function settledRecords(sent: readonly SentRequest[]): Promise<AuditRecord[]> {
    let records: AuditRecord[] = [];
    let previous = -1;
    await until(async () => {
      const read = await readFeed(feed.url, 'audit', reader.token, 1_000);
      records = read.entries.filter((e) => !isCheckpoint(e)).map((e) => JSON.parse(e.content) as AuditRecord);
      const settled = new Set(records.map((r) => r.request_id)).size === sent.length && records.length === previous;
      previous = records.length;
      return settled;
    }, `an audit record for each of ${sent.length} requests`).catch(() => undefined);
    return records;
  }
});

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Polls `condition` until it holds; rejects at the deadline, naming what was awaited. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + SETTLE_MS;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
