/**
 * The README's tour, with the files of examples/ as shipped: the embedded broker, a worker on
 * examples/worker.yaml, `paygate feed` on examples/feed.yaml, two `paygate request`s with one
 * idempotency key, then the payments feed read with curl and the audit trail checked with
 * `paygate audit verify`, and the broker's tap turned into a traffic report with
 * `paygate audit report`. Only the ports change (the files' fixed ones may be taken here) and
 * the fixture plugin's path (the copies live in a temporary folder).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDevPki } from '../../src/certs/devca.ts';
import { parseAtomFeed } from '../../src/feed/index.ts';
import { makeTempDir } from '../helpers/pki.ts';
import { BIN, COUNTING_MODULE, ROOT, runPaygate } from '../integration/request-path-support.ts';

const run = promisify(execFile);
const TOKEN = 'paygate-tour-token-not-a-secret';
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts `paygate ARGS` and resolves with the first stdout match of `ready` (the process keeps running). */
function start(args: string[], ready: RegExp): Promise<RegExpExecArray> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) resolve(match);
    });
    child.once('exit', (code) => reject(new Error(`paygate ${args[0]} exited (${code}) before it was ready:\n${err}`)));
  });
}

/** A port the system had free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** examples/NAME copied into `dir/examples`, ports and the fixture's path replaced. */
function copyExample(dir: string, name: string, ports: { broker: number; feed: number }): string {
  const text = readFileSync(join(ROOT, 'examples', name), 'utf8')
    .replaceAll('61700', String(ports.broker))
    .replaceAll('8480', String(ports.feed))
    .replaceAll('../test/fixtures/counting-provider.ts', COUNTING_MODULE);
  const path = join(dir, 'examples', name);
  writeFileSync(path, text);
  return path;
}

describe('the README tour with examples/', () => {
  it('a payment twice with one key, its audit records and payment event in the feeds, and an intact, checkpointed trail', async () => {
    const dir = makeTempDir('tour');
    mkdirSync(join(dir, 'examples'));
    await writeDevPki(join(dir, 'certs', 'dev'), { algo: 'ec' });
    const capture = join(dir, '.paygate', 'capture');
    const [, brokerPort] = await start(['broker', '--port', '0', '--tap', capture], /listening on stomp:\/\/127\.0\.0\.1:(\d+)/);
    // The feed's config names a fixed port (its links are built from it): one the system just gave out.
    const feedPort = await freePort();
    const ports = { broker: Number(brokerPort), feed: feedPort };
    const worker = copyExample(dir, 'worker.yaml', ports);
    const feed = copyExample(dir, 'feed.yaml', ports);
    const client = copyExample(dir, 'paygate-client.yaml', ports);
    copyExample(dir, 'authorize.yaml', ports);
    await start(['worker', '--config', worker], /serving/);
    const [, feedUrl] = await start(['feed', '--config', feed], /^paygate feed serving (\S+)$/m);
    expect(feedUrl).toBe(`http://127.0.0.1:${feedPort}`);

    const request = ['request', 'counting', 'authorize', '--data', join(dir, 'examples', 'authorize.yaml'), '--config', client, '--idempotency-key', 'ord-1001-auth'];
    const first = await runPaygate(request);
    const second = await runPaygate(request);
    expect([first.code, second.code]).toEqual([0, 0]);
    const authorizationId = /authorization_id: (\S+)/.exec(first.stdout)?.[1];
    expect(authorizationId).toBeDefined();
    expect(second.stdout).toContain(`authorization_id: ${authorizationId}`);

    // The events arrive asynchronously: poll the feeds until both requests are recorded.
    const read = async (name: string) => {
      const { stdout } = await run('curl', ['-sf', '-H', `Authorization: Bearer ${TOKEN}`, `${feedUrl}/feeds/${name}`]);
      return parseAtomFeed(stdout).entries.filter((e) => e.title !== 'checkpoint');
    };
    let audit: Awaited<ReturnType<typeof read>> = [];
    for (let attempt = 0; attempt < 200 && audit.length < 2; attempt += 1) {
      audit = await read('audit').catch(() => []);
      if (audit.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const records = audit.map((e) => JSON.parse(e.content) as { request_id: string; outcome: { status: string }; replayed_from_store: boolean });
    expect(records.map((r) => [r.outcome.status, r.replayed_from_store])).toEqual([['approved', false], ['approved', true]]);
    const payments = (await read('payments')).map((e) => JSON.parse(e.content) as { idempotency_key: string; provider_ids: Record<string, string> });
    expect(payments[0]).toMatchObject({ idempotency_key: 'ord-1001-auth', provider_ids: { authorization_id: authorizationId } });

    // The README's check, over HTTP with the read token.
    const overHttp = await runPaygate(['audit', 'verify', '--feed', `${feedUrl}/feeds/audit`, '--token', TOKEN, '--trust', join(dir, 'certs', 'dev', 'ca.crt')]);
    expect(overHttp.code, overHttp.stderr).toBe(0);

    // The README's traffic report: the two requests, their replies and their events, all sealed
    // to the dev certificates and each matched with the trail.
    const certs = (name: string): string[] => ['--certs', join(dir, 'certs', 'dev', `${name}.crt`)];
    const html = join(dir, '.paygate', 'report.html');
    const report = await runPaygate([
      'audit', 'report', capture, '--feed', `${feedUrl}/feeds/audit`, '--token', TOKEN, '--trust', join(dir, 'certs', 'dev', 'ca.crt'),
      ...certs('gateway'), ...certs('client'), ...certs('feed'), '--out', html, '--json', '-',
    ]);
    expect(report.code, report.stderr).toBe(0);
    const found = JSON.parse(report.stdout) as { verdict: string; counts: Record<string, number>; trail: { matched_requests: number } };
    expect(found).toMatchObject({ verdict: 'clean', counts: { request: 2, reply: 2, events: 2, clear: 0 }, trail: { matched_requests: 2 } });
    expect(readFileSync(html, 'utf8')).toContain('data-figure="verdict"');

    // SIGTERM writes a last checkpoint; then the whole trail verifies from the file.
    const feedProcess = children.at(-1) as ChildProcess;
    const stopped = new Promise((resolve) => feedProcess.once('exit', resolve));
    feedProcess.kill('SIGTERM');
    expect(await stopped).toBe(0);
    const verify = await runPaygate(['audit', 'verify', '--db', join(dir, '.paygate', 'feed.sqlite'), '--trust', join(dir, 'certs', 'dev', 'ca.crt')]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^checkpoints verified: [1-9]/m);
  }, 90_000);
});
