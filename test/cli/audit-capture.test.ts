// `paygate audit capture` as an auditor runs it (the real bin, a child process): bad options exit 2
// with one line; a refused login exits 1 with the broker's reason; on each external broker a
// capture started, fed SENDs to a paygate queue, stopped by SIGTERM, prints its count and holds
// every body; the passcode never appears in what it prints.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bodyDigest, readCapture } from '../../src/audit/capture/index.ts';
import { StompConnection } from '../../src/stomp/index.ts';
import { isExternal, parseTestBrokers } from '../helpers/brokers.ts';
import { roleNode } from '../integration/support.ts';

const BIN = fileURLToPath(new URL('../../bin/paygate.js', import.meta.url));
const brokers = parseTestBrokers(process.env.PAYGATE_TEST_BROKERS).filter(isExternal);
const dir = mkdtempSync(join(tmpdir(), 'paygate-capture-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Child { code: Promise<number>; stdout: () => string; stderr: () => string; kill: () => void; started: Promise<void> }

function paygate(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [BIN, 'audit', 'capture', ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  let onStarted = (): void => undefined;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes('paygate: capturing ')) onStarted();
  });
  const code = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  return { code, stdout: () => stdout, stderr: () => stderr, kill: () => child.kill('SIGTERM'), started };
}

const passFile = (content: string): string => {
  const path = join(dir, `pass-${randomUUID()}`);
  writeFileSync(path, content);
  return path;
};

describe('audit capture: bad options', () => {
  it.each([
    ['no kind', ['--broker', 'stomp://127.0.0.1:61613', '--login', 'a', '--passcode-env', 'X', '--out', dir]],
    ['bad kind', ['--broker', 'stomp://127.0.0.1:61613', '--kind', 'kafka', '--login', 'a', '--passcode-env', 'X', '--out', dir]],
    ['bad url', ['--broker', 'http://127.0.0.1:61613', '--kind', 'rabbitmq', '--login', 'a', '--passcode-env', 'X', '--out', dir]],
    ['no passcode', ['--broker', 'stomp://127.0.0.1:61613', '--kind', 'rabbitmq', '--login', 'a', '--out', dir]],
    ['bad limit', ['--broker', 'stomp://127.0.0.1:61613', '--kind', 'rabbitmq', '--login', 'a', '--passcode-env', 'HOME', '--out', dir, '--max-messages', '0']],
  ])('%s: exit 2, one line', async (_, args) => {
    const run = paygate(args);
    expect(await run.code).toBe(2);
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(brokers.length === 0).each(brokers)('audit capture on $name', (broker) => {
  const base = ['--broker', `stomp://${broker.host}:${broker.port}`, '--kind', broker.name, '--login', 'audit'];

  it('a refused login: exit 1 with the reason, the passcode not printed', async () => {
    const run = paygate([...base, '--passcode-file', passFile('not-the-passcode-42\n'), '--out', join(dir, 'refused')]);
    expect(await run.code).toBe(1);
    expect(run.stderr()).toMatch(/AUDIT_CAPTURE_FAILED: .*refused the capture/);
    expect(run.stderr() + run.stdout()).not.toContain('not-the-passcode-42');
  });

  it('records the SENDs until SIGTERM, then prints the count', async () => {
    const out = join(dir, `run-${randomUUID()}`);
    const run = paygate([...base, '--passcode-env', 'AUDIT_PASS', '--out', out, '--subscription', `cli-${randomUUID().slice(0, 8)}`], { AUDIT_PASS: broker.roles.audit.passcode });
    await Promise.race([run.started, run.code.then((c) => Promise.reject(new Error(`exited ${c}: ${run.stderr()}`)))]);
    const queue = `/queue/paygate.t${randomUUID().slice(0, 8)}-capcli`;
    const bodies = Array.from({ length: 10 }, () => randomBytes(256));
    const worker = await StompConnection.connect({ nodes: [roleNode(broker, 'worker')] });
    const storefront = await StompConnection.connect({ nodes: [roleNode(broker, 'storefront')] });
    const consumed = new Set<string>();
    let allConsumed = (): void => undefined;
    const done = new Promise<void>((resolve) => (allConsumed = resolve));
    // Consumed, so that RabbitMQ's delivery names each message's queue (rabbitmq-trace.ts).
    const sub = worker.subscribe(queue, async (m) => {
      consumed.add(bodyDigest(m.body));
      await m.ack();
      if (consumed.size === bodies.length) allConsumed();
    });
    await sub.ready;
    for (const b of bodies) await storefront.send(queue, b, { receipt: true });
    await done;
    await Promise.all([worker.close(), storefront.close()]);
    run.kill();
    expect(await run.code).toBe(0);
    expect(run.stdout()).toMatch(/^captured \d+ messages into /);
    const digests = new Set<string>();
    for await (const r of readCapture(out)) if (r.destination === queue) digests.add(r.bodySha256);
    // Stopped after the last delivery: on RabbitMQ a publish whose delivery trace had not been read
    // yet is recorded unrouted, never lost; every body is in the capture.
    const all = new Set<string>();
    for await (const r of readCapture(out)) all.add(r.bodySha256);
    for (const b of bodies) expect(all.has(bodyDigest(b))).toBe(true);
    expect(digests.size).toBeGreaterThan(0);
  });
});
