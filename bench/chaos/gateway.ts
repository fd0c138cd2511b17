/**
 * `paygate gateway --config FILE` as a child process (what an operator runs): its JSON log lines
 * go to a file, and the pool is read from `/healthz` and `/metrics` (docs/operations.md,
 * "Health and metrics"). Started in a process group of its own, the whole gateway (supervisor
 * and workers) can be SIGKILLed at once, as a host that loses power, and started again on the
 * same config and folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChaosError } from './errors.ts';
import { CHAOS_SETTINGS } from './options.ts';

const BIN = fileURLToPath(new URL('../../bin/paygate.js', import.meta.url));

/** One worker process as `/healthz` lists it. */
export interface PoolProcess {
  readonly slot: number;
  readonly pid: number;
  readonly state: string;
  /** Requests the worker holds now. */
  readonly inFlight?: number;
}

/** What the scale-out tests read of `/healthz` (src/supervisor/health.ts has the whole document). */
export interface GatewayHealth {
  /** `ok`, `degraded` or `down`. */
  readonly status: string;
  /** `failing` while a worker's idempotency store fails writes. */
  readonly store?: string;
  readonly storeError?: string;
  readonly workers?: { readonly serving?: number; readonly processes?: PoolProcess[] };
}

/** How the gateway is started. */
export interface GatewayStartOptions {
  /**
   * Its own process group (spawned detached), so that {@link GatewayChild.kill} reaches the
   * supervisor and every worker. Off by default: the gateway then stays in the caller's group,
   * where a Ctrl-C of the caller reaches it too.
   */
  readonly processGroup?: boolean;
}

/** The running gateway. */
export class GatewayChild {
  #child: ChildProcess;
  #exited: Promise<void>;
  readonly #configPath: string;
  readonly #logPath: string;
  readonly #options: GatewayStartOptions;
  readonly statusUrl: string;
  /** Log lines at level warn or above, by message (what went wrong, for the report), over every start. */
  readonly problems = new Map<string, number>();

  private constructor(configPath: string, logPath: string, statusUrl: string, options: GatewayStartOptions) {
    this.#configPath = configPath;
    this.#logPath = logPath;
    this.statusUrl = statusUrl;
    this.#options = options;
    [this.#child, this.#exited] = this.#spawn();
  }

  /**
   * Starts the gateway (its config's status endpoint is `statusUrl`); resolves once `/healthz`
   * says every slot serves. Logs at warn unless PAYGATE_LOG_LEVEL says otherwise: info is lines per request.
   */
  static async start(configPath: string, logPath: string, statusUrl: string, options: GatewayStartOptions = {}): Promise<GatewayChild> {
    const gateway = new GatewayChild(configPath, logPath, statusUrl, options);
    await gateway.#untilServing();
    return gateway;
  }

  /** The supervisor's pid (of the current start). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  #spawn(): [ChildProcess, Promise<void>] {
    const child = spawn(process.execPath, [BIN, 'gateway', '--config', this.#configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.#options.processGroup === true,
      env: { ...process.env, PAYGATE_LOG_LEVEL: process.env.PAYGATE_LOG_LEVEL ?? 'warn' },
    });
    const log = createWriteStream(this.#logPath, { flags: 'a', mode: 0o600 });
    child.stderr?.pipe(log);
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      log.write(chunk);
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        this.#count(parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
      }
    });
    // A group of its own outlives this process unless it is ended with it.
    const orphanGuard = (): void => signalGroup(child, 'SIGKILL');
    if (this.#options.processGroup === true) process.once('exit', orphanGuard);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        process.removeListener('exit', orphanGuard);
        resolve();
      }),
    );
    return [child, exited];
  }

  async #untilServing(): Promise<void> {
    const deadline = performance.now() + CHAOS_SETTINGS.startTimeoutMs;
    while (!(await this.#serving())) {
      if (this.#hasExited()) throw new ChaosError('CHAOS_SETUP_FAILED', `the gateway exited (${this.#child.exitCode ?? this.#child.signalCode}) at start (see ${this.#logPath})`);
      if (performance.now() > deadline) throw new ChaosError('CHAOS_SETUP_FAILED', `the gateway was not serving within ${CHAOS_SETTINGS.startTimeoutMs} ms (see ${this.#logPath})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  #hasExited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
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

  /** The `/healthz` document (HTTP 503 when down still has one). */
  async health(): Promise<GatewayHealth> {
    return (await (await fetch(`${this.statusUrl}/healthz`)).json()) as GatewayHealth;
  }

  /** The pool's processes, from `/healthz`. */
  async processes(): Promise<PoolProcess[]> {
    return (await this.health()).workers?.processes ?? [];
  }

  /** The `/metrics` text. */
  async metrics(): Promise<string> {
    return (await fetch(`${this.statusUrl}/metrics`)).text();
  }

  /**
   * SIGKILLs the supervisor and its workers at once (the whole process group: nobody drains,
   * nobody ACKs), and resolves once no process of the group is left. Needs `processGroup`.
   */
  async kill(): Promise<void> {
    if (this.#options.processGroup !== true) throw new ChaosError('CHAOS_SETUP_FAILED', 'kill() needs a gateway started with processGroup: true');
    if (this.#hasExited()) return;
    signalGroup(this.#child, 'SIGKILL');
    await this.#exited;
    // The workers were signalled with the supervisor; wait until the kernel has removed them too.
    const deadline = performance.now() + CHAOS_SETTINGS.startTimeoutMs;
    while (groupAlive(this.#child)) {
      if (performance.now() > deadline) throw new ChaosError('CHAOS_SETUP_FAILED', `processes of gateway group ${this.#child.pid} outlived SIGKILL`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Starts the gateway again (same config, log and status URL) after it exited; resolves once every slot serves. */
  async restart(): Promise<void> {
    if (!this.#hasExited()) throw new ChaosError('CHAOS_SETUP_FAILED', 'restart() needs the gateway stopped or killed first');
    [this.#child, this.#exited] = this.#spawn();
    await this.#untilServing();
  }

  /** SIGTERM (drain) and wait for the exit; its exit code (null when it ended by a signal). */
  async stop(): Promise<number | null> {
    if (!this.#hasExited()) {
      this.#child.kill('SIGTERM');
      await this.#exited;
    }
    return this.#child.exitCode;
  }
}

/** Sends `signal` to the child's process group; nothing when the group is gone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: every process of the group has exited already.
  }
}

/**
 * Whether a process of the child's group still runs. Read from /proc, where a zombie counts as
 * gone: a killed worker's parent died with it, and a container's init may never reap it.
 */
function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return false; // no /proc: the supervisor's exit is all there is to wait for
  }
  return entries.some((pid) => {
    try {
      // After the command's closing parenthesis: state, ppid, pgrp.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === child.pid && state !== 'Z' && state !== 'X';
    } catch {
      return false; // exited while we looked
    }
  });
}

function parse(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { msg: text };
  }
}
