/**
 * paygate's logs: pino JSON lines, one object per line, with card data masked by construction
 * (docs/operations.md, "Logs"). Whatever a caller passes — a message, printf arguments, fields,
 * errors, `Secret`s, child bindings — no card number, CVV or credential comes out in clear:
 *
 * 1. `hooks.logMethod` masks the message and every printf argument (pino formats those itself,
 *    outside the merged object, so nothing later would see them as values).
 * 2. `formatters.log` deep-walks the merged object: strings through `maskPan`, Luhn-valid 13–19
 *    digit numbers become masked strings, `Secret`s their mask, errors a masked
 *    `{ type, message, stack, code }`, and the values of sensitive keys `[REDACTED]` at any depth.
 * 3. pino's `redact` censors the sensitive keys in the first four levels, bindings included.
 * 4. `hooks.streamWrite` passes the finished line through `maskPan`: a PAN assembled by printf
 *    from pieces that were harmless alone is still caught.
 *
 * Child loggers get the same treatment: their bindings are walked as fields are, and child options
 * that would replace the masking (serializers, formatters, redact) are refused.
 */
import { hostname } from 'node:os';
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
import { z } from 'zod';
import { PaygateError } from './errors.ts';
import type { ActionLogger } from './providers/index.ts';
import { maskPan, Secret } from './wire/index.ts';

/** Stable codes of the logging module's failures. */
export const LOG_ERROR_CODES = [
  /** The options of `createLogger` (or of a child logger) do not validate; the message names the paths. */
  'LOG_BAD_OPTIONS',
] as const;

/** One of {@link LOG_ERROR_CODES}. */
export type LogErrorCode = (typeof LOG_ERROR_CODES)[number];

/** A typed failure of the logging module. */
export class LogError extends PaygateError {
  declare readonly code: LogErrorCode;

  constructor(code: LogErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The levels, quietest last; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The environment variable that sets the level when the code does not. */
export const LOG_LEVEL_ENV = 'PAYGATE_LOG_LEVEL';

/**
 * Keys whose values are never logged, whatever they hold. The deep walk compares keys ignoring
 * case and punctuation (`cardNumber`, `API-Key` match too); pino's `redact` matches them exactly.
 */
export const SENSITIVE_KEYS = [
  'pan', 'number', 'card_number', 'cvv', 'cvc', 'cvv2', 'pin', 'password', 'passcode', 'secret', 'authorization', 'api_key',
  'signature',
] as const;

/** What replaces a sensitive value. */
const CENSOR = '[REDACTED]';

/** How deep the walk goes; deeper values print as `[Truncated]` (never unmasked). */
const MAX_DEPTH = 6;

/** pino `redact` paths: each sensitive key at the top level and under one to three levels (`*.cvv`, `*.*.cvv`, …). */
const REDACT_PATHS = ['', '*.', '*.*.', '*.*.*.'].flatMap((prefix) => SENSITIVE_KEYS.map((key) => `${prefix}${key}`));

/** Binding keys that pino writes itself: a `base` holding them would produce duplicate keys. */
const RESERVED_BINDINGS = ['level', 'time', 'msg', 'name'];

const destinationStream = z.custom<DestinationStream>(
  (value) => typeof value === 'object' && value !== null && typeof (value as { write?: unknown }).write === 'function',
  'a stream with a write method',
);

/** The options of {@link createLogger}; every default is here. */
export const logOptionsSchema = z.strictObject({
  /** The `name` field of every line (which program wrote it). */
  name: z.string().min(1).default('paygate'),
  /** The quietest level written. Default: `PAYGATE_LOG_LEVEL` when it names a level, else `info`. */
  level: z.enum(LOG_LEVELS).default(() => levelFromEnv() ?? 'info'),
  /**
   * Where lines go: a pino destination stream, or a file descriptor (default 1, stdout), written
   * synchronously so that lines are whole and none is lost when the process exits or is killed.
   */
  destination: z.union([z.number().int().nonnegative(), destinationStream]).default(1),
  /** Extra fields bound to every line (e.g. `{ workerId }`), after `pid` and `hostname`; masked like fields. */
  base: z
    .record(z.string(), z.unknown())
    .refine((base) => RESERVED_BINDINGS.every((key) => !(key in base)), `may not set ${RESERVED_BINDINGS.join(', ')}`)
    .default({}),
});

/** What {@link createLogger} accepts (defaults may be left out). */
export type LogOptions = z.input<typeof logOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedLogOptions = z.output<typeof logOptionsSchema>;

/** `PAYGATE_LOG_LEVEL` when it names a level (case and spaces ignored), else `undefined`. */
function levelFromEnv(): LogLevel | undefined {
  const value = process.env[LOG_LEVEL_ENV]?.trim().toLowerCase();
  return LOG_LEVELS.find((level) => level === value);
}

/** Validates the options and fills in the defaults. @throws LogError `LOG_BAD_OPTIONS` naming each path. */
export function parseLogOptions(options: LogOptions = {}): ResolvedLogOptions {
  const parsed = logOptionsSchema.safeParse(options);
  if (!parsed.success) {
    // zod's messages name expectations, not values: a base field holding card data is never repeated.
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(options)'}: ${issue.message}`);
    throw new LogError('LOG_BAD_OPTIONS', `invalid log options: ${problems.join('; ')}`);
  }
  return parsed.data;
}

const sensitive = new Set<string>(SENSITIVE_KEYS.map(normalizeKey));

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** A number as a masked string when its printed digits hold a card number; the number itself otherwise. */
function maskNumber(value: number | bigint): number | bigint | string {
  // Below 13 digits nothing can be a PAN: skip the string work for the counters and amounts of every line.
  if (typeof value === 'number' && !(Math.abs(value) >= 1e12)) return value;
  const text = String(value);
  const masked = maskPan(text);
  return masked === text ? value : masked;
}

/**
 * A copy of `value` safe to log: see the module comment, step 2. Follows JSON's view of objects
 * (`toJSON`, own enumerable string keys) so that what is masked is what would be printed.
 * `ancestors` holds the objects on the current path: a cycle prints as `[Circular]`.
 */
function maskDeep(value: unknown, depth: number, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      return maskPan(value);
    case 'number':
    case 'bigint':
      return maskNumber(value);
    case 'object':
      break;
    default:
      return value; // booleans, undefined, functions, symbols: nothing to mask (JSON drops the last three)
  }
  if (value === null) return null;
  if (value instanceof Secret) return value.masked;
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (ancestors.has(value)) return '[Circular]';
  ancestors.add(value);
  try {
    return maskObject(value, depth, ancestors);
  } catch {
    // A throwing getter or toJSON: logging must not throw, and the value cannot be shown safely.
    return '[Unserializable]';
  } finally {
    ancestors.delete(value);
  }
}

function maskObject(value: object, depth: number, ancestors: Set<object>): unknown {
  if (value instanceof Error) return maskError(value, depth, ancestors);
  if (Array.isArray(value)) return value.map((item: unknown) => maskDeep(item, depth + 1, ancestors));
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return maskDeep(toJSON.call(value), depth + 1, ancestors);
  return maskEntries(Object.entries(value), depth, ancestors);
}

/** Entries as an object: keys masked, sensitive keys censored, values walked. */
function maskEntries(entries: [string, unknown][], depth: number, ancestors: Set<object>): Record<string, unknown> {
  // fromEntries defines own properties: a `__proto__` key stays data, never a prototype.
  return Object.fromEntries(
    entries.map(([key, item]) => [
      maskPan(key),
      item !== undefined && sensitive.has(normalizeKey(key)) ? CENSOR : maskDeep(item, depth + 1, ancestors),
    ]),
  );
}

/** An error as `{ type, message, stack, code?, …its own fields, cause? }`, every part masked. */
function maskError(error: Error, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const own = Object.entries(error).filter(([key]) => !['name', 'message', 'stack', 'code', 'cause'].includes(key));
  const code: unknown = (error as { code?: unknown }).code;
  return {
    type: maskPan(error.constructor?.name || String(error.name)),
    message: maskPan(String(error.message)),
    stack: maskPan(String(error.stack ?? '')),
    ...(code === undefined ? {} : { code: maskDeep(code, depth + 1, ancestors) }),
    ...maskEntries(own, depth, ancestors),
    ...(error.cause === undefined ? {} : { cause: maskDeep(error.cause, depth + 1, ancestors) }),
  };
}

/** Walks a merged object or bindings; a non-object (`logger.info(new CardNumber(…))`) is kept under `value`. */
function maskFields(fields: unknown): Record<string, unknown> {
  const masked = maskDeep(fields, 0, new Set());
  return typeof masked === 'object' && masked !== null && !Array.isArray(masked) ? (masked as Record<string, unknown>) : { value: masked };
}

/** The `err` serializer: an error (or what the walk already made of one) with type/code/message/stack masked. */
function serializeError(value: unknown): unknown {
  return value instanceof Error ? maskError(value, 0, new Set()) : maskDeep(value, 0, new Set());
}

/** The arguments of a log call, masked: see the module comment, step 1. */
function maskArgs(args: unknown[]): unknown[] {
  const maskArg = (arg: unknown): unknown => maskDeep(arg, 0, new Set());
  const [first, ...rest] = args;
  if (typeof first !== 'object' || first === null) return args.map(maskArg);
  // The merged object is walked by formatters.log. Without a message pino would print the
  // error's own, unmasked: give it the masked one.
  const fields = first as { err?: unknown; msg?: unknown };
  const error = first instanceof Error ? first : fields.err;
  const message = rest.length === 0 && fields.msg === undefined && error instanceof Error ? [maskPan(String(error.message))] : [];
  return [first, ...message, ...rest.map(maskArg)];
}

/** Bindings of a child or `setBindings`, walked as fields are (pino applies `formatters.bindings` to the root only). */
function maskBindings(bindings: Bindings): Bindings {
  return maskFields(bindings);
}

/**
 * Makes every descendant of `root` mask its bindings and keep the masking: children are
 * `Object.create(parent)`, so they inherit these two methods.
 */
function guardDescendants(root: Logger): void {
  const child = root.child;
  const setBindings = root.setBindings;
  const guardedChild = function (this: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
    const replaced = ['serializers', 'formatters', 'redact'].filter((key) => options !== undefined && key in options);
    if (replaced.length > 0) {
      throw new LogError('LOG_BAD_OPTIONS', `child logger options may not replace ${replaced.join(', ')}: they mask card data`);
    }
    return Reflect.apply(child, this, [maskBindings(bindings), options]) as Logger;
  };
  Object.defineProperty(root, 'child', { value: guardedChild, writable: true, configurable: true });
  Object.defineProperty(root, 'setBindings', {
    value: function (this: Logger, bindings: Bindings): void {
      setBindings.call(this, maskBindings(bindings));
    },
    writable: true,
    configurable: true,
  });
}

/**
 * A pino logger writing JSON lines with card data masked by construction (module comment).
 * Lines carry `level` as its label (`"info"`), `time` as ISO 8601 UTC, `pid`, `hostname`, `name`,
 * the `base` fields, the call's fields and `msg`.
 *
 * @throws LogError `LOG_BAD_OPTIONS` when the options do not validate.
 */
export function createLogger(options: LogOptions = {}): Logger {
  const resolved = parseLogOptions(options);
  const destination =
    typeof resolved.destination === 'number' ? pino.destination({ dest: resolved.destination, sync: true }) : resolved.destination;
  const logger = pino(
    {
      name: resolved.name,
      level: resolved.level,
      base: maskBindings({ pid: process.pid, hostname: hostname(), ...resolved.base }),
      // ISO time, not epoch ms: readable, and the line-level mask (step 4) can never meet a bare
      // 13-digit number there and turn it into invalid JSON.
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      serializers: { err: serializeError },
      formatters: {
        // Labels, not pino's numbers: operators grep and jq for "error"; the old worker lines had them too.
        level: (label) => ({ level: label }),
        log: maskFields,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, maskArgs(args) as Parameters<typeof method>);
        },
        streamWrite: maskPan,
      },
    },
    destination,
  );
  guardDescendants(logger);
  const fromEnv = process.env[LOG_LEVEL_ENV];
  if (options.level === undefined && fromEnv !== undefined && fromEnv.trim() !== '' && levelFromEnv() === undefined) {
    logger.warn({ [LOG_LEVEL_ENV]: fromEnv, levels: LOG_LEVELS }, `${LOG_LEVEL_ENV} is not a level: ignored, logging at info`);
  }
  return logger;
}

/**
 * The worker's {@link ActionLogger} on a pino logger: `info(message, fields)` becomes
 * `logger.info(fields ?? {}, message)`, and likewise for `warn` and `error`.
 */
export function actionLogger(logger: Logger): ActionLogger {
  return Object.freeze({
    info: (message: string, fields?: Readonly<Record<string, unknown>>) => logger.info(fields ?? {}, message),
    warn: (message: string, fields?: Readonly<Record<string, unknown>>) => logger.warn(fields ?? {}, message),
    error: (message: string, fields?: Readonly<Record<string, unknown>>) => logger.error(fields ?? {}, message),
  });
}
