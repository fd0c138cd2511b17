// `paygate feed`, the real bin in child processes: hash-token and new-token; `--config` with a
// broken file; and the whole server against the embedded broker: events sent by a worker login
// are served over HTTP to a token holder, SIGTERM stops it cleanly with a last checkpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FEED } from '../../src/audit/events.ts';
import { openSqliteFeedStore } from '../../src/feed/index.ts';
import { StompConnection } from '../../src/stomp/index.ts';
import { asRole, parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { roleNode } from '../integration/support.ts';
import { BIN, ROOT } from '../integration/request-path-support.ts';
import { eventsDocument, sealEvents } from '../feed/consumer-support.ts';

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

const runs: Run[] = [];

function paygate(args: string[], input?: string): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const run: Run = { child, stdout: '', stderr: '', exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]> };
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (run.stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (run.stderr += text));
  child.stdin?.end(input ?? '');
  runs.push(run);
  return run;
}

/** The first match of `pattern` in the child's stdout; fails if it exits first or after `ms`. */
async function waitForOutput(run: Run, pattern: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const match = run.stdout.match(pattern);
    if (match) return match;
    if (run.child.exitCode !== null || run.child.signalCode !== null) throw new Error(`exited before ${pattern}:\n${run.stdout}\n${run.stderr}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms:\n${run.stdout}\n${run.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

afterEach(() => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
});

describe('paygate feed hash-token / new-token', () => {
  it('hash-token prints the SHA-256 of the token on stdin (one trailing newline is not part of it)', async () => {
    const token = 'a-token-of-some-length-1234';
    const run = paygate(['feed', 'hash-token'], `${token}\n`);
    expect(await run.exited).toEqual([0, null]);
    expect(run.stdout).toBe(`${createHash('sha256').update(token).digest('hex')}\n`);
  });

  it('hash-token refuses a short token (exit 2)', async () => {
    const run = paygate(['feed', 'hash-token'], 'short\n');
    expect(await run.exited).toEqual([2, null]);
    expect(run.stderr).toMatch(/at least 16 characters/);
  });

  it('new-token prints a 256-bit token and its hash', async () => {
    const run = paygate(['feed', 'new-token']);
    expect(await run.exited).toEqual([0, null]);
    const [, token, hash] = /^token: ([A-Za-z0-9_-]{43})\ntoken_sha256: ([0-9a-f]{64})\n$/.exec(run.stdout) ?? [];
    expect(hash).toBe(createHash('sha256').update(token as string).digest('hex'));
  });
});

describe('paygate feed --config', () => {
  let broker: TestBroker;
  let pki: TestPki;
  let dir: string;
  const token = 'reader-token-0123456789abcdef';

  beforeAll(async () => {
    broker = await startTestBroker(parseTestBrokers('embedded')[0] as never);
    pki = await makeTestPki({ algo: 'ec' });
    dir = makeTempDir('cli-feed');
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('a broken config: every problem on stderr, exit 2, no stack trace', async () => {
    const config = join(dir, 'broken.yaml');
    writeFileSync(config, 'listen: {port: -1}\nstore: {}\n');
    const run = paygate(['feed', '--config', config]);
    expect(await run.exited).toEqual([2, null]);
    expect(run.stderr).toMatch(/^paygate: CONFIG_INVALID: invalid feed server configuration .+ \(2 problems\):\n {2}listen\.port: .+\n {2}store\.path: .+\n$/);
  });

  it('a broker that is not up yet: it serves HTTP meanwhile, logs the retries, and SIGTERM still stops it (exit 0)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const config = join(dir, 'no-broker.yaml');
    writeFileSync(
      config,
      [
        'listen: {port: 0}',
        'store: {path: no-broker.sqlite}',
        `identity: {cert: "${pki.feed.certPath}", key: "${pki.feed.keyPath}"}`,
        `events: {brokers: [{host: 127.0.0.1, port: ${port}}], trust: {gateway_ca: ["${pki.ca.certPath}"]}}`,
      ].join('\n'),
    );
    const run = paygate(['feed', '--config', config]);
    const [, url] = await waitForOutput(run, /^paygate feed serving (http:\/\/127\.0\.0\.1:\d+)$/m);
    expect((await fetch(`${url}/feeds/audit`)).status).toBe(401);
    for (const deadline = Date.now() + 10_000; !run.stderr.includes('events broker unreachable') && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(run.stderr).toContain('events broker unreachable; retrying');
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual([0, null]);
    expect(run.stdout).not.toContain('consuming');
  });

  it('serves the events it consumes to a token holder; SIGTERM stops it with a last checkpoint, exit 0', async () => {
    const feedLogin = asRole(broker.descriptor, 'feed');
    const config = join(dir, 'feed.yaml');
    writeFileSync(
      config,
      [
        'listen: {host: 127.0.0.1, port: 0}',
        'store: {path: feed.sqlite}',
        `clients: [{name: reader, token_sha256: "${createHash('sha256').update(token).digest('hex')}", feeds: {"*": [read]}}]`,
        `identity: {cert: "${pki.feed.certPath}", key: "${pki.feed.keyPath}"}`,
        'checkpoints: {interval: 1h, feeds: [audit]}',
        'events:',
        `  brokers: [{host: 127.0.0.1, port: ${broker.descriptor.port}, login: ${feedLogin.login}, passcode: "\${env:FEED_MQ_PASS}"}]`,
        `  trust: {gateway_ca: ["${pki.ca.certPath}"]}`,
      ].join('\n'),
    );
    process.env.FEED_MQ_PASS = feedLogin.passcode;
    const run = paygate(['feed', '--config', config]);
    delete process.env.FEED_MQ_PASS;
    const [, url] = await waitForOutput(run, /^paygate feed serving (http:\/\/127\.0\.0\.1:\d+)$/m);
    await waitForOutput(run, /^paygate feed consuming \/queue\/paygate\.feed\.events$/m);

    const sender = await StompConnection.connect({ nodes: [roleNode(broker.descriptor, 'worker')] });
    const documents = [eventsDocument(), eventsDocument({ payment: false })];
    try {
      for (const document of documents) await sender.send('/queue/paygate.feed.events', sealEvents(pki, document), { headers: { persistent: 'true' }, receipt: true });
    } finally {
      await sender.close();
    }
    // The events arrive asynchronously: read the feed until both are there.
    let body = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && (body.match(/<entry/g) ?? []).length < 2; ) {
      const answer = await fetch(`${url}/feeds/${AUDIT_FEED}`, { headers: { authorization: `Bearer ${token}` } });
      body = answer.status === 200 ? await answer.text() : '';
      if ((body.match(/<entry/g) ?? []).length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((body.match(/<entry/g) ?? []).length).toBe(2);
    expect(body).toContain('card authorize approved');
    expect((await fetch(`${url}/feeds/${AUDIT_FEED}`)).status).toBe(401);

    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual([0, null]);
    const store = openSqliteFeedStore({ path: join(dir, 'feed.sqlite') });
    try {
      const entries = store.page(AUDIT_FEED).entries;
      expect(entries.map((e) => e.title)).toEqual(['card authorize approved', 'card authorize approved', 'checkpoint']);
      expect(store.verifyChain(AUDIT_FEED)).toEqual({ count: 3 });
    } finally {
      store.close();
    }
    // The auditor's tool agrees: the chain and the signed checkpoint verify.
    const verify = paygate(['audit', 'verify', '--db', join(dir, 'feed.sqlite'), '--trust', pki.feed.certPath]);
    expect(await verify.exited, verify.stdout + verify.stderr).toEqual([0, null]);
    expect(verify.stdout).toMatch(/^entries verified: 3 \(seq 1\.\.3,/m);
    expect(verify.stdout).toMatch(/^checkpoints verified: 1 /m);
    expect(verify.stdout).toMatch(/^INTACT$/m);
  }, 60_000);
});
