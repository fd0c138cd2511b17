/**
 * The worker's configuration file (documented key by key in docs/operations.md,
 * "Worker configuration").
 *
 * The file is YAML, read with the wire's `decodeYaml` (plain data only: no tags, anchors or
 * aliases; size and depth limits). A string value that is exactly `${env:NAME}` is replaced by
 * the environment variable `NAME` before validation, so secrets need not be written in the file.
 * One zod schema ({@link workerConfigFileSchema}) holds the shape and every default of the
 * config's own keys; the broker part is built from `src/stomp/options.ts`'s node schema and the
 * result is run through that module's `optionsSchema` (its defaults apply), the idempotency part
 * through the store's `storeOptionsSchema` (config-store.ts reads the section).
 *
 * Relative file paths are resolved against the config file's folder, and every referenced file
 * (TLS, identity, trust anchors, provider modules, providers' TLS) must exist and be readable at
 * load time. The `providers[]` entries, with each provider's endpoint, TLS, timeout, breaker and
 * plugin options, are defined in config-providers.ts.
 * Every problem found is reported at once, one per line, as `path.to.key: what is wrong — how to
 * fix it`. Messages never quote a value from the file or the environment (a value may be a
 * secret); they name keys, types, variable names and file paths (a path that came from the
 * environment is named by its variable only).
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { PaygateError } from '../errors.ts';
import { TRANSPORT_DEFAULTS } from '../providers/transports/options.ts';
import { optionsSchema as stompOptionsSchema } from '../stomp/options.ts';
import type { ResolvedOptions as ResolvedStompOptions, StompOptions } from '../stomp/options.ts';
import { decodeYaml } from '../wire/index.ts';
import {
  BROKER_QUEUE_TYPE_KEYS, BROKER_SELECTION_KEYS, brokerFailbackSchema, brokerOrderSchema, brokerQueueTypeSchema, brokerSelection, checkBrokerSelection,
} from './config-brokers.ts';
import { EVENTS_CONFIG_KEYS, eventsSectionSchema, resolveEventsSection, type EventsSettings } from './config-events.ts';
import { GATEWAY_CONFIG_KEYS, gatewaySectionSchema, resolveGatewaySection, type GatewaySettings } from './config-gateway.ts';
import { PROVIDER_CONFIG_KEYS, providerEntrySchema, resolveProvider, type ProviderConfig } from './config-providers.ts';
import { STORE_CONFIG_KEYS, storeOptionsOf, storeSectionSchema } from './config-store.ts';
import { storeOptionsSchema, type ResolvedStoreOptions } from './open-store.ts';
import { clientRoleOidsSchema, maxReplyAttemptsSchema, replyToPatternSchema } from './options.ts';
import { deepFreeze, describeIssue, dropUndefined, patternOf, substituteEnv } from './config-issues.ts';

export { formatPath, substituteEnv } from './config-issues.ts';

/** One broker node as `StompConnection` options take it. */
type StompNodeInput = StompOptions['nodes'][number];

/** Stable codes of configuration failures. */
export const CONFIG_ERROR_CODES = [
  /** The config file is missing, unreadable, not valid YAML, or does not validate; the message lists every problem. */
  'CONFIG_INVALID',
] as const;

/** One of {@link CONFIG_ERROR_CODES}. */
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** One problem of a config file: where, what is wrong, how to fix it. */
export interface ConfigProblem {
  /** The key path, e.g. `brokers[0].port`; `(file)` for the file as a whole. */
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

/** A config file that cannot be used. `problems` lists each problem; the message has one line per problem. */
export class ConfigError extends PaygateError {
  declare readonly code: ConfigErrorCode;
  readonly problems: readonly ConfigProblem[];

  /** @param options.what what the file configures, for the message (default `worker configuration`). */
  constructor(source: string, problems: readonly ConfigProblem[], options?: { cause?: unknown; what?: string }) {
    const lines = problems.map((p) => `  ${p.path}: ${p.problem} — ${p.fix}`);
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const what = options?.what ?? 'worker configuration';
    super('CONFIG_INVALID', `invalid ${what} ${source} (${count}):\n${lines.join('\n')}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

// ---------------------------------------------------------------------------------------------
// The schema: shape and defaults of the file, in one place.
// ---------------------------------------------------------------------------------------------

const stompNode = stompOptionsSchema.shape.nodes.element.shape;
const stompHeartBeat = stompOptionsSchema.shape.heartBeat.unwrap().shape;

/** A file path as written in the file (resolved and checked after validation). */
const filePath = z.string().min(1);

/** A provider name the config refuses: `paygate.feed.*` are the events queues. */
const RESERVED_PROVIDER_NAME = 'feed';

/** The config file's schema (snake_case keys, as written). Defaults of the STOMP and store parts come from their modules. */
export const workerConfigFileSchema = z
  .strictObject({
    brokers: z
      .array(
        z.strictObject({
          host: stompNode.host,
          port: stompNode.port,
          login: stompNode.login,
          passcode: stompNode.passcode,
          vhost: stompNode.vhost,
          tls: z.strictObject({ ca: filePath.optional(), cert: filePath.optional(), key: filePath.optional() }).optional(),
        }),
      )
      .min(1),
    /** Node selection (config-brokers.ts): `listed` or `random`, and failback in listed order. */
    broker_order: brokerOrderSchema,
    broker_failback: brokerFailbackSchema,
    /** RabbitMQ's queue type for every `/queue/` destination: `quorum` on a cluster (config-brokers.ts). */
    broker_queue_type: brokerQueueTypeSchema,
    /** Both directions of the STOMP heart-beat; the STOMP layer's default when absent. */
    heart_beat_ms: stompHeartBeat.outgoingMs.unwrap().optional(),
    /** Unacknowledged messages per provider subscription. A worker always sets a limit. */
    prefetch: z.number().int().positive().default(10),
    identity: z.strictObject({ cert: filePath, key: filePath }),
    /** `client_roles` absent: the worker's default (the paygate client role). */
    trust: z.strictObject({ client_ca: z.array(filePath).min(1), client_roles: clientRoleOidsSchema.optional() }),
    freshness_window_ms: z.number().int().positive().default(30_000),
    /** Absent: only the brokers' own reply queues (src/worker/reply-to.ts). */
    reply_to_pattern: replyToPatternSchema.optional(),
    /** Absent: the worker's default. */
    max_reply_attempts: maxReplyAttemptsSchema.optional(),
    queue_prefix: z.string().regex(/^\/[^\s]*$/).default('/queue/paygate.'),
    providers: z
      .array(providerEntrySchema)
      .min(1)
      .superRefine((providers, ctx) => {
        const first = new Map<string, number>();
        providers.forEach((provider, index) => {
          if (provider.name === RESERVED_PROVIDER_NAME) {
            // Its queues would be paygate.feed and paygate.feed.dlq: inside the events queues'
            // names (paygate.feed.<name>), which the broker's feed login may read.
            const params = { problem: 'the name feed is reserved for the audit events queues (paygate.feed.*)', fix: 'give the provider another name' };
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: 'reserved', params });
          }
          const seen = first.get(provider.name);
          if (seen === undefined) first.set(provider.name, index);
          else ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate:${seen}` });
        });
      }),
    idempotency: storeSectionSchema,
    dlq_suffix: z.string().regex(/^\S+$/).default('.dlq'),
    /** Where each finished request's events go (config-events.ts); absent: none are sent. */
    events: eventsSectionSchema,
    /** The worker pool of `paygate gateway` (config-gateway.ts); a lone worker ignores it. */
    gateway: gatewaySectionSchema,
  })
  .superRefine(checkBrokerSelection);

/** What each key expects and how to fix it: the second half of every message (and docs/operations.md). */
export const CONFIG_KEYS: Readonly<Record<string, { readonly expect: string; readonly fix: string }>> = Object.freeze({
  '': { expect: 'a mapping of the keys in docs/operations.md', fix: 'start from the example file in docs/operations.md' },
  brokers: { expect: 'a non-empty list of broker nodes', fix: 'list at least one broker node (host, port, …)' },
  'brokers[]': { expect: 'a mapping (host, port, login, passcode, vhost, tls)', fix: 'describe the broker node as a mapping' },
  'brokers[].host': { expect: 'a non-empty string', fix: "set the broker node's host name or address" },
  'brokers[].port': { expect: 'an integer 1–65535', fix: "set the broker's STOMP port" },
  'brokers[].login': { expect: 'a string', fix: 'set the STOMP login (or leave the key out)' },
  'brokers[].passcode': { expect: 'a string', fix: 'set the STOMP passcode, e.g. passcode: ${env:PAYGATE_MQ_PASSCODE}' },
  'brokers[].vhost': { expect: 'a string', fix: "set the virtual host sent as CONNECT's host header (RabbitMQ: /)" },
  'brokers[].tls': { expect: 'a mapping (ca, cert, key)', fix: 'give TLS file paths under tls, or leave tls out for plain TCP' },
  'brokers[].tls.ca': { expect: 'a file path', fix: "give the PEM file of the CA that signed the broker's certificate" },
  'brokers[].tls.cert': { expect: 'a file path', fix: 'give the PEM file of the client certificate the broker asks for' },
  'brokers[].tls.key': { expect: 'a file path', fix: "give the PEM file of that client certificate's private key" },
  heart_beat_ms: { expect: 'an integer ≥ 0 (milliseconds; 0 = no heart-beats)', fix: 'set the STOMP heart-beat interval in ms' },
  prefetch: { expect: 'an integer ≥ 1', fix: 'set how many unacknowledged messages a worker takes per provider queue' },
  ...BROKER_SELECTION_KEYS,
  ...BROKER_QUEUE_TYPE_KEYS,
  identity: { expect: 'a mapping (cert, key)', fix: "give the gateway's certificate and key files" },
  'identity.cert': { expect: 'a file path', fix: "give the PEM file of the gateway's signing/decryption certificate" },
  'identity.key': { expect: 'a file path', fix: "give the PEM file of the gateway certificate's private key" },
  trust: { expect: 'a mapping (client_ca, client_roles)', fix: 'list the client CA certificates under trust.client_ca' },
  'trust.client_ca': { expect: 'a non-empty list of file paths', fix: 'list the PEM files of the client CAs (or pinned client certificates)' },
  'trust.client_ca[]': { expect: 'a file path', fix: 'give the PEM file of a client CA or pinned client certificate' },
  'trust.client_roles': { expect: 'a list of at most 32 OIDs ([] = no role check)', fix: 'list the extendedKeyUsage OIDs a request signer must carry one of, or leave the key out for the paygate client role' },
  'trust.client_roles[]': { expect: 'a dotted OID such as 1.3.6.1.5.5.7.3.2', fix: 'write the OID in dotted decimal' },
  reply_to_pattern: { expect: 'a regular expression (at most 1000 characters)', fix: 'write a valid regular expression matched against the whole reply-to, e.g. /queue/shop-replies\\.[a-z0-9-]+' },
  max_reply_attempts: { expect: 'an integer 1–100', fix: 'set how many failed reply sends dead-letter a request (REPLY_UNDELIVERABLE)' },
  freshness_window_ms: { expect: 'an integer ≥ 1 (milliseconds)', fix: "set how far a request's sent_at may be from now" },
  queue_prefix: { expect: 'a destination prefix starting with / and without spaces', fix: 'use e.g. /queue/paygate.' },
  ...PROVIDER_CONFIG_KEYS,
  ...STORE_CONFIG_KEYS,
  dlq_suffix: { expect: 'a non-empty string without spaces', fix: 'use e.g. .dlq' },
  ...EVENTS_CONFIG_KEYS,
  ...GATEWAY_CONFIG_KEYS,
});

// ---------------------------------------------------------------------------------------------
// The result.
// ---------------------------------------------------------------------------------------------

export type { ProviderConfig } from './config-providers.ts';
export type { GatewaySettings } from './config-gateway.ts';
export type { EventsSettings } from './config-events.ts';

/** The validated, resolved configuration (deeply frozen). */
export interface WorkerConfig {
  /** The config file, absolute (`(text)` when parsed from a string). */
  readonly source: string;
  /** The folder relative paths and plugin package names are resolved from (the config file's). */
  readonly baseDir: string;
  /** Options for `StompConnection.connect`, defaults filled in; TLS files already read (PEM text). */
  readonly stomp: Readonly<ResolvedStompOptions>;
  /** Absolute paths of the gateway's certificate and private key (PEM). */
  readonly identity: { readonly cert: string; readonly key: string };
  /** Absolute paths of the client CA / pinned certificates (PEM), and the signer role OIDs when configured. */
  readonly trust: { readonly clientCa: readonly string[]; readonly clientRoles?: readonly string[] };
  readonly freshnessWindowMs: number;
  /** More `reply-to` destinations to answer on (a regular expression), when configured. */
  readonly replyToPattern?: string;
  /** Failed reply sends before `REPLY_UNDELIVERABLE`, when configured. */
  readonly maxReplyAttempts?: number;
  /** Requests for provider P arrive on `${queuePrefix}P`. */
  readonly queuePrefix: string;
  /** Dead letters of provider P go to `${queuePrefix}P${dlqSuffix}`. */
  readonly dlqSuffix: string;
  readonly providers: readonly ProviderConfig[];
  /** Options for `openWorkerStore`, defaults filled in: SQLite's `path` absolute, or PostgreSQL's `url`. */
  readonly idempotency: Readonly<ResolvedStoreOptions>;
  /** The `gateway:` section, defaults filled in (used by `paygate gateway`, ignored by a lone worker). */
  readonly gateway: GatewaySettings;
  /** Where the events go (the recipient's path absolute), when configured. */
  readonly events?: EventsSettings;
}

export interface ParseOptions {
  /** Where `${env:NAME}` references are looked up; `process.env` by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The folder relative paths are resolved against; the current directory by default. */
  baseDir?: string;
  /** How the text is named in errors; `(text)` by default. */
  source?: string;
}

/** Reads, validates and resolves the config file at `path`. @throws ConfigError CONFIG_INVALID listing every problem. */
export function loadWorkerConfig(path: string, options: { env?: ParseOptions['env'] } = {}): WorkerConfig {
  const source = resolve(path);
  let text: Buffer;
  try {
    text = readFileSync(source);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'cannot be read';
    throw new ConfigError(source, [{ path: '(file)', problem: `cannot be read (${code})`, fix: 'check the path given to --config and its permissions' }], { cause });
  }
  return parseWorkerConfig(text, { env: options.env ?? process.env, baseDir: dirname(source), source });
}

/** Validates and resolves a config given as YAML text. @throws ConfigError CONFIG_INVALID listing every problem. */
export function parseWorkerConfig(text: string | Uint8Array, options: ParseOptions = {}): WorkerConfig {
  const env = options.env ?? process.env;
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const source = options.source ?? '(text)';

  let raw: unknown;
  try {
    raw = decodeYaml(text);
  } catch (cause) {
    const problem = cause instanceof PaygateError ? cause.message : 'cannot be parsed as YAML';
    throw new ConfigError(source, [{ path: '(file)', problem, fix: 'write plain YAML: no tags, anchors, aliases or duplicate keys' }], { cause });
  }

  const problems: ConfigProblem[] = [];
  const fromEnv = new Map<string, string>(); // key path → variable name
  const input = substituteEnv(raw, [], env, problems, fromEnv);

  const parsed = workerConfigFileSchema.safeParse(input);
  if (!parsed.success) {
    const failed = new Set(problems.map((p) => p.path));
    for (const issue of parsed.error.issues) {
      for (const problem of describeIssue(issue, input, CONFIG_KEYS)) {
        if (!failed.has(problem.path)) problems.push(problem);
      }
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(source, problems);
  const file = parsed.data;

  // Files: resolved against the config's folder, each checked (and TLS files read) now.
  const checkFile = (key: string, value: string): string => {
    const absolute = isAbsolute(value) ? value : resolve(baseDir, value);
    const variable = fromEnv.get(key);
    const named = variable === undefined ? absolute : `the file named by \${env:${variable}}`;
    try {
      if (!statSync(absolute).isFile()) {
        problems.push({ path: key, problem: `${named} is not a file`, fix: CONFIG_KEYS[patternOf(key)]?.fix ?? 'give a file path' });
        return absolute;
      }
      accessSync(absolute, constants.R_OK);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
      problems.push({ path: key, problem: `${named} ${what}`, fix: `${CONFIG_KEYS[patternOf(key)]?.fix ?? 'give a file path'} (relative paths are resolved against the config file's folder)` });
    }
    return absolute;
  };
  const readPem = (key: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const before = problems.length;
    const absolute = checkFile(key, value);
    return problems.length === before ? readFileSync(absolute, 'utf8') : undefined;
  };

  const nodes = resolveBrokerNodes(file.brokers, readPem);
  const identity = { cert: checkFile('identity.cert', file.identity.cert), key: checkFile('identity.key', file.identity.key) };
  const clientCa = file.trust.client_ca.map((p, i) => checkFile(`trust.client_ca[${i}]`, p));
  const providers = file.providers.map((entry, i) => resolveProvider(entry, i, { baseDir, checkFile, readPem }));
  const events = resolveEventsSection(file.events, checkFile);
  if (problems.length > 0) throw new ConfigError(source, problems);

  const stompInput: StompOptions = {
    nodes,
    ...workerBrokerSelection(file, longestProviderCall(providers), problems),
    prefetch: file.prefetch,
    ...(file.heart_beat_ms === undefined ? {} : { heartBeat: { outgoingMs: file.heart_beat_ms, incomingMs: file.heart_beat_ms } }),
  };
  const stomp = stompOptionsSchema.safeParse(stompInput);
  const idempotency = storeOptionsSchema.safeParse(storeOptionsOf(file.idempotency, baseDir));
  if (idempotency.success) checkLease(idempotency.data.leaseMs, providers, problems);
  // Both can only fail if the modules' schemas tighten beyond this one's; reported, never thrown raw.
  for (const [part, result] of [['brokers', stomp], ['idempotency', idempotency]] as const) {
    if (!result.success) {
      for (const issue of result.error.issues) {
        problems.push({ path: [part, ...issue.path.map(String)].join('.'), problem: 'refused by the module it configures', fix: 'see docs/operations.md' });
      }
    }
  }
  if (!stomp.success || !idempotency.success || problems.length > 0) throw new ConfigError(source, problems);

  return deepFreeze({
    source,
    baseDir,
    stomp: stomp.data,
    identity,
    trust: { clientCa, ...(file.trust.client_roles === undefined ? {} : { clientRoles: file.trust.client_roles }) },
    freshnessWindowMs: file.freshness_window_ms,
    ...(file.reply_to_pattern === undefined ? {} : { replyToPattern: file.reply_to_pattern }),
    ...(file.max_reply_attempts === undefined ? {} : { maxReplyAttempts: file.max_reply_attempts }),
    queuePrefix: file.queue_prefix,
    dlqSuffix: file.dlq_suffix,
    providers,
    idempotency: idempotency.data,
    gateway: resolveGatewaySection(file.gateway),
    ...(events === undefined ? {} : { events }),
  });
}

/**
 * The lease must outlast every provider call: a worker that finds another's expired entry and no
 * record at the provider takes the key over and calls again (src/worker/provider-call.ts), which
 * is only safe once anything the dead holder sent has been answered or dropped.
 */
/** The longest call a provider of this worker may take (its `timeout_ms`, else the transports' default). */
function longestProviderCall(providers: readonly ProviderConfig[]): number {
  return Math.max(...providers.map((p) => p.timeoutMs ?? TRANSPORT_DEFAULTS.timeoutMs));
}

/** How much longer than the longest provider call a failback drain lasts by default (the reply and the ACK after it). */
const DRAIN_MARGIN_MS = 10_000;

/**
 * The worker's node selection. After a failback, the session left behind holds the requests in
 * hand until their ACK: a drain that ended before a provider call could would leave a request
 * answered but unacknowledged, to come back later. So a worker's drain defaults to the longest
 * call plus a margin, and a shorter one written in the file is refused.
 */
function workerBrokerSelection(file: z.output<typeof workerConfigFileSchema>, longestCall: number, problems: ConfigProblem[]): ReturnType<typeof brokerSelection> {
  const selection = brokerSelection(file);
  if (file.broker_order === 'random') return selection;
  const drainMs = file.broker_failback?.drain_ms;
  if (drainMs !== undefined && drainMs <= longestCall) {
    problems.push({
      path: 'broker_failback.drain_ms',
      problem: `must be longer than the longest provider call (${longestCall} ms, from providers[].timeout_ms or the transports' default)`,
      fix: "raise broker_failback.drain_ms, or lower the providers' timeout_ms",
    });
  }
  return { ...selection, failback: { ...selection.failback, drainMs: drainMs ?? longestCall + DRAIN_MARGIN_MS } };
}

function checkLease(leaseMs: number, providers: readonly ProviderConfig[], problems: ConfigProblem[]): void {
  const longest = longestProviderCall(providers);
  if (leaseMs > longest) return;
  problems.push({
    path: 'idempotency.lease',
    problem: `must be longer than the longest provider call (${longest} ms, from providers[].timeout_ms or the transports' default)`,
    fix: 'raise idempotency.lease, or lower the providers\' timeout_ms',
  });
}

/** A config file's `brokers` entries as STOMP nodes; `readPem(key, path)` reads a TLS file (undefined when it failed, with the problem recorded). */
export function resolveBrokerNodes(
  brokers: z.output<typeof workerConfigFileSchema>['brokers'],
  readPem: (key: string, path: string | undefined) => string | undefined,
): StompNodeInput[] {
  return brokers.map((node, i) => ({
    host: node.host,
    port: node.port,
    vhost: node.vhost,
    ...(node.login === undefined ? {} : { login: node.login }),
    ...(node.passcode === undefined ? {} : { passcode: node.passcode }),
    ...(node.tls === undefined
      ? {}
      : {
          tls: dropUndefined({
            ca: readPem(`brokers[${i}].tls.ca`, node.tls.ca),
            cert: readPem(`brokers[${i}].tls.cert`, node.tls.cert),
            key: readPem(`brokers[${i}].tls.key`, node.tls.key),
          }),
        }),
  }));
}
