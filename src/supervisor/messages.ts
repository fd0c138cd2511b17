/**
 * The typed messages between the supervisor and its worker processes (Node's IPC channel,
 * JSON-serialised). Both ends validate what they receive with these schemas: a message that
 * does not fit is logged and dropped, never trusted. None carries card data (events are codes,
 * names and counts).
 */
import { z } from 'zod';
import { REPLY_STATUSES } from '../wire/index.ts';

const name = z.string().min(1).max(200);
const count = z.number().int().nonnegative();

// ---------------------------------------------------------------------------------------------
// Supervisor → worker process.
// ---------------------------------------------------------------------------------------------

/** Run a worker from this configuration (the exact bytes the supervisor validated). */
const startMessage = z.strictObject({
  type: z.literal('start'),
  /** The config file's text, so that a file edited after the supervisor checked it cannot surprise the child. */
  configText: z.string(),
  /** The config file's absolute path (relative paths in it resolve against its folder). */
  configPath: z.string().min(1),
  slot: count,
});

/** Stop taking messages, finish what is held (up to `graceMs`), disconnect, exit 0. */
const stopMessage = z.strictObject({ type: z.literal('stop'), graceMs: count });

export const toWorkerMessageSchema = z.discriminatedUnion('type', [startMessage, stopMessage]);
export type ToWorkerMessage = z.infer<typeof toWorkerMessageSchema>;

// ---------------------------------------------------------------------------------------------
// Worker process → supervisor.
// ---------------------------------------------------------------------------------------------

/** The worker is subscribed to every provider queue. */
const readyMessage = z.strictObject({ type: z.literal('ready'), workerId: name, providers: z.array(name) });

/** The worker could not start (bad plugin, broker unreachable…); it exits non-zero right after. */
const failedMessage = z.strictObject({ type: z.literal('failed'), code: name, message: z.string().max(2_000) });

/**
 * While starting, the worker's broker connection: `waiting` after each failed attempt (the
 * broker is down or refuses the login; the worker keeps trying with backoff), `connected` once
 * it is up. A waiting worker is not failing: the supervisor does not kill it at its ready timeout.
 */
const brokerMessage = z.discriminatedUnion('state', [
  z.strictObject({ type: z.literal('broker'), state: z.literal('waiting'), node: z.string().max(300), code: name, message: z.string().max(2_000) }),
  z.strictObject({ type: z.literal('broker'), state: z.literal('connected'), node: z.string().max(300) }),
]);

/** The worker stops taking messages (asked to, or SIGUSR1/SIGTERM sent to it directly). */
const drainingMessage = z.strictObject({ type: z.literal('draining'), reason: z.enum(['asked', 'SIGTERM', 'SIGUSR1', 'parent-gone']) });

const breaker = z.strictObject({
  provider: name,
  endpoint: z.string().max(500),
  state: z.enum(['closed', 'open', 'half-open']),
});

/** The worker's state now: sent every `STATE_INTERVAL_MS` and when it changes. */
const stateMessage = z.strictObject({
  type: z.literal('state'),
  inFlight: count,
  brokerConnected: z.boolean(),
  breakers: z.array(breaker),
  /** Present while the idempotency store fails writes (the worker then answers every request `STORE_FAILED`). */
  storeFailure: z.strictObject({ code: name, message: z.string().max(500) }).optional(),
});

/** A request was answered and ACKed (the worker's `processed` event). */
const processedMessage = z.strictObject({
  type: z.literal('processed'),
  provider: name,
  requestType: name,
  status: z.enum(REPLY_STATUSES),
  code: name.optional(),
  durationMs: z.number().nonnegative(),
  replayedFromStore: z.boolean(),
});

/** A message was dead-lettered (the worker's `dead-letter` event). */
const deadLetterMessage = z.strictObject({ type: z.literal('dead-letter'), provider: name, reason: name });

/** A plugin's hook threw (the worker's `handler-error` event). */
const handlerErrorMessage = z.strictObject({
  type: z.literal('handler-error'),
  provider: name,
  requestType: name,
  hook: z.enum(['handler', 'status']),
  code: name,
});

export const fromWorkerMessageSchema = z.discriminatedUnion('type', [
  readyMessage,
  failedMessage,
  brokerMessage,
  drainingMessage,
  stateMessage,
  processedMessage,
  deadLetterMessage,
  handlerErrorMessage,
]);
export type FromWorkerMessage = z.infer<typeof fromWorkerMessageSchema>;

/** How often a worker process reports its state (in-flight count, broker, breakers). */
export const STATE_INTERVAL_MS = 250;
