/**
 * Child processes of the package test: one-shot commands (npm, tsc, node scripts) and long-running
 * services (`paygate broker`, `paygate gateway`) that are ready when they print a given line.
 * Every wait is on an event (a line, an exit), never on a clock: a service that dies before its
 * ready line fails the wait with its stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { delimiter } from 'node:path';
import { createInterface } from 'node:readline';

/** A finished command. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where and with what a command runs. */
export interface RunOptions {
  readonly cwd: string;
  /** Added to the clean environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * This process's environment without what the test runner put there for itself: npm's lifecycle
 * variables (`npm test` sets dozens, and a nested npm would take them as its own settings),
 * NODE_OPTIONS (a loader there would make "plain node" a lie), and the repository's
 * node_modules/.bin on PATH (npm and npx put it there: the project's install scripts and the
 * installed bin would find the repository's tsx and patch-package through it).
 */
export function cleanEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE_OPTIONS' || key.startsWith('VITEST') || key.startsWith('TSX')) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !/node_modules[\\/]\.bin[\\/]?$/.test(dir))
    .join(delimiter);
  return { ...env, ...extra };
}

/** Runs a command to its end; never rejects on a non-zero exit (the caller judges). */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The last `lines` lines of a text, for failure messages. */
export function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Runs npm; rejects with its output's tail when it fails. */
export async function npm(args: readonly string[], options: RunOptions): Promise<RunResult> {
  const result = await run('npm', args, options);
  if (result.code !== 0) {
    throw new Error(`npm ${args.join(' ')} exited ${result.code ?? result.signal}:\n${tail(result.stderr)}\n${tail(result.stdout, 10)}`);
  }
  return result;
}

/** A long-running child process, started and ready. */
export interface Service<T> {
  readonly child: ChildProcess;
  /** What the ready line gave. */
  readonly ready: T;
  /** Everything it printed on stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when ended by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM unless it has exited, then waits for the exit: {@link exited}. */
  stop(): Promise<number | null>;
}

/**
 * Starts `command` and resolves once a stdout line makes `readyWhen` return a value; rejects when
 * the process exits (or fails to spawn) first, with what it printed.
 */
export function startService<T>(
  command: string,
  args: readonly string[],
  options: RunOptions,
  readyWhen: (line: string) => T | undefined,
): Promise<Service<T>> {
  const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    let started = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      if (started) return;
      const ready = readyWhen(line);
      if (ready === undefined) return;
      started = true;
      resolve({ child, ready, output: () => output, exited, stop });
    });
    child.once('error', reject);
    void exited.then((code) => {
      if (!started) reject(new Error(`${command} ${args.join(' ')} exited ${code ?? child.signalCode} before it was ready:\n${tail(output)}`));
    });
  });
}
