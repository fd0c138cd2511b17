// `paygate demo`, the real bin in a child process from the repository root, as a
// newcomer runs it: the whole tour with --json, --serve with a payment of one's own through
// `paygate request`, and a setup failure. Slow on purpose (certificates, broker, sandboxes, two
// worker processes): generous timeouts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseAtomFeed } from '../../src/feed/atom.ts';
import { findPans } from '../helpers/pan-scan.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'paygate.js');
/** The test cards the tour uses: none may appear in clear in anything the demo prints. */
const TEST_NUMBERS = ['4111111111111111', '4000000000000002', '6036280000000011'];

/** A running `paygate …` child with its output so far. */
interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Running[] = [];

function paygate(...args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const running: Running = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (running.stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (running.stderr += text));
  started.push(running);
  return running;
}

/** Resolves with the match once `pattern` appears in the child's stdout; rejects if it exits or `ms` pass first. */
async function waitForOutput(running: Running, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const match = running.stdout.match(pattern);
    if (match) return match;
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      throw new Error(`the demo exited (${running.child.exitCode ?? running.child.signalCode}) before printing ${pattern}:\n${running.stdout}\n${running.stderr}`);
    }
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms:\n${running.stdout}\n${running.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The exit of `running`, or a failure after `ms`. */
async function exitWithin(running: Running, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${running.stdout}\n${running.stderr}`)), ms);
  });
  try {
    return await Promise.race([running.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a process is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(() => {
  // A failed test must not leave a demo (and its workers, which follow their parent) running.
  for (const running of started.splice(0)) if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
});

/** Every step of the tour, with the outcome it must have. */
const TOUR = [
  ['card authorize', 'approved'],
  ['card capture', 'approved'],
  ['paypal sale', 'approved'],
  ['paypal refund', 'approved'],
  ['giftcard balance', 'approved'],
  ['giftcard redeem', 'approved'],
  ['card decline', 'declined'],
  ['card outage: breaker opens', 'PROVIDER_UNAVAILABLE'],
  ['card recovery', 'approved'],
  ['worker killed mid-request', 'approved'],
] as const;

interface Summary {
  ok: boolean;
  steps: { name: string; expected: string; outcome: string; latencyMs: number; ok: boolean; detail?: string }[];
  totalMs: number;
  metricsUrl?: string;
  feed: { auditRecords: number; payments: number; requests: number };
}

describe('paygate demo', () => {
  it('--json: every step had its expected outcome, stdout is the summary alone, no card number is printed, the folder is removed', async () => {
    const demo = paygate('demo', '--json');
    const exit = await exitWithin(demo, 150_000);
    expect(exit, demo.stderr).toEqual({ code: 0, signal: null });

    const summary = JSON.parse(demo.stdout) as Summary; // throws if anything else is on stdout
    expect(summary.ok).toBe(true);
    expect(summary.steps.map((s) => [s.name, s.expected, s.outcome, s.ok])).toEqual(TOUR.map(([name, outcome]) => [name, outcome, outcome, true]));
    for (const step of summary.steps) expect(step.latencyMs).toBeGreaterThanOrEqual(0);
    expect(summary.totalMs).toBeGreaterThan(0);
    expect(summary.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    // The feed server stored one audit record per request the gateway finished, and the payments among them.
    expect(summary.feed.requests).toBeGreaterThanOrEqual(TOUR.length);
    expect(summary.feed.auditRecords).toBe(summary.feed.requests);
    expect(summary.feed.payments).toBeGreaterThanOrEqual(6);
    expect(summary.feed.payments).toBeLessThan(summary.feed.auditRecords);
    // The hard steps say what they proved.
    const detail = (name: string): string => summary.steps.find((s) => s.name === name)?.detail ?? '';
    expect(detail('card outage: breaker opens')).toMatch(/card breaker open in 2 of 2 workers/);
    expect(detail('worker killed mid-request')).toMatch(/1 reply, 1 charge \(1 Authorize call\).*restarted slot \d/);

    // Progress went to stderr, step by step, and the throw-away folder is gone.
    for (const [name] of TOUR) expect(demo.stderr).toContain(`✓ [${TOUR.findIndex(([n]) => n === name) + 1}/10] ${name}:`);
    const dir = /setting up in (\S+)/.exec(demo.stderr)?.[1];
    expect(dir).toMatch(/paygate-demo-/);
    expect(existsSync(dir as string)).toBe(false);

    const everything = demo.stdout + demo.stderr;
    expect(findPans(everything, { thorough: true })).toEqual([]);
    for (const number of TEST_NUMBERS) expect(everything).not.toContain(number);
  }, 180_000);

  it('--serve: prints how to connect; the printed `paygate request` command is approved; SIGINT drains, exits 0 and keeps the folder', async () => {
    const demo = paygate('demo', '--serve', '--no-tour');
    const [, command] = await waitForOutput(demo, /^ {2}(npx paygate request card authorize .+)$/m, 120_000);
    const dir = /setting up in (\S+)/.exec(demo.stdout)?.[1] as string;
    try {
      expect(demo.stdout).toMatch(/broker {9}stomp:\/\/127\.0\.0\.1:\d+/);
      const statusUrl = /metrics {8}(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(demo.stdout)?.[1];
      expect(statusUrl).toBeDefined();
      for (const file of ['certs/ca.crt', 'certs/client.crt', 'certs/client.key', 'certs/gateway.crt', 'certs/feed.crt', 'paygate-client.yaml', 'authorize.yaml', 'feed.yaml']) {
        expect(demo.stdout).toContain(join(dir, file));
        expect(existsSync(join(dir, file))).toBe(true);
      }

      // The exact command a newcomer pastes, from the checkout.
      const { stdout } = await promisify(execFile)('sh', ['-c', command as string], { cwd: ROOT, timeout: 60_000 });
      expect(parseYaml(stdout)).toMatchObject({ status: 'approved', result: { provider_code: '00', amount: { value: 4200, currency: 'EUR' } } });

      // The SDK example of examples/, as printed.
      const [, sdkCommand] = demo.stdout.match(/^ {2}(npx tsx examples\/demo-storefront\.ts .+)$/m) ?? [];
      expect(sdkCommand).toBeDefined();
      const order = await promisify(execFile)('sh', ['-c', sdkCommand as string], { cwd: ROOT, timeout: 60_000 });
      expect(order.stdout).toMatch(/authorized 30\.00 EUR as cg-\d+\n.*capture approved.*\n.*gift card approved, balance now 95\.05 EUR/);

      // The feed server holds the payments just made; the printed curl command reads them.
      const [, curl] = demo.stdout.match(/^ {2}(curl -H 'Authorization: Bearer [A-Za-z0-9_-]+' http:\/\/127\.0\.0\.1:\d+\/feeds\/payments)$/m) ?? [];
      expect(curl).toBeDefined();
      let atom = '';
      for (const deadline = Date.now() + 15_000; Date.now() < deadline && (atom.match(/<entry/g) ?? []).length < 4; ) {
        atom = (await promisify(execFile)('sh', ['-c', `${curl as string} --silent --fail`], { cwd: ROOT, timeout: 10_000 })).stdout;
        if ((atom.match(/<entry/g) ?? []).length < 4) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // The `paygate request` authorize, the SDK example's authorize, capture and gift card redeem.
      expect((atom.match(/<entry/g) ?? []).length).toBe(4);
      expect(atom).toContain('card authorize approved');
      expect(atom).toContain('giftcard redeem approved');
      // The records (base64 JSON in the Atom) hold masked card numbers only.
      const records = parseAtomFeed(atom).entries.map((entry) => `${entry.title} ${entry.content}`).join('\n');
      expect(records).toMatch(/"card":"411111\*+1111"/);
      expect(findPans(records, { thorough: true })).toEqual([]);

      // The status endpoint is live while serving; remember the worker processes.
      const health = (await (await fetch(`${statusUrl}/healthz`)).json()) as { workers: { processes: { pid: number }[] } };
      const pids = health.workers.processes.map((p) => p.pid);
      expect(pids).toHaveLength(2);
      expect(await (await fetch(`${statusUrl}/metrics`)).text()).toMatch(/paygate_requests_total\{[^}]*provider="card"[^}]*type="authorize"[^}]*status="approved"[^}]*\} 2/);

      demo.child.kill('SIGINT');
      const exit = await exitWithin(demo, 20_000);
      expect(exit, demo.stderr).toEqual({ code: 0, signal: null });
      expect(demo.stdout).toContain(`stopped; ${dir} is kept`);
      expect(existsSync(join(dir, 'gateway.yaml'))).toBe(true);
      for (const pid of pids) expect(alive(pid), `worker ${pid} outlived the demo`).toBe(false);
      expect(findPans(demo.stdout + demo.stderr, { thorough: true })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('a setup failure is one line `paygate: CODE: message` and exit 2, without a stack trace; the folder is left alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paygate-demo-test-'));
    try {
      writeFileSync(join(dir, 'keep-me.txt'), 'mine\n');
      const demo = paygate('demo', '--dir', dir);
      const exit = await exitWithin(demo, 60_000);
      expect(exit).toEqual({ code: 2, signal: null });
      expect(demo.stderr).toMatch(/^paygate: DEMO_DIR_NOT_EMPTY: .+\n$/m);
      expect(demo.stderr).not.toMatch(/^\s+at /m);
      expect(readFileSync(join(dir, 'keep-me.txt'), 'utf8')).toBe('mine\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
