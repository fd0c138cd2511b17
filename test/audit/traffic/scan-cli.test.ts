/**
 * `paygate audit scan` as an auditor runs it (the real bin, in a child process): exit 0 and CLEAN
 * for clean traffic with its trail (from the file and over HTTP with the token from the
 * environment), 2 with the anomalies listed and no card number printed, 1 with one stderr line
 * for a truncated or corrupt capture, an unreadable trail and bad options; `--json` is the report.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteSource } from '../../../src/audit/index.ts';
import { scanTraffic, type ScanReport } from '../../../src/audit/traffic/index.ts';
import { openSqliteFeedStore, startFeedServer, type FeedServer, type FeedStore } from '../../../src/feed/index.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { makeTestPki } from '../../helpers/pki.ts';
import { auditRecord, parties, pemFile, sealedReply, sealedRequest, tempDir, writeCapture, writeTrail, type Parties } from './scan-fixtures.ts';

const BIN = fileURLToPath(new URL('../../../bin/paygate.js', import.meta.url));
const TOKEN = 'scan-auditor-token-7';
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);

interface Run { code: number; stdout: string; stderr: string }

function paygate(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, 'audit', 'scan', ...args], { env: { ...process.env, PAYGATE_FEED_TOKEN: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error as { code?: unknown }).code;
      if (typeof code !== 'number') reject(error ?? new Error('no exit code'));
      else resolve({ code, stdout, stderr });
    });
  });
}

let p: Parties;
let clean: string;
let dirty: string;
let trailPath: string;
let certs: string;
let store: FeedStore;
let server: FeedServer;

beforeAll(async () => {
  p = parties(await makeTestPki());
  const request = sealedRequest(p);
  const reply = sealedReply(p);
  clean = await writeCapture([
    { destination: '/queue/paygate.card', body: request, time: at(0), headers: [['correlation-id', 'c-1']] },
    { destination: '/remote-temp-queue/s.1', body: reply, time: at(20), headers: [['correlation-id', 'c-1']] },
  ]);
  trailPath = writeTrail([auditRecord({ time: at(30), request, reply })]);
  dirty = await writeCapture([
    { destination: '/queue/paygate.card', body: request, time: at(0), headers: [['x-order-ref', '4111-1111-1111-1111']] },
    { destination: '/queue/paygate.card', body: Buffer.from('paygate_request: 1\npan: 5500 0000 0000 0004\n'), time: at(10) },
  ]);
  certs = pemFile(p.knownPems.join(''));
  store = openSqliteFeedStore({ path: trailPath });
  server = await startFeedServer(store, {
    listen: { host: '127.0.0.1' },
    clients: [{ name: 'auditor', tokenSha256: createHash('sha256').update(TOKEN).digest('hex'), feeds: { '*': ['read'] } }],
  });
});
afterAll(async () => {
  await server.close();
  store.close();
});

/** A copy of the clean capture's only segment, changed by `edit`. */
function damaged(edit: (text: string) => string): string {
  const segment = readdirSync(clean).find((n) => n.endsWith('.jsonl')) as string;
  const path = join(tempDir('damaged'), segment);
  writeFileSync(path, edit(readFileSync(join(clean, segment), 'utf8')));
  return path;
}

describe('paygate audit scan', () => {
  it('exit 0 and CLEAN for clean traffic with its trail, from the file or over HTTP with the token from the environment', async () => {
    const [file, http] = await Promise.all([
      paygate([clean, '--db', trailPath, '--certs', certs]),
      paygate([clean, '--feed', `${server.url}/feeds/audit`, '--certs', certs], { PAYGATE_FEED_TOKEN: TOKEN }),
    ]);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout).toMatch(/^capture .*: 2 messages in 1 segment \(\d+ bytes\), 2026-03-02T10:00:00.000Z .. 2026-03-02T10:00:00.020Z, from embedded$/m);
    expect(file.stdout).toContain('messages: 1 requests, 1 replies, 0 events, 0 dead letters, 0 other; 2 encrypted, 0 readable');
    expect(file.stdout).toContain('  aes-256-gcm + rsaes-oaep-sha256 (RSA-2048): 2 messages, approved');
    expect(file.stdout).toMatch(/trail .*feed\.sqlite: 1 records .*; matched 1 of 1 requests and 1 of 1 replies/);
    expect(file.stdout.trim().split('\n').at(-1)).toBe('CLEAN');
    expect(http.code, http.stderr).toBe(0);
    expect(http.stdout).toMatch(/trail http:\/\/127\.0\.0\.1:\d+\/feeds\/audit: 1 records/);
    expect(http.stdout).not.toContain(TOKEN);
  });

  it('exit 2 listing the anomalies, card numbers masked; --json is the report scanTraffic gives', async () => {
    const [text, json] = await Promise.all([paygate([dirty, '--certs', certs]), paygate([dirty, '--certs', certs, '--json'])]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('anomalies: 3 (card_data 2, clear_body 1)');
    expect(text.stdout).toContain('#1 2026-03-02T10:00:00.000Z /queue/paygate.card card_data: a card number (411111******1111) in header x-order-ref');
    expect(text.stdout).toContain('#2 2026-03-02T10:00:00.010Z /queue/paygate.card card_data: a card number (550000******0004) in body');
    expect(text.stdout.trim().split('\n').at(-1)).toBe('ANOMALIES');
    expect(findPans(text.stdout + text.stderr + json.stdout + json.stderr)).toEqual([]);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as ScanReport;
    const direct = await scanTraffic({ capture: dirty, certificates: p.knownPems });
    expect({ ...report, generated_at: '' }).toEqual({ ...direct, generated_at: '' });
  });

  it('a RabbitMQ capture (no STOMP headers): clean, with its limitation stated in the summary, before and in the verdict line, and in --json; the window figures printed', async () => {
    const request = sealedRequest(p);
    const reply = sealedReply(p);
    const rabbit = await writeCapture([
      { destination: '/queue/paygate.card', body: request, time: at(0), source: 'rabbitmq' },
      { destination: '/reply-queue/amq.gen-x1', body: reply, time: at(20), source: 'rabbitmq' },
    ]);
    const rabbitTrail = writeTrail([auditRecord({ time: at(30), durationMs: 10, request, reply })]);
    const [text, json] = await Promise.all([paygate([rabbit, '--db', rabbitTrail, '--window-lead-ms', '0']), paygate([rabbit, '--json'])]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('CLEAN (with 1 limitation: rabbitmq headers_not_captured)');
    expect(lines.at(-2)).toMatch(/^LIMITATION \(rabbitmq\): headers_not_captured: RabbitMQ's firehose, read over STOMP, drops the STOMP headers .*card numbers in headers could not be looked for/);
    expect(text.stdout).toContain('  window: 1 records expected on the wire, 2 captured requests and replies judged against the trail; 0 captured duplicates');
    const report = JSON.parse(json.stdout) as ScanReport;
    expect(report.limitations).toEqual([{ source: 'rabbitmq', limitation: 'headers_not_captured', detail: expect.stringContaining('correlation id') }]);
    expect(report.verdict).toBe('clean');
    const embedded = await scanTraffic({ capture: clean });
    expect(embedded.limitations).toEqual([]);
  });

  it('--max-replies-by-correlation must be a non-negative integer', async () => {
    const run = await paygate([clean, '--max-replies-by-correlation', '-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: --max-replies-by-correlation must be a non-negative integer/);
  });

  it('exit 1 with one line for a truncated or corrupt capture', async () => {
    const truncated = damaged((text) => text.slice(0, text.length - 40));
    const corrupt = damaged((text) => text.replace(/"body":"(.)/, (_, c: string) => `"body":"${c === 'A' ? 'B' : 'A'}`));
    const [cut, bad] = await Promise.all([paygate([truncated]), paygate([corrupt])]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/^paygate: AUDIT_CAPTURE_TRUNCATED: segment-000001\.jsonl ends inside line 2 \(\d+ bytes without an end of line, after record 1\): the capture was cut mid-write\n$/);
    expect(cut.stdout).toBe('');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('paygate: AUDIT_CAPTURE_CORRUPT: segment-000001.jsonl line 1: the body does not match its SHA-256\n');
  });

  it('exit 1 with one line for a trail or options it cannot use', async () => {
    const runs = await Promise.all([
      paygate([clean, '--db', join(tempDir('nofeed'), 'missing.sqlite')]),
      paygate([clean, '--db', trailPath, '--feed', 'http://127.0.0.1:1/feeds/audit']),
      paygate([clean, '--min-rsa-bits', 'lots']),
      paygate([clean, '--certs', join(tempDir('nocert'), 'none.pem')]),
      paygate([clean, '--feed', `${server.url}/feeds/audit`], { PAYGATE_FEED_TOKEN: 'wrong-token' }),
      paygate([join(tempDir('empty'), 'nothing')]),
    ]);
    const expected = [
      /^paygate: AUDIT_SOURCE_FAILED: cannot read the feed store .*missing\.sqlite/,
      /^error: give at most one of --feed <url> and --db <file>/,
      /^error: --min-rsa-bits must be a non-negative integer/,
      /^paygate: FILE_UNREADABLE: /,
      /^paygate: AUDIT_SOURCE_FAILED: /,
      /^paygate: AUDIT_CAPTURE_FAILED: cannot read the capture /,
    ];
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(expected[i] as RegExp);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    });
  });

  it('the trail read with openSqliteSource and the CLI agree on the matching', async () => {
    const trail = openSqliteSource(trailPath, 'audit');
    try {
      const r = await scanTraffic({ capture: clean, trail });
      expect(r.trail).toMatchObject({ records: 1, matched_requests: 1, matched_replies: 1 });
    } finally {
      trail.close();
    }
  });
});
