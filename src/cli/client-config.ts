/**
 * The client config file of `paygate request --config FILE` (docs/sdk.md, "From the command
 * line"): what a storefront needs to reach the gateway, and nothing of the gateway's own secrets.
 *
 * Same rules as the worker's file (docs/operations.md): plain YAML read with `decodeYaml`,
 * `${env:NAME}` for whole values, relative paths resolved against the file's folder, unknown keys
 * refused, every problem reported at once as `path: problem — fix` in a `CONFIG_INVALID` error,
 * and no value ever quoted in a message. The broker part is the worker file's `brokers` schema,
 * so one broker list can be pasted between the two.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { PaygateError } from '../errors.ts';
import { namesPackage } from '../providers/package-entry.ts';
import type { StompOptions } from '../stomp/index.ts';
import { decodeYaml, nameSchema, SIGNER_ROLE_OIDS } from '../wire/index.ts';
import { BROKER_QUEUE_TYPE_FIXES, BROKER_SELECTION_FIXES, brokerSelection, checkBrokerSelection } from '../worker/config-brokers.ts';
import { ConfigError, formatPath, resolveBrokerNodes, substituteEnv, workerConfigFileSchema, type ConfigProblem } from '../worker/config.ts';

const filePath = z.string().min(1);
const WHAT = 'client configuration';

/** The client config file's schema (snake_case keys, as written); defaults live here. */
export const clientConfigFileSchema = z
  .strictObject({
    brokers: workerConfigFileSchema.shape.brokers,
    /** The same keys as the worker file's: clients and workers must agree on which node comes first. */
    broker_order: workerConfigFileSchema.shape.broker_order,
    broker_failback: workerConfigFileSchema.shape.broker_failback,
    /** As the workers': every party of a deployment declares its queues with the same type. */
    broker_queue_type: workerConfigFileSchema.shape.broker_queue_type,
    heart_beat_ms: workerConfigFileSchema.shape.heart_beat_ms,
    /** Our client certificate and key: requests are signed with it, replies encrypted to it. */
    identity: z.strictObject({ cert: filePath, key: filePath }),
    /**
     * Replies must be signed by one of `certs`, which chain to one of `ca`, and carry one of
     * `roles` in their extendedKeyUsage (default: paygate's gateway role; `[]`: no role check).
     */
    gateway: z.strictObject({
      certs: z.array(filePath).min(1),
      ca: z.array(filePath).min(1),
      roles: z
        .array(z.string().regex(/^[0-2](?:\.(?:0|[1-9]\d*))+$/, 'must be a dotted OID'))
        .max(32, 'at most 32 OIDs')
        .default([SIGNER_ROLE_OIDS.gateway]),
    }),
    providers: z.array(z.strictObject({ name: nameSchema, module: filePath })).min(1),
    timeout_ms: z.number().int().positive().default(30_000),
    queue_prefix: z.string().regex(/^\/\S*$/).default('/queue/paygate.'),
    cipher: z.enum(['aes-256-gcm', 'aes-256-cbc']).default('aes-256-gcm'),
  })
  .superRefine(checkBrokerSelection);

/** What each key expects: the fix half of every message. */
const FIXES: Readonly<Record<string, string>> = {
  brokers: 'list the broker nodes as in the worker config (host, port, login, passcode, vhost, tls)',
  identity: 'give the client certificate and key files as identity: {cert, key}',
  gateway: 'give gateway: {certs: [gateway.crt], ca: [ca.crt]}, and roles (dotted OIDs) only for a PKI of your own',
  providers: 'list the provider plugins as {name, module}',
  timeout_ms: 'give the reply timeout in milliseconds, e.g. 30000',
  queue_prefix: 'use the prefix the workers use, e.g. /queue/paygate.',
  cipher: 'use aes-256-gcm or aes-256-cbc',
  heart_beat_ms: 'give the STOMP heart-beat in milliseconds (0 = off)',
  ...BROKER_SELECTION_FIXES,
  ...BROKER_QUEUE_TYPE_FIXES,
};

/** The loaded client config: gateway options (PEM text read) and provider modules to load. */
export interface ClientConfig {
  readonly source: string;
  /** The config file's folder: plugin package names are resolved from it. */
  readonly baseDir: string;
  readonly brokers: StompOptions;
  readonly identity: { readonly cert: string; readonly key: string };
  readonly gatewayCertificates: readonly string[];
  readonly trust: readonly string[];
  /** The extendedKeyUsage OIDs a reply's signer must carry one of (`[]`: no role check). */
  readonly gatewayRoleOids: readonly string[];
  /** Each plugin's module: an absolute file path, or a package name (resolved from `baseDir` when loaded). */
  readonly providers: readonly { readonly name: string; readonly module: string }[];
  readonly defaultTimeoutMs: number;
  readonly queuePrefix: string;
  readonly cipher: 'aes-256-gcm' | 'aes-256-cbc';
}

/** Reads and validates a client config file. @throws ConfigError `CONFIG_INVALID` listing every problem. */
export function loadClientConfig(path: string, env: Readonly<Record<string, string | undefined>> = process.env): ClientConfig {
  const source = resolve(path);
  const problems: ConfigProblem[] = [];
  let raw: unknown;
  try {
    raw = decodeYaml(readFileSync(source));
  } catch (cause) {
    const problem = cause instanceof PaygateError ? cause.message : `cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new ConfigError(source, [{ path: '(file)', problem, fix: 'give a readable file of plain YAML' }], { cause, what: WHAT });
  }
  const input = substituteEnv(raw, [], env, problems, new Map());
  const parsed = clientConfigFileSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = formatPath(issue.path);
      const top = String(issue.path[0] ?? '');
      const problem = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
      problems.push({ path: key === '' ? '(file)' : key, problem, fix: FIXES[top] ?? 'see docs/sdk.md' });
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(source, problems, { what: WHAT });
  return resolveFiles(parsed.data, source, problems);
}

function resolveFiles(file: z.output<typeof clientConfigFileSchema>, source: string, problems: ConfigProblem[]): ClientConfig {
  const base = dirname(source);
  const absolute = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const read = (key: string, p: string): string => {
    try {
      return readFileSync(absolute(p), 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      problems.push({ path: key, problem: `${absolute(p)} cannot be read (${code})`, fix: "give a readable PEM file (relative to the config file's folder)" });
      return '';
    }
  };
  const nodes = resolveBrokerNodes(file.brokers, (key, p) => (p === undefined ? undefined : read(key, p)));
  const config: ClientConfig = {
    source,
    baseDir: base,
    brokers: {
      nodes,
      ...brokerSelection(file),
      ...(file.heart_beat_ms === undefined ? {} : { heartBeat: { outgoingMs: file.heart_beat_ms, incomingMs: file.heart_beat_ms } }),
    },
    identity: { cert: read('identity.cert', file.identity.cert), key: read('identity.key', file.identity.key) },
    gatewayCertificates: file.gateway.certs.map((p, i) => read(`gateway.certs[${i}]`, p)),
    trust: file.gateway.ca.map((p, i) => read(`gateway.ca[${i}]`, p)),
    gatewayRoleOids: file.gateway.roles,
    providers: file.providers.map((p) => ({ name: p.name, module: namesPackage(p.module, base) ? p.module : absolute(p.module) })),
    defaultTimeoutMs: file.timeout_ms,
    queuePrefix: file.queue_prefix,
    cipher: file.cipher,
  };
  if (problems.length > 0) throw new ConfigError(source, problems, { what: WHAT });
  return config;
}
