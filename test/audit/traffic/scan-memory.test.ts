/**
 * Bounded memory: a capture of 200,000 messages with a trail of 200,000 records is scanned in a
 * child process with a small heap (`--max-old-space-size=96`), which measures its own heap after
 * a full GC at 50,000 messages, at the end of the capture and after the trail's matching. The heap
 * must not grow with the messages (any per-message structure in JavaScript, even 20 bytes a
 * message, would show as megabytes here); the matching lives in SQLite's bounded page cache.
 * No time is asserted.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openCaptureWriter } from '../../../src/audit/capture/index.ts';
import { algorithm, ctx, ctxPrimitive, int, octets, oid, seq, set, toDer } from '../../../src/wire/der.ts';
import { OID } from '../../../src/wire/profile.ts';
import { auditRecord, tempDir, writeTrail } from './scan-fixtures.ts';

const MESSAGES = 200_000;
const FIRST_MARK = 50_000;
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A small AuthEnvelopedData (one OAEP-SHA-256 RSA-2048 recipient); its last 16 bytes are the GCM tag, varied per message. */
function envelopeTemplate(): Buffer {
  const issuer = seq([]);
  const oaep = algorithm(OID.rsaesOaep, seq([ctx(0, [algorithm(OID.sha256)]), ctx(1, [algorithm(OID.mgf1, algorithm(OID.sha256))])]));
  const ri = seq([int(0), seq([issuer, int(7)]), oaep, octets(Buffer.alloc(256, 1))]);
  const body = seq([int(0), set([ri]), seq([oid(OID.data), algorithm(OID.aes256Gcm, seq([octets(Buffer.alloc(12)), int(16)])), ctxPrimitive(0, Buffer.alloc(64, 2))]), octets(Buffer.alloc(16))]);
  return toDer(seq([oid(OID.authEnvelopedData), ctx(0, [body])]));
}

const CHILD = `
import { scanTrafficDetailed } from ${JSON.stringify(join(ROOT, 'src/audit/traffic/index.ts'))};
import { openSqliteSource } from ${JSON.stringify(join(ROOT, 'src/audit/index.ts'))};
const { capture, trailPath, total, mark } = JSON.parse(process.env.SCAN_ARGS);
const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
const marks = {};
const trail = openSqliteSource(trailPath, 'audit');
const d = await scanTrafficDetailed({ capture, trail, progressEvery: mark, onProgress: (n) => { if (n === mark) marks.first = heap(); if (n === total) marks.captureEnd = heap(); } });
trail.close();
marks.afterMatching = heap();
process.stdout.write(JSON.stringify({ ...marks, verdict: d.report.verdict, messages: d.report.capture.messages, matched: d.report.trail.matched_requests, maxRssKb: process.resourceUsage().maxRSS }));
`;

describe('scan memory', () => {
  it(`scans ${MESSAGES} messages and as many records with a heap that does not grow with them`, async () => {
    const template = envelopeTemplate();
    const dir = join(tempDir('scan-memory'), 'capture');
    const writer = await openCaptureWriter(dir);
    const bodies: Buffer[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const body = Buffer.from(template);
      body.writeUInt32BE(i, body.length - 4);
      writer.write({ source: 'embedded', destination: '/queue/paygate.card', headers: [['correlation-id', `c-${i}`]], body, time: new Date(T0 + i) });
      if (i % 10_000 === 9_999) await writer.flush();
      bodies.push(body);
    }
    await writer.close();
    const trailPath = writeTrail((function* () {
      for (let i = 0; i < MESSAGES; i++) yield auditRecord({ time: new Date(T0 + i + 5), request: bodies[i] as Buffer, durationMs: 1 });
    })());
    bodies.length = 0;

    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--expose-gc', '--max-old-space-size=96', '--input-type=module', '-e', CHILD],
        { cwd: ROOT, env: { ...process.env, SCAN_ARGS: JSON.stringify({ capture: dir, trailPath, total: MESSAGES, mark: FIRST_MARK }) }, maxBuffer: 1024 * 1024 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const result = JSON.parse(output) as { first: number; captureEnd: number; afterMatching: number; verdict: string; messages: number; matched: number; maxRssKb: number };
    expect(result).toMatchObject({ verdict: 'clean', messages: MESSAGES, matched: MESSAGES });
    const MB = 1024 * 1024;
    // 150,000 more messages, then 200,000 records: a few hundred kilobytes of noise, never megabytes.
    expect((result.captureEnd - result.first) / MB).toBeLessThan(3);
    expect((result.afterMatching - result.first) / MB).toBeLessThan(3);
    process.stdout.write(`scan-memory: heap ${(result.first / MB).toFixed(1)} → ${(result.captureEnd / MB).toFixed(1)} → ${(result.afterMatching / MB).toFixed(1)} MB, peak RSS ${(result.maxRssKb / 1024).toFixed(0)} MB\n`);
  }, 300_000);
});
