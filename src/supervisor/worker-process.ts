/**
 * The supervisor's handle on one worker process: forks the child entry next to this module
 * (child.js with plain node when compiled; child.ts through tsx's loader when running from the
 * sources), hands it the configuration, and tracks what it reports (ready, state, exit). Messages
 * the child sends are validated (messages.ts) and re-emitted; anything else is dropped.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { SupervisorError } from './errors.ts';
import { START_FAILED_EXIT_CODE } from './exit-codes.ts';
import { fromWorkerMessageSchema, type FromWorkerMessage, type ToWorkerMessage } from './messages.ts';

/** After the grace period, how long workers get to abort, answer `unknown` and disconnect before SIGKILL. */
const STOP_SETTLE_MS = 5_000;

/** The worker process's entry file and the node flags it needs. */
export interface ChildEntry {
  readonly file: string;
  readonly execArgv: readonly string[];
}

/**
 * Where a worker process starts. Compiled (this module is a `.js` file in dist/): child.js, with
 * no loader, so a worker starts as fast as plain node allows. From the sources (a checkout run
 * through tsx, the tests): child.ts with tsx's loader, resolved only then because tsx is a
 * devDependency that an installed package does not have.
 *
 * @throws SupervisorError `WORKER_START_FAILED` when running from the sources without tsx installed.
 */
export function childEntry(moduleUrl: string = import.meta.url): ChildEntry {
  if (!moduleUrl.endsWith('.ts')) return { file: fileURLToPath(new URL('./child.js', moduleUrl)), execArgv: [] };
  let loader: string;
  try {
    // By absolute URL: the gateway may run from any working directory.
    loader = pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href;
  } catch (cause) {
    throw new SupervisorError('WORKER_START_FAILED', 'paygate runs from its TypeScript sources here, and its worker processes need tsx for that: run npm install in the checkout (tsx is a devDependency), or run the compiled package (npm run build)', { cause });
  }
  return { file: fileURLToPath(new URL('./child.ts', moduleUrl)), execArgv: ['--import', loader] };
}

/** Where a worker process is in its life. */
export type WorkerProcessState = 'starting' | 'ready' | 'draining' | 'exited';

/** How a worker process ended. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Why a starting worker is waiting for its broker: the last failed attempt. */
export interface BrokerWait {
  readonly node: string;
  readonly code: string;
  readonly message: string;
}

/** Breaker states as the child reports them. */
export type ReportedBreaker = Extract<FromWorkerMessage, { type: 'state' }>['breakers'][number];

export interface WorkerProcessEvents {
  /** A validated message from the child (every type, `ready` and `failed` included). */
  message: [FromWorkerMessage];
  exit: [WorkerExit];
}

/** Options of {@link WorkerProcess.fork}. */
export interface ForkOptions {
  readonly slot: number;
  readonly configText: string;
  readonly configPath: string;
  readonly log: Logger;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the child's stdout and stderr go (a file descriptor); the supervisor's own by default. */
  readonly output?: number;
}

export class WorkerProcess extends EventEmitter<WorkerProcessEvents> {
  readonly slot: number;
  readonly pid: number;
  readonly startedAt = Date.now();
  readonly exited: Promise<WorkerExit>;
  #state: WorkerProcessState = 'starting';
  #workerId: string | undefined;
  #inFlight = 0;
  #brokerConnected = false;
  #breakers: readonly ReportedBreaker[] = [];
  #failure: { code: string; message: string } | undefined;
  #brokerWait: BrokerWait | undefined;
  #storeFailure: { readonly code: string; readonly message: string } | undefined;
  #stopAsked = false;
  #drainAnnounced = false;
  readonly #child: ChildProcess;
  readonly #log: Logger;

  private constructor(child: ChildProcess, slot: number, log: Logger) {
    super();
    this.#child = child;
    this.#log = log;
    this.slot = slot;
    this.pid = child.pid ?? -1;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#state = 'exited';
        this.#inFlight = 0;
        this.#brokerConnected = false;
        const exit = { code, signal };
        this.emit('exit', exit);
        resolve(exit);
      });
    });
    child.on('error', (error) => log.error({ err: error, slot, workerPid: this.pid }, 'worker process error'));
    child.on('message', (raw: unknown) => {
      const parsed = fromWorkerMessageSchema.safeParse(raw);
      if (!parsed.success) {
        log.warn({ slot, workerPid: this.pid }, 'unexpected message from a worker process dropped');
        return;
      }
      this.#take(parsed.data);
    });
  }

  /** Forks a worker process and sends it its configuration. */
  static fork(options: ForkOptions): WorkerProcess {
    const entry = childEntry();
    const child = fork(entry.file, [], {
      execArgv: [...entry.execArgv],
      stdio: ['ignore', options.output ?? 'inherit', options.output ?? 'inherit', 'ipc'],
      serialization: 'json',
      env: { ...(options.env ?? process.env) },
    });
    const handle = new WorkerProcess(child, options.slot, options.log);
    handle.#send({ type: 'start', configText: options.configText, configPath: options.configPath, slot: options.slot });
    return handle;
  }

  #take(message: FromWorkerMessage): void {
    // The IPC pipe and the exit are delivered independently: a late report of a dead worker
    // would put it back into the metrics for good.
    if (this.#state === 'exited') return;
    switch (message.type) {
      case 'ready':
        if (this.#state === 'starting') this.#state = 'ready';
        this.#workerId = message.workerId;
        this.#brokerWait = undefined;
        break;
      case 'failed':
        this.#failure = { code: message.code, message: message.message };
        break;
      case 'broker':
        this.#brokerWait = message.state === 'waiting' ? { node: message.node, code: message.code, message: message.message } : undefined;
        break;
      case 'draining':
        this.#state = 'draining';
        this.#drainAnnounced = true;
        break;
      case 'state':
        this.#inFlight = message.inFlight;
        this.#brokerConnected = message.brokerConnected;
        this.#breakers = message.breakers;
        this.#storeFailure = message.storeFailure;
        break;
      default:
        break;
    }
    this.emit('message', message);
  }

  #send(message: ToWorkerMessage): void {
    if (!this.#child.connected) return;
    try {
      this.#child.send(message);
    } catch {
      // The child is exiting; its 'exit' event tells the rest.
    }
  }

  get state(): WorkerProcessState {
    return this.#state;
  }

  get workerId(): string | undefined {
    return this.#workerId;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get brokerConnected(): boolean {
    return this.#brokerConnected;
  }

  get breakers(): readonly ReportedBreaker[] {
    return this.#breakers;
  }

  /** Why the worker could not start, when it said so before exiting. */
  get failure(): { readonly code: string; readonly message: string } | undefined {
    return this.#failure;
  }

  /** While starting: the broker's last refusal, when the worker is waiting for it (undefined once connected). */
  get brokerWait(): BrokerWait | undefined {
    return this.#state === 'starting' ? this.#brokerWait : undefined;
  }

  /** While the worker's idempotency store fails writes: its last failure (the worker refuses requests meanwhile). */
  get storeFailure(): { readonly code: string; readonly message: string } | undefined {
    return this.#state === 'exited' ? undefined : this.#storeFailure;
  }

  /** Whether the supervisor asked this worker to stop (its exit is then expected). */
  get stopAsked(): boolean {
    return this.#stopAsked;
  }

  /** Whether the worker announced it was draining (asked, or SIGUSR1/SIGTERM sent to it directly). */
  get drainAnnounced(): boolean {
    return this.#drainAnnounced;
  }

  /**
   * Resolves once the worker is subscribed; rejects with `WORKER_START_FAILED` when it exits
   * first (with the failure it reported, if any) or is not ready within `timeoutMs` (it is then
   * killed, unless it was asked to stop meanwhile: then it is draining what it may hold).
   *
   * `patientWithBroker`: a worker that is waiting for an unreachable broker when the time is up
   * gets `timeoutMs` more, again and again: the broker being down is not the worker's failure,
   * and killing it would only make the restart intensity give up on a gateway that would serve
   * as soon as the broker is back. A reload is not patient: its new pool is dropped, the old kept.
   */
  ready(timeoutMs: number, options: { readonly patientWithBroker?: boolean } = {}): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('exit', onExit);
      };
      const onMessage = (message: FromWorkerMessage): void => {
        if (message.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onExit = (exit: WorkerExit): void => {
        cleanup();
        reject(new SupervisorError('WORKER_START_FAILED', `worker process ${this.pid} exited before it was ready (${describeExit(exit)})${this.#failureText()}`));
      };
      const expire = (): void => {
        const wait = this.brokerWait;
        if (options.patientWithBroker === true && wait !== undefined) {
          this.#log.warn({ slot: this.slot, workerPid: this.pid, node: wait.node, code: wait.code, readyTimeoutMs: timeoutMs }, 'worker still waiting for the broker; not restarted');
          timer = setTimeout(expire, timeoutMs);
          return;
        }
        cleanup();
        if (!this.#stopAsked) this.kill();
        reject(new SupervisorError('WORKER_START_FAILED', `worker process ${this.pid} was not ready within ${timeoutMs} ms${this.#failureText()}`));
      };
      let timer = setTimeout(expire, timeoutMs);
      this.on('message', onMessage);
      this.on('exit', onExit);
    });
  }

  #failureText(): string {
    if (this.#failure !== undefined) return `: ${this.#failure.code}: ${this.#failure.message}`;
    const wait = this.brokerWait;
    return wait === undefined ? '' : `: still waiting for the broker (${wait.node}: ${wait.code}: ${wait.message})`;
  }

  /** Asks the worker to drain (finish what it holds within `graceMs`) and exit. */
  stop(graceMs: number): void {
    if (this.#state === 'exited') return;
    this.#stopAsked = true;
    this.#state = 'draining';
    this.#send({ type: 'stop', graceMs });
  }

  /** Sends a signal (SIGKILL by default) to the worker process. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#state !== 'exited') this.#child.kill(signal);
  }
}

/** `code 3` / `signal SIGKILL`, for messages. */
export function describeExit(exit: WorkerExit): string {
  return exit.signal === null ? `exit code ${exit.code ?? 'unknown'}` : `signal ${exit.signal}`;
}

/**
 * Asks every worker to drain within `graceMs`, kills those still running `STOP_SETTLE_MS` later
 * (a hung worker must not hold a reload or a shutdown forever), and resolves with their exits.
 */
export async function drainAll(workers: readonly WorkerProcess[], graceMs: number): Promise<WorkerExit[]> {
  workers.forEach((worker) => worker.stop(graceMs));
  const killer = setTimeout(() => workers.forEach((worker) => worker.kill()), graceMs + STOP_SETTLE_MS);
  try {
    return await Promise.all(workers.map((worker) => worker.exited));
  } finally {
    clearTimeout(killer);
  }
}

/** Why an unexpected exit happened, for the restart metric. */
export function causeOf(worker: WorkerProcess, exit: WorkerExit): 'crashed' | 'killed' | 'start-failed' | 'stopped-itself' {
  if (exit.signal === 'SIGKILL') return 'killed';
  if (exit.code === START_FAILED_EXIT_CODE || worker.failure !== undefined) return 'start-failed';
  if (exit.code === 0 && worker.drainAnnounced) return 'stopped-itself';
  return 'crashed';
}
