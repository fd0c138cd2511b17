/**
 * `--pid-file` of `paygate broker`, `paygate demo --serve` and `paygate gateway`, the real bin in
 * a child process: the file holds the process's pid once it runs, a SIGTERM sent to that pid
 * stops it cleanly (exit 0), and the file is gone afterwards. A pid file held by a live process is
 * refused (`PID_FILE_IN_USE`, exit 2, the file untouched); one left by a dead process is taken over.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTestBrokers, type BrokerDescriptor } from '../helpers/brokers.ts';
import { makeTempDir } from '../helpers/pki.ts';
import { BIN, ROOT } from '../integration/request-path-support.ts';
import { startWorld, type GatewayWorld } from '../supervisor/support.ts';

/** A `paygate …` child and its output so far. */
interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the first stdout match of `pattern`; rejects if the process exits first. */
  readonly printed: (pattern: RegExp) => Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Running[] = [];

function start(args: readonly string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const printed = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(stdout);
        if (match === null) return;
        child.stdout?.off('data', check);
        resolve(match[0]);
      };
      child.stdout?.on('data', check);
      void exited.then(({ code, signal }) => reject(new Error(`exited (${code ?? signal}) before printing ${pattern}:\n${stdout}\n${stderr}`)));
      check();
    });
  const running: Running = { child, stdout: () => stdout, stderr: () => stderr, printed, exited };
  started.push(running);
  return running;
}

async function run(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr: string };
    if (typeof code !== 'number') throw error;
    return { code, stderr };
  }
}

/** A pid no process has any more: a child that already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? Number.NaN;
}

/** Reads the pid file, sends SIGTERM to the pid it names, and returns how the process ended. */
async function stopThroughPidFile(running: Running, pidFile: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  expect(readFileSync(pidFile, 'utf8')).toBe(`${running.child.pid}\n`);
  process.kill(pid, 'SIGTERM');
  return running.exited;
}

let dir: string;
beforeAll(() => {
  dir = makeTempDir('cli-pid-file');
});
afterEach(() => {
  for (const running of started.splice(0)) if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
});

describe('paygate broker --pid-file', () => {
  it('holds the pid while it runs (taking over a dead process’s file); SIGTERM to it: exit 0 and the file is gone', async () => {
    const pidFile = join(dir, 'broker.pid');
    const stale = await deadPid();
    writeFileSync(pidFile, `${stale}\n`);
    const broker = start(['broker', '--port', '0', '--pid-file', pidFile]);
    await broker.printed(/paygate broker listening on stomp:\/\/\S+/);
    const exit = await stopThroughPidFile(broker, pidFile);
    expect(exit, broker.stderr()).toEqual({ code: 0, signal: null });
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe('paygate demo --serve --pid-file', () => {
  it('holds the pid while it serves; SIGTERM to it: everything drains, exit 0, the file is gone', { timeout: 180_000 }, async () => {
    const pidFile = join(dir, 'demo.pid');
    const demoDir = join(dir, 'demo');
    const demo = start(['demo', '--serve', '--no-tour', '--dir', demoDir, '--pid-file', pidFile]);
    await demo.printed(/paygate demo is running/);
    const exit = await stopThroughPidFile(demo, pidFile);
    expect(exit, demo.stderr()).toEqual({ code: 0, signal: null });
    expect(demo.stdout()).toContain('paygate demo: stopped;');
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe('paygate gateway --pid-file', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await startWorld(parseTestBrokers('embedded')[0] as BrokerDescriptor);
    world.writeConfig(['workers: 1', 'http: false', 'drain_grace: 5s'].join('\n'));
  });
  afterAll(async () => {
    await world?.close();
  });

  it('holds the pid while it runs; SIGTERM to it: the pool drains, exit 0, the file is gone', { timeout: 120_000 }, async () => {
    const pidFile = join(dir, 'gateway.pid');
    const gateway = start(['gateway', '--config', world.configPath, '--pid-file', pidFile]);
    await gateway.printed(/"msg":"gateway running"/);
    const exit = await stopThroughPidFile(gateway, pidFile);
    expect(exit, gateway.stderr()).toEqual({ code: 0, signal: null });
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe('a pid file held by a running process', () => {
  it.concurrent.each([
    ['broker', ['broker', '--port', '0']],
    ['gateway', ['gateway', '--config', BIN]],
    ['demo', ['demo', '--serve', '--no-tour']],
  ])('paygate %s refuses it: PID_FILE_IN_USE, exit 2, the file untouched', async (name, args) => {
    const pidFile = join(dir, `held-by-${name}.pid`);
    // This test's own process: certainly running.
    writeFileSync(pidFile, `${process.pid}\n`);
    const refused = await run([...args, '--pid-file', pidFile]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`paygate: PID_FILE_IN_USE: --pid-file ${pidFile}: held by process ${process.pid}, which is running: stop it first, or give another file\n`);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${process.pid}\n`);
  });
});
