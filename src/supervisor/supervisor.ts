/**
 * The supervisor behind `paygate gateway`: a pool of worker processes
 * (MooseX::Workers' model: fork N, typed messages both ways) that
 * - restarts a worker that dies, after a per-slot exponential backoff, and gives up — stops
 *   the pool and reports why — when restart intensity is exceeded (restart-policy.ts);
 * - reloads (`reload()`, SIGHUP in the CLI): re-reads and validates the file; an invalid one
 *   is reported and changes nothing; a valid one starts a complete new pool, waits until every
 *   new worker is subscribed, and only then drains the old ones, so capacity never drops and
 *   nothing held is lost (a failed new pool is drained and the old one kept);
 * - drains (`stop()`, SIGTERM): every worker stops taking messages, finishes and ACKs what it
 *   holds within the grace period, disconnects; unstarted messages stay in the broker;
 * - keeps the pool's metrics in this process (so counters survive a worker's death) and serves
 *   /healthz and /metrics.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { createLogger } from '../logging.ts';
import { ConfigError, type WorkerConfig } from '../worker/index.ts';
import { loadConfig } from './config-file.ts';
import { GATEWAY_GAVE_UP_EXIT_CODE, GATEWAY_STOPPED_EXIT_CODE, GATEWAY_UNCLEAN_STOP_EXIT_CODE } from './exit-codes.ts';
import { SupervisorError } from './errors.ts';
import { healthOf, type PoolHealth } from './health.ts';
import { GatewayMetrics } from './metrics.ts';
import type { FromWorkerMessage } from './messages.ts';
import { RestartPolicy } from './restart-policy.ts';
import { startStatusServer, type StatusServer } from './status-server.ts';
import { causeOf, describeExit, drainAll, WorkerProcess, type BrokerWait, type WorkerExit } from './worker-process.ts';

/** Options of {@link Supervisor.start}. */
export interface SupervisorOptions {
  /** The configuration file (worker keys plus the `gateway:` section); re-read by `reload()`. */
  readonly configPath: string;
  /** Where the supervisor logs; a pino JSON logger on stdout by default. */
  readonly logger?: Logger;
  /** The environment of the worker processes and of `${env:…}` in the file; `process.env` by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A file descriptor for the workers' stdout and stderr (their log lines); they share the supervisor's by default. */
  readonly workerOutput?: number;
  /** Aborting it while `start()` waits for the workers drains them and makes `start()` reject with `SUPERVISOR_STOPPED`. */
  readonly signal?: AbortSignal;
}

/** What one live worker process is doing. */
export interface WorkerInfo {
  readonly slot: number;
  readonly pid: number;
  readonly workerId: string | undefined;
  readonly state: 'starting' | 'ready' | 'draining';
  readonly inFlight: number;
  readonly brokerConnected: boolean;
  /** A starting worker waiting for an unreachable broker: its last failed attempt. */
  readonly waitingForBroker?: BrokerWait;
  /** The worker's idempotency store fails writes: it answers every request `STORE_FAILED` meanwhile. */
  readonly storeFailure?: { readonly code: string; readonly message: string };
}

/** How the supervisor ended: `code` is the process exit code the CLI uses. */
export interface SupervisorExit {
  readonly code: number;
  readonly reason: string;
}

export interface SupervisorEvents {
  'worker-ready': [{ slot: number; pid: number; workerId: string }];
  'worker-exit': [{ slot: number; pid: number; code: number | null; signal: string | null; expected: boolean }];
  /** A starting worker failed to reach the broker (`waiting`: it keeps trying) or reached it. */
  'worker-broker': [{ slot: number; pid: number; state: 'waiting' | 'connected' }];
  /** Restart intensity was exceeded; the pool is being stopped. */
  'gave-up': [{ reason: string }];
  /** The pool is being stopped (drain, or giving up). */
  stopping: [{ reason: string }];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly #options: SupervisorOptions;
  readonly #log: Logger;
  readonly metrics = new GatewayMetrics();
  #config: WorkerConfig;
  #configText: string;
  #policy: RestartPolicy;
  /** The current worker of each slot. */
  readonly #pool = new Map<number, WorkerProcess>();
  /** Workers not (or no longer) in the pool: a reload's new ones until they take over, old ones draining. */
  readonly #others = new Set<WorkerProcess>();
  readonly #restartTimers = new Map<number, NodeJS.Timeout>();
  #phase: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';
  #gaveUp = false;
  #reloading = false;
  #status: StatusServer | undefined;
  #settle: ((exit: SupervisorExit) => void) | undefined;
  /** Resolves when the supervisor has stopped (drained, gave up), with the exit code to use. */
  readonly done: Promise<SupervisorExit>;

  private constructor(options: SupervisorOptions, loaded: { config: WorkerConfig; text: string }, log: Logger) {
    super();
    this.#options = options;
    this.#log = log;
    this.#config = loaded.config;
    this.#configText = loaded.text;
    this.#policy = new RestartPolicy(loaded.config.gateway.restart);
    this.done = new Promise((settle) => (this.#settle = settle));
  }

  /**
   * Loads and validates the configuration, starts the status endpoint (when configured), forks
   * `gateway.workers` worker processes and resolves once every one is subscribed.
   *
   * @throws ConfigError `CONFIG_INVALID`; SupervisorError `SUPERVISOR_GAVE_UP` (workers kept
   *   failing to start: the message names the last failure); StatusServerError
   *   `STATUS_SERVER_LISTEN`.
   */
  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const log = options.logger ?? createLogger({ name: 'paygate-gateway' });
    const supervisor = new Supervisor(options, loadConfig(options), log);
    const { http } = supervisor.#config.gateway;
    if (http !== undefined) {
      supervisor.#status = await startStatusServer({ ...http, metrics: supervisor.metrics, health: () => supervisor.health() });
      // Before the workers: /healthz answers (`down`, and why) while they wait for a broker.
      log.info({ statusUrl: supervisor.#status.url }, 'status endpoint listening');
    }
    const ready = supervisor.#untilAllReady();
    const abort = (): void => void supervisor.#shutdown(supervisor.#config.gateway.drainGraceMs, undefined, 'stopped before every worker was ready');
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      if (options.signal?.aborted) abort();
      for (let slot = 0; slot < supervisor.#config.gateway.workers && supervisor.#phase === 'starting'; slot += 1) supervisor.#respawn(slot);
      await ready;
    } catch (error) {
      await supervisor.done;
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    supervisor.#phase = 'running';
    log.info({ workers: supervisor.#pool.size, statusUrl: supervisor.statusUrl }, 'gateway running');
    return supervisor;
  }

  /** `http://host:port` of /healthz and /metrics, or undefined when `gateway.http` is false. */
  get statusUrl(): string | undefined {
    return this.#status?.url;
  }

  /** The configuration in force (the last one loaded at start or applied by a reload). */
  get config(): WorkerConfig {
    return this.#config;
  }

  /** One entry per live worker process, pool first, then those starting or draining beside it. */
  workers(): WorkerInfo[] {
    return [...this.#pool.values(), ...this.#others]
      .filter((p) => p.state !== 'exited')
      .map((p) => {
        const { brokerWait, storeFailure } = p;
        return {
          slot: p.slot, pid: p.pid, workerId: p.workerId, state: p.state as WorkerInfo['state'], inFlight: p.inFlight, brokerConnected: p.brokerConnected,
          ...(brokerWait === undefined ? {} : { waitingForBroker: brokerWait }),
          ...(storeFailure === undefined ? {} : { storeFailure }),
        };
      });
  }

  /** The pool's health, as /healthz serves it. */
  health(): PoolHealth {
    return healthOf({ phase: this.#phase, desired: this.#config.gateway.workers, workers: this.workers(), recentRestarts: this.#policy.recentRestarts, reloading: this.#reloading });
  }

  #spawn(slot: number, configText = this.#configText): WorkerProcess {
    const { env, workerOutput } = this.#options;
    const worker = WorkerProcess.fork({ slot, configText, configPath: this.#config.source, log: this.#log, ...(env ? { env } : {}), ...(workerOutput === undefined ? {} : { output: workerOutput }) });
    worker.on('message', (message) => this.#onMessage(worker, message));
    worker.once('exit', (exit) => this.#onExit(worker, exit));
    worker.ready(this.#config.gateway.readyTimeoutMs, { patientWithBroker: true }).catch((error: unknown) => this.#log.warn({ slot, workerPid: worker.pid, err: error }, 'worker did not start'));
    this.#log.info({ slot, workerPid: worker.pid }, 'worker process forked');
    return worker;
  }

  /**
   * Puts a new worker in `slot`. A fork that fails at once (EAGAIN, EMFILE: the machine is out of
   * processes or files) is treated like a worker that died: backoff, and intensity.
   */
  #respawn(slot: number): void {
    try {
      this.#pool.set(slot, this.#spawn(slot));
    } catch (error) {
      this.#log.error({ slot, err: error }, 'cannot fork a worker process');
      this.#pool.delete(slot);
      this.#scheduleRestart(slot, `fork failed: ${(error as Error).message}`);
    }
  }

  /** After a worker of `slot` died (or could not be forked): restart it after its backoff, or give up. */
  #scheduleRestart(slot: number, why: string): void {
    const decision = this.#policy.next(slot);
    if (decision.giveUp) {
      const reason = `restart intensity exceeded: ${decision.restarts} restarts within ${decision.withinMs / 1000} s (gateway.restart.max_restarts is ${this.#config.gateway.restart.maxRestarts}); last: worker ${slot} ${why}`;
      void this.#giveUp(reason);
      return;
    }
    this.#log.warn({ slot, exit: why, delayMs: decision.delayMs }, 'worker process died; restarting');
    clearTimeout(this.#restartTimers.get(slot));
    this.#restartTimers.set(
      slot,
      setTimeout(() => {
        this.#restartTimers.delete(slot);
        if (this.#phase === 'starting' || this.#phase === 'running') this.#respawn(slot);
      }, decision.delayMs),
    );
  }

  #onMessage(worker: WorkerProcess, message: FromWorkerMessage): void {
    const m = this.metrics;
    switch (message.type) {
      case 'ready':
        this.emit('worker-ready', { slot: worker.slot, pid: worker.pid, workerId: message.workerId });
        break;
      case 'broker':
        this.emit('worker-broker', { slot: worker.slot, pid: worker.pid, state: message.state });
        break;
      case 'state':
        m.setWorker(String(worker.pid), { inFlight: message.inFlight, brokerConnected: message.brokerConnected, breakers: message.breakers });
        break;
      case 'processed':
        m.recordProcessed({ provider: message.provider, type: message.requestType, status: message.status, ...(message.code === undefined ? {} : { code: message.code }), durationMs: message.durationMs, replayedFromStore: message.replayedFromStore });
        break;
      case 'dead-letter':
        m.recordDeadLetter({ provider: message.provider, reason: message.reason });
        break;
      case 'handler-error':
        m.recordHandlerError({ provider: message.provider, type: message.requestType, hook: message.hook, code: message.code, message: '' });
        break;
      default:
        break;
    }
    this.#updatePoolGauge();
  }

  #updatePoolGauge(): void {
    const ready = [...this.#pool.values()].filter((p) => p.state === 'ready').length;
    this.metrics.setPool({ desired: this.#config.gateway.workers, ready });
  }

  #onExit(worker: WorkerProcess, exit: WorkerExit): void {
    this.metrics.removeWorker(String(worker.pid));
    const current = this.#pool.get(worker.slot) === worker;
    const expected = worker.stopAsked || this.#phase === 'stopping' || this.#phase === 'stopped' || !current;
    this.emit('worker-exit', { slot: worker.slot, pid: worker.pid, code: exit.code, signal: exit.signal, expected });
    this.#others.delete(worker);
    this.#updatePoolGauge();
    if (expected) {
      this.#log.info({ slot: worker.slot, workerPid: worker.pid, exit: describeExit(exit) }, 'worker process exited');
      return;
    }
    const cause = causeOf(worker, exit);
    this.metrics.recordRestart(cause);
    if (cause === 'stopped-itself') {
      // SIGUSR1 (or SIGTERM) sent to the worker by an operator: a planned recycle, not a failure.
      this.#log.info({ slot: worker.slot, workerPid: worker.pid }, 'worker stopped itself; starting its replacement');
      this.#respawn(worker.slot);
      return;
    }
    const failure = worker.failure ? ` — ${worker.failure.code}: ${worker.failure.message}` : '';
    this.#scheduleRestart(worker.slot, `(pid ${worker.pid}) ended with ${describeExit(exit)}${failure}`);
  }

  /** Resolves when every slot's worker is ready; rejects when the supervisor gives up first. */
  #untilAllReady(): Promise<void> {
    return new Promise((resolveReady, reject) => {
      const check = (): void => {
        const all = [...this.#pool.values()];
        if (all.length === this.#config.gateway.workers && all.every((p) => p.state === 'ready')) {
          this.off('worker-ready', check);
          this.off('gave-up', fail);
          this.off('stopping', fail);
          resolveReady();
        }
      };
      const fail = ({ reason }: { reason: string }): void => {
        this.off('worker-ready', check);
        this.off('gave-up', fail);
        this.off('stopping', fail);
        reject(new SupervisorError(this.#gaveUp ? 'SUPERVISOR_GAVE_UP' : 'SUPERVISOR_STOPPED', reason));
      };
      this.on('worker-ready', check);
      this.once('gave-up', fail);
      this.once('stopping', fail);
    });
  }

  async #giveUp(reason: string): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return;
    this.#log.fatal({ reason }, 'gateway gave up');
    this.#gaveUp = true;
    this.emit('gave-up', { reason });
    await this.#shutdown(this.#config.gateway.drainGraceMs, { code: GATEWAY_GAVE_UP_EXIT_CODE, reason });
  }

  /**
   * Re-reads the configuration file. Invalid: logged, nothing changes, `{ applied: false }`.
   * Valid: a new pool is started; once every new worker is subscribed the old ones drain
   * (resolves after they exited). A new pool that fails to start is drained and the old kept.
   */
  async reload(): Promise<{ applied: boolean; reason?: string }> {
    if (this.#phase !== 'running') return { applied: false, reason: `the gateway is ${this.#phase}` };
    if (this.#reloading) return { applied: false, reason: 'a reload is already in progress' };
    this.#reloading = true;
    try {
      return await this.#reload();
    } catch (error) {
      // Not a configuration problem (those are answered by #reload): still never a crash of the gateway.
      this.metrics.recordReload('failed');
      this.#log.error({ err: error }, 'reload failed; the running pool is unchanged');
      return { applied: false, reason: (error as Error).message };
    } finally {
      this.#reloading = false;
    }
  }

  async #reload(): Promise<{ applied: boolean; reason?: string }> {
    let next: { config: WorkerConfig; text: string };
    try {
      next = loadConfig(this.#options);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.metrics.recordReload('rejected');
      this.#log.error({ code: error.code, problems: error.problems }, 'reload refused: the configuration is invalid; the running pool is unchanged');
      return { applied: false, reason: error.message };
    }
    const fresh = Array.from({ length: next.config.gateway.workers }, (_, slot) => this.#spawn(slot, next.text));
    fresh.forEach((worker) => this.#others.add(worker));
    const started = await Promise.allSettled(fresh.map((worker) => worker.ready(next.config.gateway.readyTimeoutMs)));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    const died = fresh.find((worker) => worker.state === 'exited');
    if (failed !== undefined || died !== undefined || this.#phase !== 'running') {
      const reason = failed ? String((failed.reason as Error).message) : died ? `new worker process ${died.pid} exited before the switch` : `the gateway is ${this.#phase}`;
      await drainAll(fresh, next.config.gateway.drainGraceMs);
      this.metrics.recordReload('failed');
      this.#log.error({ reason }, 'reload failed: the new workers did not all start; the running pool is unchanged');
      return { applied: false, reason };
    }
    if (next.config.gateway.http?.port !== this.#config.gateway.http?.port || next.config.gateway.http?.host !== this.#config.gateway.http?.host) {
      this.#log.warn('gateway.http changed: it takes effect at the next start');
    }
    const old = [...this.#pool.values()].filter((worker) => worker.state !== 'exited');
    this.#restartTimers.forEach((timer) => clearTimeout(timer));
    this.#restartTimers.clear();
    this.#pool.clear();
    fresh.forEach((worker) => {
      this.#others.delete(worker);
      this.#pool.set(worker.slot, worker);
    });
    this.#config = next.config;
    this.#configText = next.text;
    this.#policy.configure(next.config.gateway.restart);
    old.forEach((worker) => this.#others.add(worker));
    await drainAll(old, this.#config.gateway.drainGraceMs);
    this.metrics.recordReload('applied');
    this.#updatePoolGauge();
    this.#log.info({ workers: fresh.length }, 'reload applied');
    return { applied: true };
  }

  /**
   * Drains the pool: every worker stops taking messages and finishes what it holds within
   * `graceMs` (the file's `gateway.drain_grace` by default); stragglers are killed after a
   * further settle time. Resolves when every worker exited; `done` then says exit code 0 when
   * all drained cleanly, 1 otherwise.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    await this.#shutdown(options.graceMs ?? this.#config.gateway.drainGraceMs);
    await this.done;
  }

  async #shutdown(graceMs: number, exit?: SupervisorExit, why = exit?.reason ?? 'drain'): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return;
    this.#phase = 'stopping';
    this.#restartTimers.forEach((timer) => clearTimeout(timer));
    this.#restartTimers.clear();
    this.emit('stopping', { reason: why });
    const all = [...this.#pool.values(), ...this.#others].filter((worker) => worker.state !== 'exited');
    this.#log.info({ workers: all.length, graceMs }, 'gateway draining');
    const exits = await drainAll(all, graceMs);
    await this.#status?.close();
    this.#phase = 'stopped';
    const clean = exits.every((e) => e.code === 0);
    const result = exit ?? (clean ? { code: GATEWAY_STOPPED_EXIT_CODE, reason: 'drained' } : { code: GATEWAY_UNCLEAN_STOP_EXIT_CODE, reason: 'some workers did not drain cleanly (killed after the grace period)' });
    this.#log.info({ code: result.code, reason: result.reason }, 'gateway stopped');
    this.#settle?.(result);
  }
}
