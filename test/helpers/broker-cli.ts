/**
 * `paygate broker` as operators run it, for the tests of its command line: the real bin in a
 * child process on a free port, its stderr lines awaited as they come, SIGTERM, and the one-line
 * refusals of bad flags.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'paygate.js');

/** A running `paygate broker`. */
export interface RunningBrokerCli {
  readonly child: ChildProcess;
  readonly port: number;
  /** The URL it printed: `stomp://127.0.0.1:PORT` (`stomp+ssl://` with TLS). */
  readonly url: string;
  /** Its stderr so far. */
  stderr(): string;
  /** Resolves with the first stderr line matching `pattern`, as soon as it is printed. */
  stderrLine(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Starts `paygate broker --port 0 ARGS`; resolves once it prints where it listens. `started` gets each child (to kill after the test). */
export function startBrokerCli(args: readonly string[], started?: (child: ChildProcess) => void): Promise<RunningBrokerCli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'broker', '--port', '0', ...args], { cwd: ROOT });
    started?.(child);
    let out = '';
    let err = '';
    const waiters: Array<() => void> = [];
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      err += text;
      waiters.splice(0).forEach((wake) => wake());
    });
    const stderrLine = (pattern: RegExp): Promise<string> =>
      new Promise((found) => {
        const look = (): void => {
          const line = err.split('\n').find((l) => pattern.test(l));
          if (line === undefined) waiters.push(look);
          else found(line);
        };
        look();
      });
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const match = /^paygate broker listening on (stomp(?:\+ssl)?:\/\/127\.0\.0\.1:(\d+))\n$/.exec(out);
      if (match) resolve({ child, port: Number(match[2]), url: match[1] as string, stderr: () => err, stderrLine, exited });
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${out} ${err}`)));
  });
}

/** SIGTERM; resolves with the exit code. */
export function stopBrokerCli(broker: RunningBrokerCli): Promise<number | null> {
  broker.child.kill('SIGTERM');
  return broker.exited;
}

/** Runs `paygate broker ARGS`, which must refuse: its exit code and stderr. */
export async function brokerCliRefusal(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [BIN, 'broker', ...args], { cwd: ROOT, timeout: 20_000 });
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr: string };
    if (typeof code === 'number') return { code, stderr };
    throw error;
  }
  throw new Error('paygate broker should have refused');
}
