/**
 * Traffic scan benchmark (`npm run bench:audit`; a benchmark, never a test): builds captures of
 * realistic sealed traffic on disk (requests and replies sealed by paygate, 4–6 KB each, every one
 * with its own digest) and an audit trail with a record per request, then scans each in a child
 * process (`paygate audit scan` does the same work) and reports messages/s, MB/s of capture, and
 * the child's peak RSS (`process.resourceUsage().maxRSS` and /proc/self/status VmHWM at exit).
 *
 * Options: --messages 100000,1000000 (default), --no-trail, --dir PATH (default: a temp folder,
 * removed after unless --keep).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bodyDigest, openCaptureWriter } from '../src/audit/capture/index.ts';
import { openSqliteSource } from '../src/audit/index.ts';
import { scanTraffic } from '../src/audit/traffic/index.ts';
import { writeDevPki } from '../src/certs/devca.ts';
import { openSqliteFeedStore, type AppendRequest } from '../src/feed/index.ts';
import { Certificate, loadIdentity, seal } from '../src/wire/index.ts';
import { printTable } from './support.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000,1000000' },
    'no-trail': { type: 'boolean', default: false },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    child: { type: 'string' },
    trail: { type: 'string' },
  },
});

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const DISTINCT = 200;

if (args.child !== undefined) await child(args.child, args.trail);
else await main();

/** The scanning side: one scan, its figures as JSON on stdout. */
async function child(capture: string, trailPath: string | undefined): Promise<void> {
  const trail = trailPath === undefined ? undefined : openSqliteSource(trailPath, 'audit');
  const started = process.hrtime.bigint();
  const report = await scanTraffic({ capture, ...(trail === undefined ? {} : { trail }) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  trail?.close();
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  process.stdout.write(JSON.stringify({
    seconds, messages: report.capture.messages, bytes: report.capture.bytes, verdict: report.verdict, anomalies: report.anomalies.total,
    matched: report.trail?.matched_requests, maxRssKb: process.resourceUsage().maxRSS, vmHwmKb: Number(hwm),
  }));
}

async function main(): Promise<void> {
  const root = args.dir ?? mkdtempSync(join(tmpdir(), 'paygate-bench-scan-'));
  console.log(`# audit scan bench: ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const { pki } = await writeDevPki(join(root, 'pki'), { algo: 'rsa' });
  const client = loadIdentity(pki.client.certPem, pki.client.keyPem);
  const gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
  // Padding makes the sealed bodies 4–6 KB, as requests with a basket or a 3-D Secure payload are.
  const sealedBodies = (to: Certificate, signer: typeof client, kind: string): Buffer[] =>
    Array.from({ length: DISTINCT }, (_, i) =>
      Buffer.from(seal(`paygate_${kind}: 1\nid: ${randomUUID()}\nnote: ${'x'.repeat((i % 10) * 130)}\n`, { recipients: [to], signer }), 'latin1'));
  const requests = sealedBodies(Certificate.from(pki.gateway.certPem), client, 'request');
  const replies = sealedBodies(Certificate.from(pki.client.certPem), gateway, 'reply');
  const sizes = [...requests, ...replies].map((b) => b.length).sort((a, b) => a - b);
  console.log(`sealed bodies: ${sizes[0]}–${sizes.at(-1)} bytes`);
  const rows: string[][] = [];
  try {
    for (const total of args.messages.split(',').map(Number)) {
      const dir = join(root, `capture-${total}`);
      const trailPath = args['no-trail'] ? undefined : join(root, `trail-${total}.sqlite`);
      const built = Date.now();
      await build(dir, trailPath, total, requests, replies);
      console.log(`built ${total} messages${trailPath === undefined ? '' : ` and ${total / 2} records`} in ${((Date.now() - built) / 1000).toFixed(0)} s`);
      const r = await scanInChild(dir, trailPath);
      if (r.messages !== total || r.verdict !== 'clean') throw new Error(`unexpected scan result: ${JSON.stringify(r)}`);
      const mb = r.bytes / 1e6;
      rows.push([
        total.toLocaleString('en-US'), trailPath === undefined ? 'no' : `${(total / 2).toLocaleString('en-US')} records`, (mb / 1000).toFixed(2),
        r.seconds.toFixed(1), Math.round(total / r.seconds).toLocaleString('en-US'), (mb / r.seconds).toFixed(1),
        (r.maxRssKb / 1024).toFixed(0), (r.vmHwmKb / 1024).toFixed(0),
      ]);
      if (!args.keep) rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    if (!args.keep && args.dir === undefined) rmSync(root, { recursive: true, force: true });
  }
  printTable(['messages', 'trail', 'bodies GB', 's', 'messages/s', 'body MB/s', 'peak RSS MB (maxRSS)', 'VmHWM MB'], rows);
  console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

/** Requests and replies alternating, 10 ms apart, each body varied by one MIME header line; a record per request. */
async function build(dir: string, trailPath: string | undefined, total: number, requests: Buffer[], replies: Buffer[]): Promise<void> {
  const writer = await openCaptureWriter(dir);
  const store = trailPath === undefined ? undefined : openSqliteFeedStore({ path: trailPath });
  let batch: AppendRequest[] = [];
  try {
    for (let i = 0; i < total; i += 2) {
      const request = Buffer.concat([Buffer.from(`Content-ID: <${i}@bench>\n`), requests[(i / 2) % DISTINCT] as Buffer]);
      const reply = Buffer.concat([Buffer.from(`Content-ID: <${i}@bench>\n`), replies[(i / 2) % DISTINCT] as Buffer]);
      const correlation: [string, string] = ['correlation-id', `c-${i}`];
      writer.write({ source: 'embedded', destination: '/queue/paygate.card', headers: [correlation, ['reply-to', '/temp-queue/r']], body: request, time: new Date(T0 + i * 10) });
      writer.write({ source: 'embedded', destination: '/remote-temp-queue/s.r', headers: [correlation], body: reply, time: new Date(T0 + i * 10 + 5) });
      if (store !== undefined) {
        const record = {
          time: new Date(T0 + i * 10 + 8).toISOString(), request_id: randomUUID(), correlation_id: `c-${i}`, provider: 'card', type: 'authorize',
          outcome: { status: 'approved' }, replayed_from_store: false, request_body_sha256: bodyDigest(request), reply_body_sha256: bodyDigest(reply),
          worker: 'bench', duration_ms: 3,
        };
        batch.push({ feed: 'audit', entry: { title: 'card authorize approved', content: JSON.stringify(record), contentType: 'application/json', key: randomUUID() }, options: { chained: true } });
        if (batch.length >= 5000) {
          store.appendMany(batch);
          batch = [];
        }
      }
      if (i % 20_000 === 0) await writer.flush();
    }
    if (store !== undefined && batch.length > 0) store.appendMany(batch);
  } finally {
    store?.close();
    await writer.close();
  }
}

interface ChildResult { seconds: number; messages: number; bytes: number; verdict: string; anomalies: number; maxRssKb: number; vmHwmKb: number }

function scanInChild(capture: string, trailPath: string | undefined): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', self, '--child', capture, ...(trailPath === undefined ? [] : ['--trail', trailPath])],
      { maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as ChildResult)),
    );
  });
}
