/**
 * The configuration file of `paygate feed --config FILE` (docs/feed-server.md, key by key).
 *
 * Read like the worker's file (src/worker/config.ts), with its helpers: YAML through the wire's
 * `decodeYaml` (plain data only), a whole-value `${env:NAME}` replaced by the environment
 * variable, one zod schema holding the shape and every default, relative paths resolved from
 * the file's folder, every referenced file checked readable now, and every problem reported at
 * once as `path: what is wrong — how to fix it`, never quoting a value (a value may be a secret).
 *
 * It lives beside the command rather than in src/feed because it reuses the worker file's
 * loader helpers and broker keys, and src/feed may not import src/worker.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { PaygateError } from '../errors.ts';
import { DEFAULT_EVENTS_QUEUE } from '../feed/events-consumer.ts';
import { isLoopback } from '../feed/http/options.ts';
import { feedStoreOptionsSchema, type ResolvedFeedStoreOptions } from '../feed/options.ts';
import { optionsSchema as stompOptionsSchema, type ResolvedOptions as ResolvedStompOptions, type StompOptions } from '../stomp/options.ts';
import { decodeYaml } from '../wire/index.ts';
import {
  BROKER_QUEUE_TYPE_KEYS, BROKER_SELECTION_KEYS, brokerFailbackSchema, brokerOrderSchema, brokerQueueTypeSchema, brokerSelection, checkBrokerSelection,
} from '../worker/config-brokers.ts';
import { durationSchema } from '../worker/config-duration.ts';
import { deepFreeze, describeIssue, patternOf, substituteEnv, type ConfigKeys } from '../worker/config-issues.ts';
import { CONFIG_KEYS as WORKER_KEYS, ConfigError, resolveBrokerNodes, workerConfigFileSchema, type ConfigProblem } from '../worker/config.ts';

const WHAT = 'feed server configuration';

/** The SHA-256 (hex) a client's `token_sha256` holds for `token`. */
export const tokenSha256 = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
const filePath = z.string().min(1);
const feedName = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/);
const oid = z.string().regex(/^[0-2](\.(0|[1-9][0-9]*)){1,40}$/);
const storeDefaults = feedStoreOptionsSchema.safeParse({ path: '-' });

/** The `events:` section: where the workers' events come from (absent: no consumer). */
const eventsSection = z
  .strictObject({
    queue: z.string().regex(/^\/\S+$/).default(DEFAULT_EVENTS_QUEUE),
    brokers: workerConfigFileSchema.shape.brokers,
    broker_order: brokerOrderSchema,
    broker_failback: brokerFailbackSchema,
    broker_queue_type: brokerQueueTypeSchema,
    heart_beat_ms: z.number().int().nonnegative().optional(),
    trust: z.strictObject({ gateway_ca: z.array(filePath).min(1), gateway_roles: z.array(oid).max(32).optional() }),
    prefetch: z.number().int().min(1).max(10_000).default(200),
    dlq_suffix: z.string().regex(/^\S+$/).default('.dlq'),
  })
  .superRefine(checkBrokerSelection);

/** The file's schema (snake_case keys, as written). Store defaults come from src/feed/options.ts. */
/** The feeds checkpointed when the config does not list them: the two the events consumer fills. */
const DEFAULT_CHECKPOINT_FEEDS = ['audit', 'payments'] as const;

export const feedConfigFileSchema = z.strictObject({
  listen: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65_535).default(8080) }).prefault({}),
  public_url: z.url({ protocol: /^https?$/ }).optional(),
  tls: z.strictObject({ cert: filePath, key: filePath }).optional(),
  store: z.strictObject({
    path: filePath,
    page_size: z.number().int().min(1).optional(),
    max_page_size: z.number().int().min(1).max(100_000).optional(),
    synchronous: z.enum(['FULL', 'NORMAL']).optional(),
  }),
  max_entry_bytes: z.number().int().min(1).max(64 * 1024 * 1024).default(1024 * 1024),
  clients: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(128),
        token_sha256: z.string().regex(/^[0-9a-fA-F]{64}$/),
        feeds: z.record(z.union([feedName, z.literal('*')]), z.array(z.enum(['read', 'append'])).min(1)),
      }),
    )
    .default([]),
  identity: z.strictObject({ cert: filePath, key: filePath }).optional(),
  checkpoints: z.strictObject({ interval: durationSchema.default(60_000), feeds: z.array(feedName).min(1).default([...DEFAULT_CHECKPOINT_FEEDS]) }).optional(),
  events: eventsSection.optional(),
});
type FeedConfigFile = z.output<typeof feedConfigFileSchema>;

const brokerKeys = (prefix: string): ConfigKeys =>
  Object.fromEntries(
    Object.entries({ ...WORKER_KEYS, ...BROKER_SELECTION_KEYS, ...BROKER_QUEUE_TYPE_KEYS })
      .filter(([key]) => key.startsWith('brokers') || key.startsWith('broker_') || key === 'heart_beat_ms')
      .map(([key, spec]) => [`${prefix}${key}`, spec]),
  );

/** What each key expects and how to fix it (docs/feed-server.md repeats them). */
export const FEED_CONFIG_KEYS: ConfigKeys = Object.freeze({
  '': { expect: 'a mapping of the keys in docs/feed-server.md', fix: 'start from the example in docs/feed-server.md' },
  listen: { expect: 'a mapping (host, port)', fix: 'give listen: {host: 127.0.0.1, port: 8080}' },
  'listen.host': { expect: 'a host name or address', fix: 'use 127.0.0.1 (plain HTTP), or an address with tls' },
  'listen.port': { expect: 'an integer 0–65535', fix: 'set the HTTP port (0 = any free port)' },
  public_url: { expect: 'an http or https URL', fix: 'give the URL clients reach the server at, e.g. https://feeds.example.com' },
  tls: { expect: 'a mapping (cert, key)', fix: "give the server's TLS certificate and key files" },
  'tls.cert': { expect: 'a file path', fix: 'give the PEM file of the TLS certificate (chain)' },
  'tls.key': { expect: 'a file path', fix: 'give the PEM file of the TLS private key' },
  store: { expect: 'a mapping (path, page_size, max_page_size, synchronous)', fix: 'give at least store: {path: feed.sqlite}' },
  'store.path': { expect: 'a file path', fix: 'give the SQLite file of the feeds (created when missing)' },
  'store.page_size': { expect: 'an integer ≥ 1', fix: 'set the page size of a GET without page_size (default 1000)' },
  'store.max_page_size': { expect: 'an integer 1–100000', fix: 'set the largest page_size a client may ask for (default 10000)' },
  'store.synchronous': { expect: 'FULL or NORMAL', fix: 'use FULL (every append on disk when acknowledged) unless you accept losing the last appends on power loss' },
  max_entry_bytes: { expect: 'an integer 1–67108864', fix: 'set the largest entry a POST may carry, in bytes' },
  clients: { expect: 'a list of clients', fix: 'list clients as {name, token_sha256, feeds}' },
  'clients[]': { expect: 'a mapping (name, token_sha256, feeds)', fix: 'describe the client as a mapping' },
  'clients[].name': { expect: 'a non-empty string (at most 128 characters)', fix: 'name the client (it is logged, never its token)' },
  'clients[].token_sha256': { expect: 'a SHA-256 as 64 hex digits', fix: 'run `paygate feed new-token` (or `hash-token`) and paste the hash, never the token' },
  'clients[].feeds': { expect: 'a mapping of feed names (or *) to lists of rights', fix: 'write e.g. feeds: {audit: [read], orders: [read, append]}' },
  identity: { expect: 'a mapping (cert, key)', fix: "give the feed server's certificate (feed role) and key files" },
  'identity.cert': { expect: 'a file path', fix: "give the PEM file of the feed server's certificate (paygate certs issue --role feed)" },
  'identity.key': { expect: 'a file path', fix: "give the PEM file of that certificate's private key" },
  checkpoints: { expect: 'a mapping (interval, feeds)', fix: 'give checkpoints: {interval: 60s, feeds: [audit]}, or leave it out' },
  'checkpoints.interval': { expect: 'a duration such as 60s, 5m or 1h', fix: 'write a whole number followed by ms, s, m, h or d' },
  'checkpoints.feeds': { expect: 'a non-empty list of feed names', fix: 'list the chained feeds to checkpoint, e.g. [audit, payments]' },
  'checkpoints.feeds[]': { expect: 'a feed name', fix: 'use 1–128 of A-Z a-z 0-9 . _ -' },
  events: { expect: 'a mapping (queue, brokers, trust, prefetch)', fix: "describe where the workers' events arrive, or leave events out" },
  'events.queue': { expect: 'a destination starting with /', fix: `use the workers' events queue (default ${DEFAULT_EVENTS_QUEUE})` },
  'events.trust': { expect: 'a mapping (gateway_ca, gateway_roles)', fix: 'list the gateway CA certificates under events.trust.gateway_ca' },
  'events.trust.gateway_ca': { expect: 'a non-empty list of file paths', fix: "list the PEM files of the CAs (or pinned certificates) of the gateways whose events are stored" },
  'events.trust.gateway_ca[]': { expect: 'a file path', fix: 'give the PEM file of a gateway CA or pinned gateway certificate' },
  'events.trust.gateway_roles': { expect: 'a list of at most 32 OIDs ([] = no role check)', fix: 'list the extendedKeyUsage OIDs an events signer must carry one of, or leave the key out for the paygate gateway role' },
  'events.trust.gateway_roles[]': { expect: 'a dotted OID', fix: 'write the OID in dotted decimal' },
  'events.prefetch': { expect: 'an integer 1–10000', fix: 'set how many unacknowledged events the broker may send ahead (default 200)' },
  'events.dlq_suffix': { expect: 'a non-empty string without spaces', fix: 'use e.g. .dlq' },
  ...brokerKeys('events.'),
});

/** The validated, resolved configuration (deeply frozen). */
export interface FeedServerConfig {
  readonly source: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly publicUrl?: string;
  /** PEM text, read at load time. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly store: Readonly<ResolvedFeedStoreOptions>;
  readonly maxEntryBytes: number;
  readonly clients: readonly { readonly name: string; readonly tokenSha256: string; readonly feeds: Readonly<Record<string, readonly ('read' | 'append')[]>> }[];
  /** Absolute paths of the feed server's certificate and key. */
  readonly identity?: { readonly cert: string; readonly key: string };
  readonly checkpoints?: { readonly intervalMs: number; readonly feeds: readonly string[] };
  readonly events?: {
    readonly queue: string;
    readonly dlqSuffix: string;
    readonly prefetch: number;
    /** StompConnection options, defaults filled in, TLS files read. */
    readonly stomp: Readonly<ResolvedStompOptions>;
    /** Absolute paths of the gateway CA / pinned certificates, and the role OIDs when configured. */
    readonly trust: { readonly gatewayCa: readonly string[]; readonly gatewayRoles?: readonly string[] };
  };
}

/** Reads, validates and resolves the file at `path`. @throws ConfigError CONFIG_INVALID listing every problem. */
export function loadFeedConfig(path: string, options: { env?: Readonly<Record<string, string | undefined>> } = {}): FeedServerConfig {
  const source = resolve(path);
  let text: Buffer;
  try {
    text = readFileSync(source);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'cannot be read';
    throw new ConfigError(source, [{ path: '(file)', problem: `cannot be read (${code})`, fix: 'check the path given to --config and its permissions' }], { cause, what: WHAT });
  }
  return parseFeedConfig(text, { env: options.env ?? process.env, baseDir: dirname(source), source });
}

/** Validates and resolves a config given as YAML text. @throws ConfigError CONFIG_INVALID listing every problem. */
export function parseFeedConfig(
  text: string | Uint8Array,
  options: { env?: Readonly<Record<string, string | undefined>>; baseDir?: string; source?: string } = {},
): FeedServerConfig {
  const source = options.source ?? '(text)';
  const baseDir = resolve(options.baseDir ?? process.cwd());
  let raw: unknown;
  try {
    raw = decodeYaml(text);
  } catch (cause) {
    const problem = cause instanceof PaygateError ? cause.message : 'cannot be parsed as YAML';
    throw new ConfigError(source, [{ path: '(file)', problem, fix: 'write plain YAML: no tags, anchors, aliases or duplicate keys' }], { cause, what: WHAT });
  }
  const problems: ConfigProblem[] = [];
  const fromEnv = new Map<string, string>();
  const input = substituteEnv(raw, [], options.env ?? process.env, problems, fromEnv);
  const parsed = feedConfigFileSchema.safeParse(input);
  if (!parsed.success) {
    const failed = new Set(problems.map((p) => p.path));
    for (const issue of parsed.error.issues) {
      for (const problem of describeIssue(issue, input, FEED_CONFIG_KEYS)) if (!failed.has(problem.path)) problems.push(ownWording(problem));
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(source, problems, { what: WHAT });
  const resolved = resolveFile(parsed.data, new FileChecker(baseDir, fromEnv, problems), problems);
  if (problems.length > 0 || resolved === undefined) throw new ConfigError(source, problems, { what: WHAT });
  return deepFreeze({ source, ...resolved });
}

/** A client's rights sit under feed names the key table cannot list: their wording is given here. */
function ownWording(problem: ConfigProblem): ConfigProblem {
  if (/^clients\[\d+\]\.feeds\.[^.]+(\[\d+\])?$/.test(problem.path) && problem.problem !== 'unknown key') {
    return { path: problem.path, problem: 'expected a non-empty list of read and append', fix: 'give [read], [append] or [read, append]' };
  }
  return problem.fix === 'see docs/operations.md' ? { ...problem, fix: 'see docs/feed-server.md' } : problem;
}

/** Resolves and checks the files a config names (relative to its folder); problems are recorded. */
class FileChecker {
  constructor(
    readonly baseDir: string,
    private readonly fromEnv: ReadonlyMap<string, string>,
    private readonly problems: ConfigProblem[],
  ) {}

  absolute(value: string): string {
    return isAbsolute(value) ? value : resolve(this.baseDir, value);
  }

  /** The absolute path, checked to be a readable file. */
  check(key: string, value: string): string {
    const absolute = this.absolute(value);
    const variable = this.fromEnv.get(key);
    const named = variable === undefined ? absolute : `the file named by \${env:${variable}}`;
    const fix = FEED_CONFIG_KEYS[patternOf(key)]?.fix ?? 'give a file path';
    try {
      if (!statSync(absolute).isFile()) {
        this.problems.push({ path: key, problem: `${named} is not a file`, fix });
        return absolute;
      }
      accessSync(absolute, constants.R_OK);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
      this.problems.push({ path: key, problem: `${named} ${what}`, fix: `${fix} (relative paths are resolved against the config file's folder)` });
    }
    return absolute;
  }

  /** The file's text once checked; undefined when it failed (the problem is recorded). */
  read(key: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const before = this.problems.length;
    const absolute = this.check(key, value);
    return this.problems.length === before ? readFileSync(absolute, 'utf8') : undefined;
  }
}

function resolveFile(file: FeedConfigFile, files: FileChecker, problems: ConfigProblem[]): Omit<FeedServerConfig, 'source'> | undefined {
  if (file.tls === undefined && !isLoopback(file.listen.host)) {
    problems.push({ path: 'tls', problem: `required when listen.host is not a loopback address (tokens and payment events would cross the network in clear)`, fix: 'give tls: {cert, key}, or listen on 127.0.0.1' });
  }
  if (file.identity === undefined && (file.checkpoints !== undefined || file.events !== undefined)) {
    problems.push({ path: 'identity', problem: `required with ${file.events === undefined ? 'checkpoints' : 'events'} (it signs checkpoints and decrypts events)`, fix: FEED_CONFIG_KEYS.identity?.fix ?? '' });
  }
  file.clients.forEach((client, i) => {
    if (file.clients.findIndex((other) => other.token_sha256.toLowerCase() === client.token_sha256.toLowerCase()) !== i) {
      problems.push({ path: `clients[${i}].token_sha256`, problem: 'the same token as an earlier client', fix: 'give each client its own token (paygate feed new-token)' });
    }
  });
  const tls = file.tls === undefined ? undefined : { cert: files.read('tls.cert', file.tls.cert), key: files.read('tls.key', file.tls.key) };
  const identity = file.identity === undefined ? undefined : { cert: files.check('identity.cert', file.identity.cert), key: files.check('identity.key', file.identity.key) };
  const store = feedStoreOptionsSchema.safeParse({
    path: files.absolute(file.store.path),
    ...(file.store.page_size === undefined ? {} : { defaultPageSize: file.store.page_size }),
    ...(file.store.max_page_size === undefined ? {} : { maxPageSize: file.store.max_page_size }),
    ...(file.store.synchronous === undefined ? {} : { synchronous: file.store.synchronous }),
  });
  if (!store.success) problems.push({ path: 'store.page_size', problem: `must not exceed store.max_page_size (default ${storeDefaults.data?.maxPageSize ?? 10_000})`, fix: 'lower store.page_size or raise store.max_page_size' });
  const events = file.events === undefined ? undefined : resolveEvents(file.events, files, problems);
  if (problems.length > 0 || !store.success || (tls !== undefined && (tls.cert === undefined || tls.key === undefined))) return undefined;
  return {
    listen: file.listen,
    ...(file.public_url === undefined ? {} : { publicUrl: file.public_url.replace(/\/+$/, '') }),
    ...(tls === undefined ? {} : { tls: tls as { cert: string; key: string } }),
    store: store.data,
    maxEntryBytes: file.max_entry_bytes,
    clients: file.clients.map((c) => ({ name: c.name, tokenSha256: c.token_sha256.toLowerCase(), feeds: c.feeds })),
    ...(identity === undefined ? {} : { identity }),
    ...checkpointsOf(file, identity !== undefined),
    ...(events === undefined ? {} : { events }),
  };
}

/**
 * The checkpoints: as configured; with an identity and no `checkpoints` key, every minute on both
 * event feeds. A trail without checkpoints could be rewritten from any entry on by re-hashing
 * what follows, so they are on whenever the server has a key to sign with.
 */
function checkpointsOf(file: FeedConfigFile, hasIdentity: boolean): Pick<FeedServerConfig, 'checkpoints'> {
  const given = file.checkpoints ?? (hasIdentity ? { interval: 60_000, feeds: [...DEFAULT_CHECKPOINT_FEEDS] } : undefined);
  return given === undefined ? {} : { checkpoints: { intervalMs: given.interval, feeds: given.feeds } };
}

function resolveEvents(events: NonNullable<FeedConfigFile['events']>, files: FileChecker, problems: ConfigProblem[]): FeedServerConfig['events'] {
  const before = problems.length;
  const nodes = resolveBrokerNodes(events.brokers, (key, path) => files.read(`events.${key}`, path));
  const gatewayCa = events.trust.gateway_ca.map((p, i) => files.check(`events.trust.gateway_ca[${i}]`, p));
  const stompInput: StompOptions = {
    nodes,
    ...brokerSelection(events),
    prefetch: events.prefetch,
    ...(events.heart_beat_ms === undefined ? {} : { heartBeat: { outgoingMs: events.heart_beat_ms, incomingMs: events.heart_beat_ms } }),
  };
  const stomp = stompOptionsSchema.safeParse(stompInput);
  if (!stomp.success) {
    for (const issue of stomp.error.issues) problems.push({ path: ['events.brokers', ...issue.path.map(String)].join('.'), problem: 'refused by the STOMP layer', fix: 'see docs/stomp.md' });
  }
  if (problems.length > before || !stomp.success) return undefined;
  return {
    queue: events.queue,
    dlqSuffix: events.dlq_suffix,
    prefetch: events.prefetch,
    stomp: stomp.data,
    trust: { gatewayCa, ...(events.trust.gateway_roles === undefined ? {} : { gatewayRoles: events.trust.gateway_roles }) },
  };
}
