/**
 * The options of `Worker.start` and their defaults, in one place. The STOMP and idempotency
 * parts are validated by their own modules' schemas (their defaults apply there).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isProviderDefinition, type ActionLogger, type ProviderDefinition, type TranscriptHook } from '../providers/index.ts';
import { optionsSchema as stompOptionsSchema } from '../stomp/options.ts';
import { SIGNER_ROLE_OIDS } from '../wire/index.ts';
import { WorkerError } from './errors.ts';
import { storeOptionsSchema } from './open-store.ts';
import { isReplyToPattern } from './reply-to.ts';

const pemText = z.string().min(1, 'PEM text expected');

const logSink = z.custom<ActionLogger>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['info', 'warn', 'error'].every((level) => typeof (value as Record<string, unknown>)[level] === 'function'),
  'a logger with info, warn and error methods',
);

/** A dotted OID such as `1.3.6.1.5.5.7.3.2`. */
export const oidSchema = z.string().regex(/^[0-2](\.(0|[1-9]\d*)){1,40}$/, 'a dotted OID such as 1.3.6.1.5.5.7.3.2');

/** `clientRoleOids` without its default (the config file's `trust.client_roles`). */
export const clientRoleOidsSchema = z.array(oidSchema).max(32);

/** `replyToPattern` (the config file's `reply_to_pattern`). */
export const replyToPatternSchema = z.string().min(1).max(1_000).refine(isReplyToPattern, 'a valid regular expression');

/** Where workers send their events by default (docs/audit.md): a queue only the `feed` broker role reads. */
export const DEFAULT_EVENTS_QUEUE = '/queue/paygate.feed.events';

/** A queue destination such as `/queue/paygate.feed.events`. */
export const eventsQueueSchema = z.string().regex(/^\/queue\/\S+$/, 'a queue destination such as /queue/paygate.feed.events, without spaces');

/** `events` (the config file's `events`): where each finished request's audit record and payment event go. */
export const eventsOptionsSchema = z.strictObject({
  /** The events queue; the `feed` broker role consumes `/queue/<prefix>feed.<name>` queues. */
  queue: eventsQueueSchema.default(DEFAULT_EVENTS_QUEUE),
  /** The feed server's certificate (PEM): the events are encrypted to it. */
  recipient: pemText,
});

/** `maxReplyAttempts` without its default (the config file's `max_reply_attempts`). */
export const maxReplyAttemptsSchema = z.number().int().min(1).max(100);

const provider = z.custom<ProviderDefinition>(isProviderDefinition, 'a provider definition made by defineProvider');

/** `host:pid:random`: unique per worker process, as the idempotency store's `abandon` requires. */
export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Deployment settings of one provider (the worker config's `providers[]` entry): how to reach its
 * endpoint and the plugin's own settings. The plugin's `setup` receives them (docs/providers.md,
 * "Setup"); the transports and the breaker registry validate their parts.
 */
export const providerSettingsSchema = z.strictObject({
  /** The provider's endpoint URL (https). Required by every transport a plugin makes in `setup`. */
  endpoint: z.string().min(1).optional(),
  /** TLS to the endpoint: CA certificates to trust (else the system store), a client certificate and key. PEM text. */
  tls: z.strictObject({ ca: pemText.optional(), cert: pemText.optional(), key: pemText.optional() }).optional(),
  /** Per-call deadline of the provider's transports (ms); the transports' default otherwise. */
  timeoutMs: z.number().int().positive().optional(),
  /** Breaker options (src/providers/breaker.ts names), over the plugin's own defaults. */
  breaker: z.record(z.string(), z.unknown()).optional(),
  /** The plugin's own settings (credentials, merchant ids…), checked by its `config` schema. */
  options: z.record(z.string(), z.unknown()).default({}),
});

/** Settings of one provider as given. */
export type ProviderSettingsInput = z.input<typeof providerSettingsSchema>;

/** The worker's options; every default is here. */
export const workerOptionsSchema = z.strictObject({
  /** How to reach the broker cluster (src/stomp options): the connection requests are consumed on. */
  stomp: stompOptionsSchema,
  /**
   * The connection replies and dead letters are published on (src/worker/publisher.ts): always
   * a second connection, never the consuming one; the `stomp` options when absent. Give it to
   * publish with another login (e.g. one that may only write) or through another route.
   */
  publisherStomp: stompOptionsSchema.optional(),
  /** The gateway's certificate (PEM, optionally followed by its intermediates) and private key (PEM). */
  identity: z.strictObject({ cert: pemText, key: pemText }),
  /** Client CA certificates or pinned client certificates (PEM each): request signers must chain to one. */
  trust: z.array(pemText).min(1, 'at least one client CA or pinned certificate'),
  /**
   * extendedKeyUsage OIDs of which a request signer must carry one (src/wire/roles.ts): the
   * paygate client role by default; a deployment with its own PKI names its own (e.g.
   * clientAuth); `[]` turns the check off (any certificate that chains to `trust` may sign).
   */
  clientRoleOids: clientRoleOidsSchema.default([SIGNER_ROLE_OIDS.client]),
  /** The provider plugins; each is served on `${queuePrefix}${name}`. */
  providers: z
    .array(provider)
    .min(1, 'at least one provider')
    .refine((list) => new Set(list.map((p) => p.name)).size === list.length, 'provider names must be unique'),
  /** Deployment settings per provider name (endpoint, TLS, timeout, breaker, the plugin's options). */
  providerSettings: z.record(z.string(), providerSettingsSchema).default({}),
  /** The idempotency store: SQLite (`path`, idempotency-store.ts) or PostgreSQL (`url`, postgres-options.ts). */
  idempotency: storeOptionsSchema,
  /** Unacknowledged requests the broker may hand this worker per provider: also how many it processes at once. */
  prefetch: z.number().int().positive().max(10_000).default(10),
  /** How far a request's `sent_at` may be from the worker's clock, either way. */
  freshnessWindowMs: z.number().int().positive().default(30_000),
  /** Requests for provider P arrive on `${queuePrefix}P`. */
  queuePrefix: z.string().regex(/^\/\S*$/, 'a destination prefix starting with / and without spaces').default('/queue/paygate.'),
  /** Dead letters of provider P go to `${queuePrefix}P${dlqSuffix}`. */
  dlqSuffix: z.string().regex(/^\S+$/, 'a non-empty suffix without spaces').default('.dlq'),
  /**
   * A regular expression (matched against the whole header) of more `reply-to` destinations to
   * answer on, besides the brokers' own reply queues (src/worker/reply-to.ts). Keep it narrow: a
   * reply goes wherever it matches, with the worker's broker rights.
   */
  replyToPattern: replyToPatternSchema.optional(),
  /**
   * Failed attempts to send a reply (the broker refused it or the publishing connection was lost)
   * before the request is dead-lettered as `REPLY_UNDELIVERABLE` instead of being handed back to
   * the broker once more (RabbitMQ requeues a NACKed message without limit). A failed SEND of the
   * request's events counts too (`EVENTS_UNDELIVERABLE`).
   */
  maxReplyAttempts: maxReplyAttemptsSchema.default(3),
  /**
   * The audit trail (docs/audit.md): for every request taken off a queue and finished (answered,
   * refused, dead-lettered), one events message, sealed to `recipient`, is SENT to `queue` after
   * the reply and before the ACK. Absent: no events are sent.
   */
  events: eventsOptionsSchema.optional(),
  /** Unique per worker process; reported by `ping` and owner of the idempotency entries it begins. */
  workerId: z.string().min(1).max(200).default(defaultWorkerId),
  /** Where the worker and the handlers log (through a card-number mask); silent by default. */
  log: logSink.optional(),
  /** How long `stop()` waits for in-flight requests before aborting them, unless told otherwise. */
  stopGraceMs: z.number().int().nonnegative().default(10_000),
  /**
   * How often the worker deletes idempotency entries and request ids past their retention
   * (docs/idempotency.md, "Retention"), starting at start-up; 0 = never (another process purges).
   */
  purgeIntervalMs: z.number().int().nonnegative().default(3_600_000),
  /** Receives every provider request and answer body, scrubbed by the plugin's `scrub` (conformance tests, debugging). */
  transcript: z.custom<TranscriptHook>((value) => typeof value === 'function', 'a function').optional(),
  /** The clock (epoch ms). For tests and simulations; `Date.now` by default. */
  clock: z.custom<() => number>((value) => typeof value === 'function', 'a function returning epoch ms').default(() => Date.now),
});

/** What `Worker.start` accepts (defaults may be left out). */
export type WorkerOptions = z.input<typeof workerOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedWorkerOptions = z.output<typeof workerOptionsSchema>;

/** Validates the options and fills in the defaults. @throws WorkerError `WORKER_BAD_OPTIONS` naming each path. */
export function parseWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const parsed = workerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    // zod's messages name expectations, not values: a PEM key or a passcode is never repeated.
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(options)'}: ${issue.message}`);
    throw new WorkerError('WORKER_BAD_OPTIONS', `invalid worker options: ${problems.join('; ')}`);
  }
  return parsed.data;
}
