/**
 * `paygate gateway --config FILE` as a child process (what an operator runs): its JSON log lines
 * go to a file, and the pool is read from `/healthz` and `/metrics` (docs/operations.md,
 * "Health and metrics").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChaosError } from './errors.ts';
import { CHAOS_SETTINGS } from './options.ts';

const BIN = fileURLToPath(new URL('../../bin/paygate.js', import.meta.url));

/** One worker process as `/healthz` lists it. */
export interface PoolProcess {
  readonly slot: number;
  readonly pid: number;
  readonly state: string;
}

/** The running gateway. */
export class GatewayChild {
  readonly #child: ChildProcess;
  readonly statusUrl: string;
  /** Log lines at level warn or above, by message (what went wrong, for the report). */
  readonly problems = new Map<string, number>();

  private constructor(child: ChildProcess, statusUrl: string) {
    this.#child = child;
    this.statusUrl = statusUrl;
  }

  /**
   * Starts the gateway (its config's status endpoint is `statusUrl`); resolves once `/healthz`
   * says every slot serves. Logs at warn unless PAYGATE_LOG_LEVEL says otherwise: info is lines per request.
   */
  static async start(configPath: string, logPath: string, statusUrl: string): Promise<GatewayChild> {
    const child = spawn(process.execPath, [BIN, 'gateway', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PAYGATE_LOG_LEVEL: process.env.PAYGATE_LOG_LEVEL ?? 'warn' },
    });
    const log = createWriteStream(logPath, { flags: 'a', mode: 0o600 });
    child.stderr?.pipe(log);
    const gateway = new GatewayChild(child, statusUrl);
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      log.write(chunk);
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        gateway.#count(parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
      }
    });
    const deadline = performance.now() + CHAOS_SETTINGS.startTimeoutMs;
    while (!(await gateway.#serving())) {
      if (child.exitCode !== null) throw new ChaosError('CHAOS_SETUP_FAILED', `the gateway exited (${child.exitCode}) at start (see ${logPath})`);
      if (performance.now() > deadline) throw new ChaosError('CHAOS_SETUP_FAILED', `the gateway was not serving within ${CHAOS_SETTINGS.startTimeoutMs} ms (see ${logPath})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return gateway;
  }

  #count(line: Record<string, unknown>): void {
    if (typeof line.level !== 'number' || line.level < 40) return;
    const key = `${line.level >= 50 ? 'error' : 'warn'}: ${String(line.msg ?? '?')}${typeof line.code === 'string' ? ` (${line.code})` : ''}`;
    this.problems.set(key, (this.problems.get(key) ?? 0) + 1);
  }

  async #serving(): Promise<boolean> {
    try {
      const health = (await (await fetch(`${this.statusUrl}/healthz`)).json()) as { status?: string };
      return health.status === 'ok';
    } catch {
      return false;
    }
  }

  /** The pool's processes, from `/healthz`. */
  async processes(): Promise<PoolProcess[]> {
    const health = (await (await fetch(`${this.statusUrl}/healthz`)).json()) as { workers?: { processes?: PoolProcess[] } };
    return health.workers?.processes ?? [];
  }

  /** The `/metrics` text. */
  async metrics(): Promise<string> {
    return (await fetch(`${this.statusUrl}/metrics`)).text();
  }

  /** SIGTERM (drain) and wait for the exit; its exit code. */
  async stop(): Promise<number | null> {
    if (this.#child.exitCode !== null) return this.#child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.#child.once('exit', (code) => resolve(code)));
    this.#child.kill('SIGTERM');
    return exited;
  }
}

function parse(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { msg: text };
  }
}
