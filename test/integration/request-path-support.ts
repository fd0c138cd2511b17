// Shared pieces of the request-path suites: a worker config file for a test broker and
// PKI, `paygate worker` in a child process, and a unique queue prefix per suite (RabbitMQ keeps
// durable queues, so suites never share one).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestPki } from '../helpers/pki.ts';
import { waitUntil } from '../helpers/timing.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'paygate.js');
/** How a `paygate` command run ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `paygate` bin with `args` from the repository root; a non-zero exit is a result, not a throw. */
export async function runPaygate(args: readonly string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown; stdout: string; stderr: string };
    if (typeof code !== 'number') throw error;
    return { code, stdout, stderr };
  }
}

export const COUNTING_MODULE = join(ROOT, 'test', 'fixtures', 'counting-provider.ts');

/** A broker node as config files and StompOptions write it (use `asRole` to pick the login). */
export interface NodeSpec {
  readonly host: string;
  readonly port: number;
  readonly login: string;
  readonly passcode: string;
  readonly vhost: string;
}

/**
 * `/queue/paygate.t<random>-`: this suite's own queues on a shared broker. A dash, not a dot:
 * `paygate.t1a2b3c4d-counting` stays one name segment, like the `paygate.<provider>` request
 * queues the storefront and worker roles are confined to (docs/broker-access.md); its dead
 * letters are `paygate.t1a2b3c4d-counting.dlq`, like theirs.
 */
export const uniquePrefix = (): string => `/queue/paygate.t${randomUUID().slice(0, 8)}-`;

/** Writes a worker config (YAML) for the counting fixture into `dir`; returns its path. `node` logs in as a worker. */
export function writeWorkerConfig(dir: string, node: NodeSpec, pki: TestPki, queuePrefix: string, extra = ''): string {
  const path = join(dir, `worker-${randomUUID().slice(0, 8)}.yaml`);
  writeFileSync(
    path,
    [
      'brokers:',
      `  - {host: "${node.host}", port: ${node.port}, login: "${node.login}", passcode: "${node.passcode}", vhost: "${node.vhost}"}`,
      'heart_beat_ms: 1000',
      'prefetch: 16',
      `identity: {cert: "${pki.gateway.certPath}", key: "${pki.gateway.keyPath}"}`,
      `trust: {client_ca: ["${pki.ca.certPath}"]}`,
      `queue_prefix: "${queuePrefix}"`,
      `providers: [{name: counting, module: "${COUNTING_MODULE}"}]`,
      `idempotency: {path: "${join(dir, 'idempotency.sqlite')}"}`,
      extra,
    ].join('\n'),
  );
  return path;
}

/** Writes a client config (YAML) for `paygate request`; returns its path. `node` logs in as a storefront. */
export function writeClientConfig(dir: string, node: NodeSpec, pki: TestPki, queuePrefix: string, timeoutMs = 10_000): string {
  const path = join(dir, `client-${randomUUID().slice(0, 8)}.yaml`);
  writeFileSync(
    path,
    [
      'brokers:',
      `  - {host: "${node.host}", port: ${node.port}, login: "${node.login}", passcode: "${node.passcode}", vhost: "${node.vhost}"}`,
      `identity: {cert: "${pki.client.certPath}", key: "${pki.client.keyPath}"}`,
      `gateway: {certs: ["${pki.gateway.certPath}"], ca: ["${pki.ca.certPath}"]}`,
      `providers: [{name: counting, module: "${COUNTING_MODULE}"}]`,
      `queue_prefix: "${queuePrefix}"`,
      `timeout_ms: ${timeoutMs}`,
    ].join('\n'),
  );
  return path;
}

/** A `paygate worker` child process. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves once it printed its `serving` line. */
  readonly ready: Promise<void>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with its exit code (or signal name) once it ended. */
  readonly exited: Promise<number | string>;
}

/** Starts `paygate worker --config FILE` with `env` added to the environment. */
export function spawnWorker(config: string, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, [BIN, 'worker', '--config', config, '--grace', '5000'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/serving/.test(out)) resolve();
    });
    void exited.then((code) => reject(new Error(`paygate worker exited (${code}) before serving:\n${err}`)));
  });
  return { child, ready, exited, stderr: () => err };
}

/** Polls `check` until it holds; throws after `timeoutMs` ({@link waitUntil}). */
export function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  return waitUntil(check, what, timeoutMs);
}
