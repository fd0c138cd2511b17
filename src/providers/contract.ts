import { inspect } from 'node:util';
import * as z from 'zod';
import {
  findCardNumber, maskPan, nameSchema, REPLY_STATUSES, replyDocumentSchema, schemaInvalid, Secret, shownIssue, type ReplyStatus,
} from '../wire/index.ts';
import { parseBreakerOptions, type BreakerOptionsInput } from './breaker.ts';
import { ProviderError, type SchemaIssue } from './errors.ts';
import type { SetupTools } from './setup.ts';

/**
 * The provider plugin contract, as far as the request path needs it: a plugin is a
 * frozen definition made by {@link defineProvider} — a name, a version, an action table (zod
 * request schema, zod result schema, handler per request type) and a mandatory `scrub`. The
 * SDK's request and result types are inferred from the schemas ({@link RequestOf},
 * {@link ResultOf}); the worker checks payloads and outcomes with {@link validateRequest} and
 * {@link validateResult}.
 */

/** The request type every provider queue answers; the worker handles it, never a plugin. */
export const PING_TYPE = 'ping';

/** Request types a plugin may not define. */
export const RESERVED_TYPES: readonly string[] = Object.freeze([PING_TYPE]);

/** The statuses an action may report: the wire's reply statuses minus `error` (faults are thrown). */
export type OutcomeStatus = Exclude<ReplyStatus, 'error'>;

/** {@link OutcomeStatus} as a list, in the wire's order. */
export const OUTCOME_STATUSES: readonly OutcomeStatus[] = Object.freeze(
  REPLY_STATUSES.filter((s): s is OutcomeStatus => s !== 'error'),
);

// Provider and action names follow the wire's name rule (nameSchema): they end up in queue names and documents.
/** The reply's `error` shape: UPPER_SNAKE_CASE code, message, retryable. */
const outcomeErrorSchema = replyDocumentSchema.shape.error.unwrap();

/** Why an action did not simply succeed: a stable UPPER_SNAKE_CASE code (e.g. `CARD_DECLINED`), a message, retry advice. */
export interface OutcomeError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/**
 * What an action returns. Declines are outcomes, not exceptions: `approved` carries the result,
 * `declined` carries its reason in `error`; `pending`, `action_required` and `unknown` may carry
 * either. Faults (a transport failure, a bug) are thrown and become `error` replies in the worker.
 */
export type ActionOutcome<R> =
  | { readonly status: 'approved'; readonly result: R; readonly error?: undefined }
  | { readonly status: 'declined'; readonly result?: R; readonly error: OutcomeError }
  | { readonly status: 'pending' | 'action_required' | 'unknown'; readonly result?: R; readonly error?: OutcomeError };

/**
 * The logger a handler gets. Implementations mask card numbers (`maskPan`) in messages and
 * fields; handlers still pass card data only as `Secret`/`CardNumber` values (which print masked),
 * never as clear strings.
 */
export interface ActionLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/**
 * What the worker gives a handler besides the payload. `R` is what the plugin's `setup` returned
 * (its transports, already wired to the deployment's endpoint and the provider's breaker).
 */
export interface ActionContext<R = unknown> {
  /** The request's idempotency key: pass it to the provider wherever it accepts one. */
  readonly idempotencyKey: string;
  /** The request document's `id`, for log correlation. */
  readonly requestId: string;
  /** Aborted when the request expires or the worker shuts down: pass it to every I/O call. */
  readonly signal: AbortSignal;
  /** A logger that masks card data. */
  readonly log: ActionLogger;
  /** What the plugin's `setup(tools)` returned at worker start (`undefined` without `setup`). */
  readonly resources: R;
}

/** One entry of the action table: the request schema, the result schema and the handler. */
export interface Action<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  /** Validates the payload; its input type is what SDK callers write ({@link RequestOf}). */
  readonly request: Req;
  /** Validates the outcome's `result`; its output type is what SDK callers get ({@link ResultOf}). */
  readonly result: Res;
  /** Performs the action on the validated payload. Resolves with an outcome (declines too); rejects on faults only. */
  handler(payload: z.output<Req>, context: ActionContext): Promise<ActionOutcome<z.input<Res>>>;
}

/** A request type and its validated payload, as given to the reconciliation hook. */
export type StatusInquiry<A extends ActionTable> = {
  [T in keyof A & string]: { readonly type: T; readonly payload: z.output<A[T]['request']> };
}[keyof A & string];

/** Any action table. */
export type ActionTable = Record<string, Action>;

/** A frozen provider definition, as returned by {@link defineProvider}. */
export interface ProviderDefinition<N extends string = string, A extends ActionTable = ActionTable> {
  /** The provider's name: the queue is `/queue/paygate.<name>`. */
  readonly name: N;
  /** The plugin's version (reported in health and audit records). */
  readonly version: string;
  /** The action table; its keys are the capabilities. */
  readonly actions: Readonly<A>;
  /** The supported request types (the keys of `actions`, in definition order). */
  readonly capabilities: readonly (keyof A & string)[];
  /** Masks credentials and card data in a transport transcript before it is logged or stored. */
  readonly scrub: (transcript: string) => string;
  /** Validates the plugin's own settings (the worker config's `providers[].options`); an empty strict object when the plugin has none. */
  readonly config: z.ZodType;
  /** The plugin's breaker defaults (the worker config may override them); the registry's defaults when absent. */
  readonly breaker: BreakerOptionsInput | undefined;
  /** Builds the handlers' `context.resources` at worker start (docs/providers.md, "Setup"). */
  readonly setup?: (tools: SetupTools<unknown>) => unknown;
  /**
   * Reconciliation (optional): what became of an earlier call of `inquiry.type` made with
   * `context.idempotencyKey` (a worker died during it, or it timed out after sending). Resolves
   * with that action's outcome, or `null` when the provider has no record of the call.
   */
  status?(inquiry: StatusInquiry<A>, context: ActionContext): Promise<ActionOutcome<unknown> | null>;
}

/** The union of a provider's request types. */
export type ActionTypes<P extends ProviderDefinition> = keyof P['actions'] & string;
/** What a caller writes as the payload of `type` (the request schema's input). */
export type RequestOf<P extends ProviderDefinition, T extends ActionTypes<P>> = z.input<P['actions'][T]['request']>;
/** What a handler receives for `type` (the request schema's output). */
export type PayloadOf<P extends ProviderDefinition, T extends ActionTypes<P>> = z.output<P['actions'][T]['request']>;
/** What a caller gets as the result of `type` (the result schema's output). */
export type ResultOf<P extends ProviderDefinition, T extends ActionTypes<P>> = z.output<P['actions'][T]['result']>;

/**
 * What {@link defineProvider} accepts. The action table is written as two mapped types so that
 * TypeScript infers each action's request and result schema and types its handler from them.
 */
export interface ProviderSpec<
  N extends string,
  Req extends Record<string, z.ZodType>,
  Res extends Record<string, z.ZodType>,
  Cfg extends z.ZodType = z.ZodType,
  R = undefined,
> {
  readonly name: N;
  readonly version: string;
  /** The plugin's own settings schema (credentials, merchant ids…), for the worker config's `options`. */
  readonly config?: Cfg;
  /** Breaker defaults for this provider (src/providers/breaker.ts option names). */
  readonly breaker?: BreakerOptionsInput;
  /** Called once per worker start, before any request: make the transports here; the result is `context.resources`. */
  readonly setup?: (tools: SetupTools<z.output<Cfg>>) => R | Promise<R>;
  readonly actions: {
    readonly [T in keyof Req]: {
      readonly request: Req[T];
      readonly result: z.ZodType;
      handler(payload: z.output<Req[T]>, context: ActionContext<R>): Promise<ActionOutcome<z.input<Res[T & keyof Res]>>>;
    };
  } & { readonly [T in keyof Res]: { readonly result: Res[T] } };
  readonly scrub: (transcript: string) => string;
  readonly status?: (
    inquiry: { [T in keyof Req & string]: { readonly type: T; readonly payload: z.output<Req[T]> } }[keyof Req & string],
    context: ActionContext<R>,
  ) => Promise<ActionOutcome<z.input<Res[keyof Res]>> | null>;
}

/** The table type {@link defineProvider} returns for inferred schemas. */
export type ActionTableOf<Req extends Record<string, z.ZodType>, Res extends Record<string, z.ZodType>> = {
  [T in keyof Req & string]: Action<Req[T], Res[T & keyof Res] extends z.ZodType ? Res[T & keyof Res] : z.ZodType>;
};

const SPEC_KEYS = new Set(['name', 'version', 'config', 'breaker', 'setup', 'actions', 'scrub', 'status']);
/** The settings schema of a plugin that declares none: no options allowed. */
const NO_CONFIG = z.strictObject({});
const ACTION_KEYS = new Set(['request', 'result', 'handler']);
const VERSION = /^[\x21-\x7e]{1,64}$/;
/** A transcript `scrub` must clean: a test PAN as a form field, an XML element and a JSON string. */
const SCRUB_PROBE = 'number=4111111111111111&x=1 <pan>4111111111111111</pan> {"number":"4111111111111111"}';

function invalid(message: string): ProviderError {
  return new ProviderError('PROVIDER_INVALID', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a plugin definition and returns it frozen, with `capabilities` added.
 *
 * @throws ProviderError `PROVIDER_INVALID` when the name, version, an action (its name, schemas,
 *   handler; `ping` is reserved), `scrub` (missing, or leaving a card number in a test
 *   transcript) or `status` breaks the contract.
 */
export function defineProvider<
  const N extends string,
  Req extends Record<string, z.ZodType>,
  Res extends Record<string, z.ZodType>,
  Cfg extends z.ZodType = z.ZodObject<Record<string, never>>,
  R = undefined,
>(spec: ProviderSpec<N, Req, Res, Cfg, R>): ProviderDefinition<N, ActionTableOf<Req, Res>> {
  if (!isRecord(spec)) throw invalid('a provider definition must be an object');
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.has(key)) throw invalid(maskPan(`unknown field "${key}" in the provider definition`));
  }
  const name: unknown = spec.name;
  const named = nameSchema.safeParse(name);
  if (!named.success) throw invalid(`provider name: ${named.error.issues[0]?.message ?? 'invalid'}`);
  const where = `provider ${named.data}`;
  if (typeof spec.version !== 'string' || !VERSION.test(spec.version)) {
    throw invalid(`${where}: version must be 1 to 64 printable characters without spaces, e.g. 1.0.0`);
  }
  if (typeof spec.scrub !== 'function') throw invalid(`${where}: scrub(transcript) is mandatory`);
  let probe: unknown;
  try {
    probe = spec.scrub(SCRUB_PROBE);
  } catch {
    throw invalid(`${where}: scrub threw on a test transcript`);
  }
  if (typeof probe !== 'string') throw invalid(`${where}: scrub must return a string`);
  if (probe.includes('4111111111111111')) throw invalid(`${where}: scrub leaves card numbers in transcripts (try scrubCardNumbers)`);
  if (spec.status !== undefined && typeof spec.status !== 'function') throw invalid(`${where}: status must be a function`);
  const deployment = checkDeploymentFields(where, spec);

  const table: unknown = spec.actions;
  if (!isRecord(table)) throw invalid(`${where}: actions must be an object of request type → action`);
  const types = Object.keys(table);
  if (types.length === 0) throw invalid(`${where}: actions must define at least one request type`);
  const actions: Record<string, Action> = Object.create(null) as Record<string, Action>;
  for (const type of types) {
    if (RESERVED_TYPES.includes(type)) throw invalid(`${where}: "${type}" is reserved (the worker answers it itself)`);
    const typed = nameSchema.safeParse(type);
    if (!typed.success) throw invalid(maskPan(`${where}: action "${type}": ${typed.error.issues[0]?.message ?? 'invalid name'}`));
    actions[type] = checkAction(`${where}, action ${type}`, table[type]);
  }
  return Object.freeze({
    name: named.data as N,
    version: spec.version,
    actions: Object.freeze(actions) as ActionTableOf<Req, Res>,
    capabilities: Object.freeze(types) as readonly (keyof Req & string)[],
    scrub: spec.scrub,
    ...deployment,
    ...(spec.status === undefined ? {} : { status: spec.status as ProviderDefinition<N, ActionTableOf<Req, Res>>['status'] }),
  });
}

/** `config`, `breaker` and `setup`: checked now, so a broken plugin fails when it loads, not at its first request. */
function checkDeploymentFields(
  where: string,
  spec: { config?: unknown; breaker?: unknown; setup?: unknown },
): Pick<ProviderDefinition, 'config' | 'breaker' | 'setup'> {
  if (spec.config !== undefined && !(spec.config instanceof z.ZodType)) throw invalid(`${where}: config must be a zod 4 schema (from paygate's zod)`);
  if (spec.setup !== undefined && typeof spec.setup !== 'function') throw invalid(`${where}: setup must be a function`);
  if (spec.breaker !== undefined) parseBreakerOptions(spec.breaker, `${where}: breaker`);
  return {
    config: (spec.config as z.ZodType | undefined) ?? NO_CONFIG,
    breaker: spec.breaker as BreakerOptionsInput | undefined,
    ...(spec.setup === undefined ? {} : { setup: spec.setup as (tools: SetupTools<unknown>) => unknown }),
  };
}

function checkAction(where: string, action: unknown): Action {
  if (!isRecord(action)) throw invalid(`${where}: must be an object with request, result and handler`);
  for (const key of Object.keys(action)) {
    if (!ACTION_KEYS.has(key)) throw invalid(maskPan(`${where}: unknown field "${key}"`));
  }
  const { request, result, handler } = action;
  if (!(request instanceof z.ZodType)) throw invalid(`${where}: request must be a zod 4 schema (from paygate's zod)`);
  if (!(result instanceof z.ZodType)) throw invalid(`${where}: result must be a zod 4 schema (from paygate's zod)`);
  if (typeof handler !== 'function') throw invalid(`${where}: handler must be a function`);
  return Object.freeze({ request, result, handler: handler as Action['handler'] });
}

/** Whether `type` is one of the provider's request types (`ping` never is: the worker answers it). */
export function supportsType<P extends ProviderDefinition>(definition: P, type: string): type is ActionTypes<P> {
  return Object.hasOwn(definition.actions, type);
}

function actionOf(definition: ProviderDefinition, type: string): Action {
  if (!supportsType(definition, type)) {
    const shown = nameSchema.safeParse(type).success ? `"${type}"` : 'of that name';
    const note = type === PING_TYPE ? ' (ping is answered by the worker)' : '';
    throw new ProviderError('UNSUPPORTED_TYPE', maskPan(`provider ${definition.name} has no action ${shown}${note}`));
  }
  return definition.actions[type] as Action;
}

/** The issues of a zod error as paths and problems, never values (received keys only when plain); `prefix` is prepended to each path. */
function issuesOf(error: z.ZodError, prefix: readonly PropertyKey[] = []): SchemaIssue[] {
  return error.issues.map((issue) => shownIssue(issue, prefix, '(payload)'));
}

/**
 * Validates a request payload against the action's request schema, then looks for card data
 * where none belongs: a card number in any string or number of the parsed payload that is not
 * a `Secret` (the card fields come out of their schemas as secrets; an order id, a description
 * or a reference does not). Such a payload is refused, not masked: it would otherwise be
 * forwarded to the provider and stored as ordinary text.
 *
 * @returns the parsed payload (card numbers as `CardNumber` secrets and so on).
 * @throws ProviderError `UNSUPPORTED_TYPE` for a type the provider does not have; `INVALID_REQUEST`
 *   naming each failing path and problem (never a value); `CARD_DATA_IN_TEXT` naming the field
 *   that holds a card number (never the value), checked only once the schema accepted the payload.
 */
export function validateRequest<P extends ProviderDefinition, T extends ActionTypes<P>>(
  definition: P,
  type: T,
  payload: unknown,
): PayloadOf<P, T> {
  const action = actionOf(definition, type);
  const what = `request payload of ${definition.name}/${type}`;
  const parsed = action.request.safeParse(payload);
  if (!parsed.success) {
    throw new ProviderError('INVALID_REQUEST', schemaInvalid(what, parsed.error).message, { issues: issuesOf(parsed.error) });
  }
  const field = findCardNumber(parsed.data);
  if (field !== undefined) {
    const problem = "holds a card number: card numbers belong only in the payload's card fields";
    throw new ProviderError('CARD_DATA_IN_TEXT', maskPan(`${what}: ${field} ${problem}`), { issues: [{ path: field, message: problem }] });
  }
  return parsed.data as PayloadOf<P, T>;
}

const outcomeSchema = z
  .strictObject({
    status: z.enum(OUTCOME_STATUSES as [OutcomeStatus, ...OutcomeStatus[]]),
    result: z.unknown().optional(),
    error: outcomeErrorSchema.optional(),
  })
  .superRefine((outcome, ctx) => {
    if (outcome.status === 'approved' && outcome.result === undefined) {
      ctx.addIssue({ code: 'custom', path: ['result'], message: 'required when status is approved' });
    }
    if (outcome.status === 'approved' && outcome.error !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['error'], message: 'not allowed when status is approved' });
    }
    if (outcome.status === 'declined' && outcome.error === undefined) {
      ctx.addIssue({ code: 'custom', path: ['error'], message: 'required when status is declined (the reason)' });
    }
  });

/**
 * Validates an action's outcome (the worker calls this on what a handler or the `status` hook
 * returned): the status (`error` is not an outcome: faults are thrown), the error shape, and the
 * result against the action's result schema.
 *
 * @returns the outcome with its result parsed by the result schema.
 * @throws ProviderError `UNSUPPORTED_TYPE` for a type the provider does not have; `INVALID_RESULT`
 *   naming each failing path and problem (never a value).
 */
export function validateResult<P extends ProviderDefinition, T extends ActionTypes<P>>(
  definition: P,
  type: T,
  outcome: unknown,
): ActionOutcome<ResultOf<P, T>> {
  const action = actionOf(definition, type);
  const what = `outcome of ${definition.name}/${type}`;
  const checked = outcomeSchema.safeParse(outcome);
  if (!checked.success) {
    throw new ProviderError('INVALID_RESULT', schemaInvalid(what, checked.error).message, { issues: issuesOf(checked.error) });
  }
  const { status, result, error } = checked.data;
  let parsedResult: unknown;
  if (result !== undefined) {
    const parsed = action.result.safeParse(result);
    if (!parsed.success) {
      // Paths are prefixed with `result` by hand: the result schema's issues are relative to it.
      const issues = issuesOf(parsed.error, ['result']);
      const listed = schemaInvalid(`${what}: result`, parsed.error).message;
      throw new ProviderError('INVALID_RESULT', listed, { issues });
    }
    parsedResult = parsed.data;
  }
  return Object.freeze({
    status,
    ...(parsedResult === undefined ? {} : { result: parsedResult }),
    // The message goes into a reply and logs: a card number in it (a provider echoing input) is masked.
    ...(error === undefined ? {} : { error: Object.freeze({ ...error, message: maskPan(error.message) }) }),
  }) as ActionOutcome<ResultOf<P, T>>;
}

/** A ready `scrub` for plugins whose transcripts carry no credentials of their own: masks every card number (`maskPan`). */
export function scrubCardNumbers(transcript: string): string {
  return maskPan(transcript);
}

/** How deep {@link maskingLogger} follows nested fields. */
const MAX_FIELD_DEPTH = 8;

function maskValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskPan(value);
  if (typeof value === 'number' || typeof value === 'bigint') {
    const text = String(value);
    const masked = maskPan(text);
    return masked === text ? value : masked;
  }
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Secret) return value.masked;
  if (depth >= MAX_FIELD_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((item: unknown) => maskValue(item, depth + 1));
  if (value instanceof Error) return maskPan(`${value.name}: ${value.message}`);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [maskPan(key), maskValue(item, depth + 1)]));
  }
  return maskPan(inspect(value, { depth: 2 }));
}

/**
 * Wraps a logger so that card numbers never reach it: the message and every string or number in
 * the fields pass through `maskPan`, secrets become their masked form, errors and class instances
 * their masked text. For the worker's {@link ActionContext} `log`.
 */
export function maskingLogger(sink: ActionLogger): ActionLogger {
  const level =
    (write: ActionLogger['info']): ActionLogger['info'] =>
    (message, fields) =>
      fields === undefined
        ? write(maskPan(String(message)))
        : write(maskPan(String(message)), maskValue(fields, 0) as Readonly<Record<string, unknown>>);
  return Object.freeze({
    info: level((...args) => sink.info(...args)),
    warn: level((...args) => sink.warn(...args)),
    error: level((...args) => sink.error(...args)),
  });
}
