/**
 * `paygate audit report` as an auditor runs it (the real bin, in a child process), on a capture
 * of really sealed messages (the dev PKI, RSA-OAEP and AES-256-GCM) and an audit trail in a feed
 * store with a signed checkpoint: the scan and the chain verification end up in one HTML page
 * that chromium opens without a request or an error, and the `--json` document is exactly what
 * the page was rendered from. Exit 0 clean, 2 for anomalies or a broken chain alone, 1 with one
 * stderr line and no file written when no report can be made.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCheckpointer } from '../../../src/audit/index.ts';
import { bodyDigest, openCaptureWriter } from '../../../src/audit/capture/index.ts';
import { renderReportHtml } from '../../../src/audit/traffic/report-html.ts';
import type { ScanReport } from '../../../src/audit/traffic/scan-report.ts';
import { Certificate, loadIdentity, seal } from '../../../src/wire/index.ts';
import { feedStores } from '../../feed/support.ts';
import { ARTIFACTS, launchChromium, pageFigures, screenshot, visit } from '../../helpers/browser.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { makeTestPki, type TestPki } from '../../helpers/pki.ts';
import { tamper } from '../support.ts';

const BIN = fileURLToPath(new URL('../../../bin/paygate.js', import.meta.url));
const REQUESTS = 8;
const PAN = '4111 1111 1111 1111';
const T0 = Date.parse('2026-12-07T10:00:00.000Z');

interface Run { code: number; stdout: string; stderr: string }

function paygate(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, PAYGATE_FEED_TOKEN: '' }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error as { code?: unknown }).code;
      if (typeof code !== 'number') reject(error ?? new Error('no exit code'));
      else resolve({ code, stdout, stderr });
    });
  });
}

const stores = feedStores();
let pki: TestPki;
let dir: string;
let capture: string;
let trail: string;
let tampered: string;
let browser: Browser;

/**
 * A capture of REQUESTS sealed card requests and their sealed replies (one second apart), and the
 * trail naming each pair's digests; the last request is refused. Returns the capture folder.
 */
async function buildCapture(into: string, extra?: (write: (destination: string, body: Buffer, at: number, headers?: [string, string][]) => void) => void): Promise<{ requests: Buffer[]; replies: Buffer[] }> {
  const writer = await openCaptureWriter(into);
  const client = loadIdentity(pki.client.certPem, pki.client.keyPem);
  const gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
  const requests: Buffer[] = [];
  const replies: Buffer[] = [];
  const write = (destination: string, body: Buffer, at: number, headers: [string, string][] = []): void => {
    writer.write({ time: new Date(at), source: 'embedded', destination, headers: [['destination', destination], ['correlation-id', `c${at}`], ...headers], body });
  };
  for (let i = 0; i < REQUESTS; i++) {
    const request = Buffer.from(seal(`paygate: 1\ntype: authorize\nn: ${i}\n`, { recipients: [Certificate.from(pki.gateway.certPem)], signer: client }), 'latin1');
    const reply = Buffer.from(seal(`paygate: 1\nstatus: approved\nn: ${i}\n`, { recipients: [Certificate.from(pki.client.certPem)], signer: gateway }), 'latin1');
    writer.write({ time: new Date(T0 + i * 1000), source: 'embedded', destination: '/queue/paygate.card', headers: [['destination', '/queue/paygate.card'], ['correlation-id', `c${i}`], ['reply-to', `/temp-queue/r${i}`]], body: request });
    writer.write({ time: new Date(T0 + i * 1000 + 400), source: 'embedded', destination: `/temp-queue/r${i}`, headers: [['destination', `/temp-queue/r${i}`], ['correlation-id', `c${i}`]], body: reply });
    requests.push(request);
    replies.push(reply);
  }
  extra?.(write);
  await writer.close();
  return { requests, replies };
}

/** A feed store whose audit feed holds one record per captured pair (the last one refused), checkpointed after the fourth. */
function buildTrail(requests: Buffer[], replies: Buffer[]): string {
  const { store, path } = stores.open();
  const checkpointer = startCheckpointer({ store, identity: loadIdentity(pki.feed.certPem, pki.feed.keyPem), intervalMs: 0 });
  requests.forEach((request, i) => {
    const refused = i === REQUESTS - 1;
    const record = {
      time: new Date(T0 + i * 1000 + 300).toISOString(), request_id: `7d0c${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`, correlation_id: `c${i}`,
      provider: 'card', type: 'authorize', outcome: refused ? { status: 'error', code: 'VALIDATION_FAILED' } : { status: 'approved' },
      replayed_from_store: false, request_body_sha256: bodyDigest(request), reply_body_sha256: bodyDigest(replies[i]!), worker: 'w1', duration_ms: 20,
    };
    store.append('audit', { title: `card authorize ${record.outcome.status}`, content: JSON.stringify(record), contentType: 'application/json' }, { chained: true });
    if (i === 3) checkpointer.checkpoint('audit');
  });
  return path;
}

beforeAll(async () => {
  pki = await makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'paygate-report-cli-'));
  capture = join(dir, 'capture');
  const { requests, replies } = await buildCapture(capture);
  trail = buildTrail(requests, replies);
  tampered = buildTrail(requests, replies);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

const common = (): string[] => ['--certs', pki.gateway.certPath, '--certs', pki.client.certPath, '--window-lead-ms', '0'];

// Each test runs the real bin (tsx from the sources) in child processes: slow on a loaded CI machine.
describe('paygate audit report', { timeout: 120_000 }, () => {
  it('a clean capture with its intact trail: exit 0, a page chromium shows as the JSON says, the JSON exactly what the page was rendered from', async () => {
    const out = join(dir, 'clean.html');
    const json = join(dir, 'clean.json');
    const run = await paygate(['audit', 'report', capture, '--db', trail, '--trust', pki.ca.certPath, ...common(), '--out', out, '--json', json]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`CLEAN: ${REQUESTS * 2} messages, 0 anomalies, audit chain intact (${REQUESTS + 1} entries); report written to ${out}\n`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ScanReport;
    expect(report.verdict).toBe('clean');
    expect(report.counts).toMatchObject({ request: REQUESTS, reply: REQUESTS, encrypted: REQUESTS * 2, clear: 0 });
    expect(report.ciphers).toEqual([{ content_encryption: 'aes-256-gcm', key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: REQUESTS * 2, status: 'approved' }]);
    expect(report.trail).toMatchObject({ records: REQUESTS, matched_requests: REQUESTS, matched_replies: REQUESTS, refusals: [{ code: 'VALIDATION_FAILED', count: 1 }] });
    expect(report.trail?.chain).toEqual({ intact: true, entries: REQUESTS + 1, checkpoints: 1 });
    const html = readFileSync(out, 'utf8');
    expect(html).toBe(renderReportHtml(report));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    copyFileSync(out, join(ARTIFACTS, 'audit-report-cli.html'));
    const v = await visit(browser, out);
    try {
      const figures = new Map(await pageFigures(v.page));
      expect([figures.get('verdict'), figures.get('counts.request'), figures.get('trail.matched_replies'), figures.get('chain.status'), figures.get('refusal[1].code')])
        .toEqual(['clean', String(REQUESTS), String(REQUESTS), 'intact', 'VALIDATION_FAILED']);
      await screenshot(v.page, 'audit-report-cli');
      expect(v.requests).toEqual([v.url]);
      expect(v.console).toEqual([]);
      expect(v.pageErrors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('a broken chain alone fails the report (exit 2), naming the entry; the scan itself is still clean', async () => {
    const copy = tampered;
    tamper(copy, (db) => db.prepare("UPDATE entries SET title = 'card authorize declined' WHERE feed = 'audit' AND seq = 3").run());
    const out = join(dir, 'broken.html');
    const run = await paygate(['audit', 'report', capture, '--db', copy, '--trust', pki.ca.certPath, ...common(), '--out', out, '--json', '-']);
    expect(run.code, run.stderr).toBe(2);
    const report = JSON.parse(run.stdout) as ScanReport;
    expect(report.verdict).toBe('clean');
    expect(report.trail?.chain).toMatchObject({ intact: false, entries: 2, broken: { seq: 3, problem: 'altered' } });
    expect(run.stderr).toMatch(/^NOT CLEAN: .* audit chain BROKEN at seq 3; report written to /);
    expect(readFileSync(out, 'utf8')).toBe(renderReportHtml(report));
  });

  it('anomalies (a readable body, a card number in a header) fail the report (exit 2); without --trust the chain is not checked', async () => {
    const bad = join(dir, 'capture-bad');
    await buildCapture(bad, (write) => {
      write('/queue/paygate.card', Buffer.from('type: authorize\namount: 10\n'), T0 + 20_000, [['x-note', `card ${PAN}`]]);
    });
    const out = join(dir, 'bad.html');
    const run = await paygate(['audit', 'report', bad, ...common(), '--out', out, '--json', join(dir, 'bad.json')]);
    expect(run.code, run.stderr).toBe(2);
    const report = JSON.parse(readFileSync(join(dir, 'bad.json'), 'utf8')) as ScanReport;
    expect(report.anomalies.by_kind).toEqual({ clear_body: 1, card_data: 1 });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('411111******1111');
    expect([...findPans(html), ...findPans(JSON.stringify(report))]).toEqual([]);
    expect(report.trail).toBeUndefined();
    const v = await visit(browser, out);
    try {
      const figures = new Map(await pageFigures(v.page));
      expect([figures.get('verdict'), figures.get('anomalies.kind:clear_body'), figures.get('chain.status'), figures.get('trail')]).toEqual(['anomalies', '1', 'not_checked', 'none']);
      expect(v.console).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('no report can be made: exit 1, one stderr line, no file left (truncated capture, --trust without a trail, unwritable --out, missing --out)', async () => {
    const cut = join(dir, 'capture-cut');
    await buildCapture(cut);
    const segment = join(cut, readdirSync(cut).find((f) => f.endsWith('.jsonl')) ?? '');
    const text = readFileSync(segment);
    writeFileSync(segment, text.subarray(0, text.length - 100));
    const out = join(dir, 'none.html');
    const runs = await Promise.all([
      paygate(['audit', 'report', cut, '--out', out]),
      paygate(['audit', 'report', capture, '--trust', pki.ca.certPath, '--out', out]),
      paygate(['audit', 'report', capture, '--out', join(dir, 'no-such-folder', 'r.html')]),
      paygate(['audit', 'report', capture]),
      paygate(['audit', 'report', join(dir, 'no-capture-here'), '--out', out]),
    ]);
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
      expect(run.stdout).toBe('');
    }
    const [truncated, trustless, unwritable, noOut, missing] = runs.map((r) => r.stderr);
    expect(truncated).toMatch(/^paygate: AUDIT_CAPTURE_TRUNCATED: /);
    expect(trustless).toMatch(/--trust verifies the audit trail/);
    expect(unwritable).toMatch(/^paygate: FILE_UNWRITABLE: --out .*no-such-folder/);
    expect(noOut).toMatch(/--out/);
    expect(missing).toMatch(/^paygate: AUDIT_CAPTURE_FAILED: /);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
