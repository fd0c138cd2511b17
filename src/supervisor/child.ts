/**
 * The entry point of one supervised worker process (forked by worker-process.ts: compiled with
 * plain node, from the sources with tsx's loader). It waits for the supervisor's `start` message, runs a {@link Worker} from the
 * configuration text it was given, and reports over IPC: `broker` while it waits for an
 * unreachable broker (it keeps waiting: a broker that is down is not a start failure), then
 * `ready`, or `failed` then exit 3; then every answered request, dead letter and handler error,
 * and its state every
 * STATE_INTERVAL_MS (only when it changed, and at least every 2 s).
 *
 * Stopping: the supervisor's `stop` message, SIGTERM (someone signalled this process directly)
 * or SIGUSR1 ("stop after the current message") all drain: take no new message, finish and ACK
 * what is held, disconnect, exit 0. SIGINT and SIGHUP are ignored: Ctrl-C or a hang-up in a
 * terminal signals the whole process group, and the supervisor drains or reloads its children
 * itself. If the supervisor goes away
 * (IPC channel closed), the worker drains and exits too, so no orphan keeps consuming.
 */
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { actionLogger, createLogger } from '../logging.ts';
import { maskPan } from '../wire/index.ts';
import { parseWorkerConfig, Worker, workerOptionsFromConfig } from '../worker/index.ts';
import { describeError } from '../worker/describe-error.ts';
import { START_FAILED_EXIT_CODE } from './exit-codes.ts';
import { fromWorkerMessageSchema, STATE_INTERVAL_MS, toWorkerMessageSchema, type FromWorkerMessage, type ToWorkerMessage } from './messages.ts';

/** How long the child waits for its `start` message before giving up. */
const START_MESSAGE_TIMEOUT_MS = 30_000;
/** A state report is sent at least this often, changed or not (the supervisor's liveness signal). */
const STATE_HEARTBEAT_MS = 2_000;

function send(message: FromWorkerMessage): void {
  if (!process.connected || process.send === undefined) return;
  // Validated on the way out too (the parent would drop it): a bug shows on stderr, never as a crash.
  const checked = fromWorkerMessageSchema.safeParse(message);
  if (!checked.success) {
    process.stderr.write(`paygate worker ${process.pid}: a ${message.type} message to the supervisor does not fit its schema; dropped\n`);
    return;
  }
  try {
    process.send(checked.data);
  } catch {
    // The channel closed between the check and the send: the 'disconnect' handler drains.
  }
}

/** Lets the process exit once its work is done: closes the IPC channel if it is still open (never throws). */
function letGo(): void {
  if (process.connected) process.disconnect();
}

/** Forwards the worker's events to the supervisor and reports its state while it runs. */
function report(worker: Worker): () => void {
  worker.on('processed', (e) =>
    send({ type: 'processed', provider: e.provider, requestType: e.type, status: e.status, ...(e.code === undefined ? {} : { code: e.code }), durationMs: e.durationMs, replayedFromStore: e.replayedFromStore }),
  );
  worker.on('dead-letter', (e) => send({ type: 'dead-letter', provider: e.provider, reason: e.reason }));
  worker.on('handler-error', (e) => send({ type: 'handler-error', provider: e.provider, requestType: e.type, hook: e.hook, code: e.code }));
  let last = '';
  let lastSentAt = 0;
  const tick = (): void => {
    const state: FromWorkerMessage = {
      type: 'state',
      inFlight: worker.inFlight,
      brokerConnected: worker.brokerConnected,
      breakers: worker.breakerSnapshot().map(({ provider, endpoint, state: s }) => ({ provider, endpoint, state: s })),
      ...storeFailureOf(worker),
    };
    const text = JSON.stringify(state);
    const now = Date.now();
    if (text === last && now - lastSentAt < STATE_HEARTBEAT_MS) return;
    last = text;
    lastSentAt = now;
    send(state);
  };
  tick();
  const timer = setInterval(tick, STATE_INTERVAL_MS);
  return () => clearInterval(timer);
}

/** The `storeFailure` part of a state report: present only while the store fails writes. */
function storeFailureOf(worker: Worker): { storeFailure?: { code: string; message: string } } {
  const failure = worker.storeFailure;
  return failure === undefined ? {} : { storeFailure: { code: failure.code, message: maskPan(failure.message).slice(0, 500) } };
}

/** The first `start` message from the supervisor. */
function awaitStart(): Promise<Extract<ToWorkerMessage, { type: 'start' }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no start message from the supervisor')), START_MESSAGE_TIMEOUT_MS);
    const onMessage = (raw: unknown): void => {
      const parsed = toWorkerMessageSchema.safeParse(raw);
      if (!parsed.success || parsed.data.type !== 'start') return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(parsed.data);
    };
    process.on('message', onMessage);
  });
}

/**
 * Runs the worker of the `start` message. An unreachable broker (or PostgreSQL store) is waited
 * for, never a start failure: the first connection is retried with the reconnect backoff for as long as it takes
 * (`initialAttempts: 0`), each failed attempt reported to the supervisor, until it connects or
 * `signal` (a drain) aborts.
 */
async function startWorker(log: Logger, signal: AbortSignal): Promise<{ worker: Worker; graceMs: number }> {
  const start = await awaitStart();
  const config = parseWorkerConfig(start.configText, { baseDir: dirname(start.configPath), source: start.configPath });
  const options = await workerOptionsFromConfig(config);
  let failedAttempts = 0;
  const worker = await Worker.start(
    { ...options, stomp: { ...config.stomp, initialAttempts: 0 }, log: actionLogger(log.child({ slot: start.slot })) },
    {
      signal,
      onConnectFailed: ({ node, code, message }) => {
        failedAttempts += 1;
        log.warn({ node, code, attempt: failedAttempts }, `broker unreachable; retrying: ${maskPan(message)}`);
        send({ type: 'broker', state: 'waiting', node, code, message: maskPan(message).slice(0, 2_000) });
      },
      onStoreUnreachable: ({ code, message }) => log.warn({ code }, `idempotency store unreachable; retrying: ${maskPan(message)}`),
      onConnected: ({ node }) => {
        if (failedAttempts > 0) log.info({ node, failedAttempts }, 'broker reached');
        send({ type: 'broker', state: 'connected', node });
      },
    },
  );
  return { worker, graceMs: config.gateway.drainGraceMs };
}

async function main(): Promise<void> {
  const log = createLogger({ name: 'paygate-worker', base: { pid: process.pid } });
  // Ctrl-C and a terminal hang-up signal the whole process group: the supervisor decides.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  // A stop (message, SIGTERM, SIGUSR1, the supervisor gone) may come while the worker is still
  // starting: remember it and act on it as soon as there is a worker to drain.
  let stopAsked: { reason: DrainReason; graceMs: number | undefined } | undefined;
  // A stop while the worker waits for its broker gives the wait up (nothing is held yet).
  const starting = new AbortController();
  let drain: (reason: DrainReason, graceMs: number | undefined) => void = (reason, graceMs) => {
    stopAsked ??= { reason, graceMs };
    if (!started) process.exit(0); // no start message yet: nothing held, nothing to drain
    starting.abort();
  };
  let started = false;
  process.on('message', (raw: unknown) => {
    const parsed = toWorkerMessageSchema.safeParse(raw);
    if (!parsed.success) log.warn('unexpected message from the supervisor dropped');
    else if (parsed.data.type === 'start') started = true;
    else drain('asked', parsed.data.graceMs);
  });
  process.on('SIGTERM', () => drain('SIGTERM', undefined));
  process.on('SIGUSR1', () => drain('SIGUSR1', undefined));
  process.on('disconnect', () => drain('parent-gone', undefined));

  let running: { worker: Worker; graceMs: number };
  try {
    running = await startWorker(log, starting.signal);
  } catch (error) {
    if (stopAsked !== undefined) {
      send({ type: 'draining', reason: stopAsked.reason });
      log.info({ reason: stopAsked.reason }, 'worker stopped before it was serving');
      letGo();
      return;
    }
    const { code, message } = describeError(error);
    log.error({ code }, `worker could not start: ${maskPan(message)}`);
    send({ type: 'failed', code, message: maskPan(message).slice(0, 2_000) });
    process.exitCode = START_FAILED_EXIT_CODE;
    letGo();
    return;
  }
  const { worker, graceMs } = running;
  const stopReporting = report(worker);
  drain = drainer(worker, log, graceMs, stopReporting);
  if (stopAsked !== undefined) {
    drain(stopAsked.reason, stopAsked.graceMs);
    return;
  }
  send({ type: 'ready', workerId: worker.workerId, providers: worker.providers.map((p) => p.name) });
  log.info({ workerId: worker.workerId }, 'worker serving');
}

type DrainReason = Extract<FromWorkerMessage, { type: 'draining' }>['reason'];

/** Drains `worker` once (later calls do nothing) and exits 0, or 1 when stopping fails. */
function drainer(worker: Worker, log: Logger, defaultGraceMs: number, stopReporting: () => void): (reason: DrainReason, graceMs: number | undefined) => void {
  let draining = false;
  return (reason, graceMs) => {
    if (draining) return;
    draining = true;
    const ms = graceMs ?? defaultGraceMs;
    send({ type: 'draining', reason });
    log.info({ reason, graceMs: ms }, 'worker draining');
    worker.stop({ graceMs: ms }).then(
      () => {
        stopReporting();
        log.info('worker stopped');
        process.exitCode = 0;
        letGo();
      },
      (error: unknown) => {
        log.error({ err: error }, 'worker stop failed');
        process.exit(1);
      },
    );
  };
}

process.on('uncaughtException', (error) => {
  process.stderr.write(`paygate worker ${process.pid}: uncaught ${maskPan(String(error))}\n`);
  process.exit(1);
});
await main();
