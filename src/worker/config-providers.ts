/**
 * The `providers[]` part of the worker's configuration file (config.ts): which plugin serves
 * each provider and its deployment settings: the endpoint, TLS to it, the per-call
 * timeout, breaker options and the plugin's own `options`. The result feeds the worker's
 * `providerSettings` (src/worker/options.ts), which the plugin's `setup` receives.
 *
 * Kept apart from config.ts only for size; the rules are the same: messages name keys and
 * expectations, never a value (an endpoint may carry credentials, `options` holds secrets).
 */
import { z } from 'zod';
import { breakerOptionsSchema, type BreakerOptionsInput } from '../providers/index.ts';
import { namesPackage } from '../providers/package-entry.ts';
import { nameSchema } from '../wire/index.ts';

/** A file path as written in the file (resolved and checked after validation). */
const filePath = z.string().min(1);

/** The breaker keys of the file and the names `breakerOptionsSchema` knows them by. */
const BREAKER_NAMES = {
  error_threshold_percentage: 'errorThresholdPercentage',
  volume_threshold: 'volumeThreshold',
  rolling_window_ms: 'rollingCountTimeout',
  rolling_buckets: 'rollingCountBuckets',
  reset_timeout_ms: 'resetTimeout',
  capacity: 'capacity',
} as const satisfies Record<string, keyof BreakerOptionsInput>;

type BreakerFileKey = keyof typeof BREAKER_NAMES;
type BreakerFile = Partial<Record<BreakerFileKey, number>>;

/** A custom zod issue carrying its own problem and fix (config.ts's `describeIssue` uses them as they are). */
export interface ProblemParams {
  readonly problem: string;
  readonly fix: string;
}

/** What is wrong with an endpoint URL, if anything; never repeats it (it may hold credentials). */
function endpointProblem(text: string): ProblemParams | undefined {
  const fix = "write https://host[:port][/path], and put credentials in the provider's options (e.g. ${env:NAME}), never in the URL";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'expected an https:// URL, got a string that is not a URL', fix };
  }
  if (url.protocol !== 'https:') return { problem: 'expected an https:// URL, got another scheme (plain http is refused)', fix };
  if (url.username !== '' || url.password !== '') return { problem: 'the URL carries credentials (user:password@)', fix };
  if (url.search !== '' || text.includes('?')) return { problem: 'the URL has a query (?…)', fix };
  if (url.hash !== '' || text.includes('#')) return { problem: 'the URL has a fragment (#…)', fix };
  return undefined;
}

/** The breaker options as `breakerOptionsSchema` names them (only the keys given). */
function breakerOptionsOf(breaker: BreakerFile): BreakerOptionsInput {
  const options: Record<string, number> = {};
  for (const [key, name] of Object.entries(BREAKER_NAMES)) {
    const value = breaker[key as BreakerFileKey];
    if (value !== undefined) options[name] = value;
  }
  return options;
}

const fileKeyOfBreakerName = new Map<PropertyKey, string>(Object.entries(BREAKER_NAMES).map(([key, name]) => [name, key]));

/**
 * The breaker keys are checked by the breaker module's own schema (its ranges, and buckets
 * within the window), against its defaults for the keys left out; each failure is reported on
 * the file's snake_case key with that key's expect/fix text.
 */
const breakerSchema = z
  .strictObject(Object.fromEntries(Object.keys(BREAKER_NAMES).map((key) => [key, z.number().optional()])) as Record<BreakerFileKey, z.ZodOptional<z.ZodNumber>>)
  .superRefine((breaker, ctx) => {
    const checked = breakerOptionsSchema.safeParse(breakerOptionsOf(breaker));
    if (checked.success) return;
    for (const issue of checked.error.issues) {
      const key = fileKeyOfBreakerName.get(issue.path[0] ?? '');
      // An issue on a key the file cannot set would be a breaker-module change; report it on the mapping.
      ctx.addIssue({ code: 'custom', path: key === undefined ? [] : [key], message: issue.message });
    }
  });

const providerTlsSchema = z
  .strictObject({ ca: filePath.optional(), cert: filePath.optional(), key: filePath.optional() })
  .superRefine((tls, ctx) => {
    if ((tls.cert === undefined) === (tls.key === undefined)) return;
    const [missing, given] = tls.cert === undefined ? ['cert', 'key'] : ['key', 'cert'];
    const params: ProblemParams = {
      problem: `missing while tls.${given} is given (a client certificate and its key go together)`,
      fix: 'give both tls.cert and tls.key, or neither',
    };
    ctx.addIssue({ code: 'custom', path: [missing], message: 'cert and key go together', params });
  });

/** One `providers[]` entry as written. */
export const providerEntrySchema = z.strictObject({
  name: nameSchema,
  module: filePath,
  endpoint: z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      const params = endpointProblem(text);
      if (params !== undefined) ctx.addIssue({ code: 'custom', message: 'not an https endpoint', params });
    })
    .optional(),
  tls: providerTlsSchema.optional(),
  /** The transports refuse more than 10 minutes; refused here already, at load. */
  timeout_ms: z.number().int().positive().max(600_000).optional(),
  breaker: breakerSchema.optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});

/** One `providers[]` entry as validated. */
export type ProviderEntry = z.output<typeof providerEntrySchema>;

/** Expect/fix text of the `providers` keys (part of config.ts's `CONFIG_KEYS`). */
export const PROVIDER_CONFIG_KEYS = {
  providers: { expect: 'a non-empty list of providers', fix: 'list each provider plugin as {name, module}' },
  'providers[]': { expect: 'a mapping (name, module, endpoint, tls, timeout_ms, breaker, options)', fix: 'describe the provider as {name, module}, plus its settings' },
  'providers[].name': { expect: 'a name of lower-case letters and digits, words joined by _ or -, unique, not feed', fix: 'use the queue name of the provider, e.g. card' },
  'providers[].module': { expect: 'a file path', fix: "give the plugin's entry file, e.g. ../providers/card/index.ts, or the name of a plugin package installed where the config file is, e.g. paygate/providers/card" },
  'providers[].endpoint': { expect: 'an https:// URL without credentials, query or fragment', fix: "set the provider's endpoint, e.g. https://api.provider.example/v1" },
  'providers[].tls': { expect: 'a mapping (ca, cert, key)', fix: 'give TLS file paths under tls, or leave tls out (the system CA store, no client certificate)' },
  'providers[].tls.ca': { expect: 'a file path', fix: "give the PEM file of the CA(s) that signed the provider's certificate" },
  'providers[].tls.cert': { expect: 'a file path', fix: 'give the PEM file of the client certificate the provider asks for (with tls.key)' },
  'providers[].tls.key': { expect: 'a file path', fix: "give the PEM file of that client certificate's private key (with tls.cert)" },
  'providers[].timeout_ms': { expect: 'an integer 1–600000 (milliseconds)', fix: 'set the per-call deadline of calls to the provider, e.g. 20000' },
  'providers[].breaker': { expect: 'a mapping of breaker options (error_threshold_percentage, volume_threshold, …)', fix: "set only the breaker options to change from the plugin's defaults" },
  'providers[].breaker.error_threshold_percentage': { expect: 'a number 1–99 (percent)', fix: 'set the share of failed calls in the window that opens the breaker, e.g. 50' },
  'providers[].breaker.volume_threshold': { expect: 'an integer 0–1000000', fix: 'set how many calls the window must hold before the breaker may open, e.g. 10' },
  'providers[].breaker.rolling_window_ms': { expect: 'an integer 10–86400000 (milliseconds), at least rolling_buckets', fix: 'set the rolling window failures are counted over, e.g. 10000' },
  'providers[].breaker.rolling_buckets': { expect: 'an integer 1–1000, at most rolling_window_ms', fix: 'set how many slices the window is counted in, e.g. 10' },
  'providers[].breaker.reset_timeout_ms': { expect: 'an integer 1–86400000 (milliseconds)', fix: 'set how long an open breaker waits before a trial call, e.g. 30000' },
  'providers[].breaker.capacity': { expect: 'an integer 1–100000', fix: 'set the most calls in flight to the provider at once, e.g. 20' },
  'providers[].options': { expect: "a mapping of the plugin's own settings", fix: "write the plugin's settings as key: value lines under options (see the plugin's README)" },
} as const;

/** One provider plugin to load and its deployment settings (the worker's `providerSettings`). */
export interface ProviderConfig {
  readonly name: string;
  /** Absolute path of the plugin's entry module, or an installed package's name (found from `WorkerConfig.baseDir`). */
  readonly module: string;
  /** The provider's https endpoint, as written. */
  readonly endpoint?: string;
  /** TLS to the endpoint: PEM text read from the files named. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  /** Per-call deadline of the provider's transports (ms). */
  readonly timeoutMs?: number;
  /** Breaker options given (src/providers/breaker.ts names), over the plugin's defaults. */
  readonly breaker?: Readonly<BreakerOptionsInput>;
  /** The plugin's own settings, as written (`${env:NAME}` replaced); `{}` when absent. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** How config.ts checks a file (`checkFile`: absolute path) and reads a PEM file (`readPem`: its text, `undefined` on a problem). */
export interface FileTools {
  /** The config file's folder: relative paths and package names are resolved from it. */
  readonly baseDir: string;
  checkFile(key: string, value: string): string;
  readPem(key: string, value: string | undefined): string | undefined;
}

/** Resolves entry `index`: module path checked, TLS files read, breaker names mapped. */
export function resolveProvider(entry: ProviderEntry, index: number, files: FileTools): ProviderConfig {
  const at = `providers[${index}]`;
  const tls = entry.tls === undefined
    ? undefined
    : withoutUndefined({
        ca: files.readPem(`${at}.tls.ca`, entry.tls.ca),
        cert: files.readPem(`${at}.tls.cert`, entry.tls.cert),
        key: files.readPem(`${at}.tls.key`, entry.tls.key),
      });
  return withoutUndefined({
    name: entry.name,
    // A package name is resolved when the plugin is loaded (loadProvider), from the config file's folder.
    module: namesPackage(entry.module, files.baseDir) ? entry.module : files.checkFile(`${at}.module`, entry.module),
    endpoint: entry.endpoint,
    tls,
    timeoutMs: entry.timeout_ms,
    breaker: entry.breaker === undefined ? undefined : breakerOptionsOf(entry.breaker),
    options: entry.options ?? {},
  });
}

/** The object without its `undefined` properties (absent settings stay absent, not `undefined`). */
function withoutUndefined<T extends Record<string, unknown>>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}
