import { appendFileSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyDigest, openCaptureWriter, readCapture, type CapturedMessage } from '../../../src/audit/capture/index.ts';

const dirs: string[] = [];

/** Renumbers a folder's segments from 1 (what is left once the first was removed looks whole by name). */
function renameAll(dir: string): void {
  readdirSync(dir).sort().forEach((name, i) => renameSync(join(dir, name), join(dir, `segment-${String(i + 1).padStart(6, '0')}.jsonl`)));
}
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-capture-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function all(path: string): Promise<CapturedMessage[]> {
  const out: CapturedMessage[] = [];
  for await (const m of readCapture(path)) out.push(m);
  return out;
}

const input = (n: number, body = Buffer.from(`body ${n}\0\n\r binary \xff`, 'latin1')) => ({
  source: 'embedded' as const,
  destination: `/queue/paygate.card`,
  headers: [['destination', '/queue/paygate.card'], ['x', `a:${n}`], ['x', 'repeated']] as [string, string][],
  body,
  time: new Date(Date.UTC(2026, 11, 7, 12, 0, 0, n)),
});

async function written(dir: string, n: number, segmentBytes = 64 * 1024 * 1024): Promise<void> {
  const writer = await openCaptureWriter(dir, { segmentBytes });
  for (let i = 1; i <= n; i++) writer.write(input(i));
  await writer.close();
}

describe('capture format', () => {
  it('reads back every record exactly as written: headers in order with repeats, binary bodies, digests, times', async () => {
    const dir = folder();
    await written(dir, 3);
    const messages = await all(dir);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    const expected = input(2);
    expect(messages[1]).toMatchObject({ time: '2026-12-07T12:00:00.002Z', source: 'embedded', destination: '/queue/paygate.card', headers: expected.headers });
    expect(messages[1]?.body.equals(expected.body)).toBe(true);
    expect(messages[1]?.bodySha256).toBe(bodyDigest(expected.body));
  });

  it('starts new segments past the size and continues numbering when reopened, never rewriting a segment', async () => {
    const dir = folder();
    await written(dir, 20, 1024);
    const first = readdirSync(dir).sort();
    expect(first.length).toBeGreaterThan(2);
    const before = readFileSync(join(dir, first[0] as string));
    await written(dir, 5, 1024);
    expect(readFileSync(join(dir, first[0] as string)).equals(before)).toBe(true);
    expect((await all(dir)).map((m) => m.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('reads one segment file given alone', async () => {
    const dir = folder();
    await written(dir, 2);
    expect(await all(join(dir, 'segment-000001.jsonl'))).toHaveLength(2);
  });

  it('reports a segment cut mid-record as truncated, naming it and the last good record', async () => {
    const dir = folder();
    await written(dir, 3);
    const file = join(dir, 'segment-000001.jsonl');
    truncateSync(file, readFileSync(file).length - 10);
    await expect(all(dir)).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_TRUNCATED', message: expect.stringMatching(/segment-000001\.jsonl ends inside line 3 .*after record 2/) });
  });

  it('reports damage as corrupt, naming the line, without quoting it', async () => {
    const card = '4111111111111111';
    const cases: [string, (text: string) => string, RegExp][] = [
      ['not JSON', (t) => t.replace(/\n[^\n]*\n$/, `\n{"capture":1, ${card}\n`), /line 3: not a JSON capture record/],
      ['a body changed', (t) => t.replace('"body":"Ym9keSAy', '"body":"Ym9keSAz'), /line 2: the body does not match its SHA-256/],
      ['a field missing', (t) => t.replace(/"source":"embedded",/, ''), /line 1: not a capture record \(source/],
      ['a record removed', (t) => t.split('\n').filter((_, i) => i !== 1).join('\n'), /line 2: record 3 follows record 1/],
    ];
    for (const [, damage, message] of cases) {
      const dir = folder();
      await written(dir, 3);
      const file = join(dir, 'segment-000001.jsonl');
      writeFileSync(file, damage(readFileSync(file, 'utf8')));
      const error = await all(dir).then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(error?.code).toBe('AUDIT_CAPTURE_CORRUPT');
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain(card);
    }
  });

  it('reports what is missing at the start of a folder, a segment removed, and a message the writer had to refuse', async () => {
    const first = folder();
    await written(first, 20, 1024);
    rmSync(join(first, 'segment-000001.jsonl'));
    renameAll(first);
    await expect(all(first)).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_CORRUPT', message: expect.stringMatching(/segment-000001\.jsonl line 1: record \d+ starts the capture \(records before it are missing\)/) });

    const middle = folder();
    await written(middle, 20, 1024);
    rmSync(join(middle, 'segment-000002.jsonl'));
    await expect(all(middle)).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_CORRUPT', message: expect.stringMatching(/segment-000003\.jsonl is segment 3 but follows 1 segment\(s\): segment 2 is missing/) });

    const refused = folder();
    const writer = await openCaptureWriter(refused, { maxQueuedBytes: 1024 });
    writer.write(input(1, Buffer.alloc(800)));
    expect(() => writer.write(input(2, Buffer.alloc(800)))).toThrow(expect.objectContaining({ code: 'AUDIT_CAPTURE_FAILED' }));
    writer.noteLost();
    await writer.flush();
    writer.write(input(3));
    await writer.close();
    await expect(all(refused)).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_CORRUPT', message: expect.stringMatching(/record 3 follows record 1/) });
    // One segment read alone may start anywhere.
    expect((await all(join(middle, 'segment-000003.jsonl'))).length).toBeGreaterThan(0);
  });

  it('reads back headers and destinations of any size a broker accepted (a reader stricter than the broker would let one SEND blind the audit)', async () => {
    const dir = folder();
    const writer = await openCaptureWriter(dir);
    const long = 'x'.repeat(100_000);
    const headers = Array.from({ length: 2_000 }, (_, i) => [`h${i}`, 'v'] as [string, string]);
    writer.write({ ...input(1), destination: `/queue/paygate.${long}`, headers: [[long, long], ...headers] });
    writer.write(input(2));
    await writer.close();
    const messages = await all(dir);
    expect(messages.map((m) => m.headers.length)).toEqual([2_001, 3]);
  });

  it('refuses a line longer than any record without reading it all into memory', async () => {
    const dir = folder();
    await written(dir, 1);
    appendFileSync(join(dir, 'segment-000001.jsonl'), Buffer.alloc(65 * 1024 * 1024, 0x61));
    await expect(all(dir)).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_CORRUPT', message: expect.stringMatching(/line 2: longer than/) });
  });

  it('refuses a segment that is not a regular file (a device would be read for ever)', async () => {
    const dir = folder();
    await written(dir, 1);
    symlinkSync('/dev/zero', join(dir, 'segment-000002.jsonl'));
    await expect(all(dir)).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_FAILED', message: expect.stringMatching(/segment-000002\.jsonl is not a regular file/) });
  });

  it('fails clearly on a missing folder and on a folder without segments', async () => {
    await expect(all(join(folder(), 'nothing'))).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_FAILED' });
    await expect(all(folder())).rejects.toMatchObject({ code: 'AUDIT_CAPTURE_FAILED', message: expect.stringMatching(/holds no capture segment/) });
  });
});
