/**
 * The plugin author's test kit (exported by `paygate/provider`): run one action of a plugin the
 * way the worker does — the payload checked by the request schema and for card data out of
 * place, the handler called with a real {@link ActionContext}, its outcome checked by the result
 * schema — without a broker, certificates or an idempotency store. What the handler logged comes
 * back masked exactly as the worker would log it, so a test can assert that no card number leaks.
 *
 * It loads nothing heavier than the plugin contract: a storefront that imports a plugin (and
 * through it `paygate/provider`) does not load transports, sandboxes or test runners with it.
 */
import * as z from 'zod';
import { PaygateError } from './errors.ts';
import {
  maskingLogger, validateRequest, validateResult,
  type Action, type ActionContext, type ActionLogger, type ActionOutcome, type ActionTypes, type ProviderDefinition, type ResultOf,
} from './providers/index.ts';

/** The test kit's error codes. */
export const TEST_KIT_ERROR_CODES = ['TEST_KIT_OPTIONS_INVALID'] as const;

/** A {@link TEST_KIT_ERROR_CODES} code. */
export type TestKitErrorCode = (typeof TEST_KIT_ERROR_CODES)[number];

/** A mistake in the options given to {@link testActionContext} or {@link runAction}. */
export class TestKitError extends PaygateError {
  declare readonly code: TestKitErrorCode;
}

/** One line a handler logged, after masking. */
export interface LoggedLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>> | undefined;
}

/** The options of {@link testActionContext} and {@link runAction}; defaults in {@link testContextOptionsSchema}. */
export interface TestContextOptions<R> {
  /** What the plugin's `setup(tools)` would return (its transports, or fakes of them you wrote). */
  readonly resources: R;
  /** The request's idempotency key. Default `test-key-1`. */
  readonly idempotencyKey?: string;
  /** The request document's id. Default `test-request-1`. */
  readonly requestId?: string;
  /** Aborted to simulate an expired request or a worker shutting down. Default: never aborted. */
  readonly signal?: AbortSignal;
}

/** The options' schema: every default of the kit is here. */
export const testContextOptionsSchema = z.strictObject({
  resources: z.unknown(),
  idempotencyKey: z.string().regex(/^[\x20-\x7e]{1,128}$/, 'must be 1 to 128 printable ASCII characters').default('test-key-1'),
  requestId: z.string().min(1).max(128).default('test-request-1'),
  signal: z.instanceof(AbortSignal).optional(),
});

/** A context for a handler, and the lines it logs through `context.log` (masked). */
export interface TestContext<R> {
  readonly context: ActionContext<R>;
  readonly logs: LoggedLine[];
}

/**
 * Makes the context a handler gets from the worker, with a logger that masks card data (as the
 * worker's does) and records what it wrote.
 *
 * @throws TestKitError `TEST_KIT_OPTIONS_INVALID` naming the option that is wrong.
 */
export function testActionContext<R>(options: TestContextOptions<R>): TestContext<R> {
  const parsed = testContextOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`);
    throw new TestKitError('TEST_KIT_OPTIONS_INVALID', `test kit options: ${problems.join('; ')}`);
  }
  const logs: LoggedLine[] = [];
  const sink = (level: LoggedLine['level']): ActionLogger['info'] => (message, fields) => {
    logs.push(fields === undefined ? { level, message } : { level, message, fields });
  };
  const log = maskingLogger({ info: sink('info'), warn: sink('warn'), error: sink('error') });
  const context: ActionContext<R> = Object.freeze({
    idempotencyKey: parsed.data.idempotencyKey,
    requestId: parsed.data.requestId,
    signal: parsed.data.signal ?? new AbortController().signal,
    log,
    resources: options.resources,
  });
  return { context, logs };
}

/** What {@link runAction} returns: the checked outcome and the handler's (masked) log lines. */
export interface ActionRun<R> {
  readonly outcome: ActionOutcome<R>;
  readonly logs: readonly LoggedLine[];
}

/**
 * Runs `definition`'s action `type` on `payload` as the worker would: request schema and card
 * data check, handler, outcome check.
 *
 * @throws ProviderError `UNSUPPORTED_TYPE`, `INVALID_REQUEST` or `CARD_DATA_IN_TEXT` for the
 *   payload (the handler is not called); `INVALID_RESULT` when the handler's outcome breaks the
 *   result schema. A fault the handler throws is rethrown as it is.
 * @throws TestKitError `TEST_KIT_OPTIONS_INVALID` for wrong options.
 */
export async function runAction<P extends ProviderDefinition, T extends ActionTypes<P>>(
  definition: P,
  type: T,
  payload: unknown,
  options: TestContextOptions<unknown>,
): Promise<ActionRun<ResultOf<P, T>>> {
  const { context, logs } = testActionContext(options);
  const checked = validateRequest(definition, type, payload);
  // validateRequest threw UNSUPPORTED_TYPE for a type the table lacks: the action is there.
  const action = definition.actions[type] as Action;
  const outcome = validateResult(definition, type, await action.handler(checked, context));
  return { outcome, logs };
}
