import { PaygateError } from '../errors.ts';

/**
 * Stable codes of the provider plugin contract (DESIGN §5). Documented one by one in
 * docs/errors.md; a code never changes meaning once released. `UNSUPPORTED_TYPE` and
 * `INVALID_REQUEST` are also the codes of the worker's error replies for those cases.
 */
export const PROVIDER_ERROR_CODES = [
  /** A plugin definition given to `defineProvider` breaks the contract (name, version, an action, `scrub`, the reserved `ping`). */
  'PROVIDER_INVALID',
  /** The provider has no action of the requested type (known before any call). */
  'UNSUPPORTED_TYPE',
  /** A request payload does not match the action's request schema; the message names paths and problems, never values. */
  'INVALID_REQUEST',
  /** An action's outcome (status, error or result) does not match the contract or the action's result schema. */
  'INVALID_RESULT',
  /** A plugin module named in the configuration cannot be imported (missing file, syntax error, a throwing top level). */
  'PROVIDER_LOAD_FAILED',
  /**
   * Thrown by a handler when the provider was provably never called (breaker open, connection
   * refused before anything was sent): the worker forgets the idempotency entry and answers with
   * a retryable error, so a retry with the same key proceeds. See {@link providerNotCalled}.
   */
  'PROVIDER_NOT_CALLED',
] as const;

export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

/** One schema problem: a dotted path (`card.number`, `(payload)` for the root) and what is wrong. */
export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A refusal by the provider contract: a bad plugin, an unsupported type, a payload or an outcome
 * that does not fit its schema. Messages and issues never contain input values (card numbers
 * included): they name paths and expectations only, and pass through `maskPan` besides.
 */
export class ProviderError extends PaygateError {
  declare readonly code: ProviderErrorCode;
  /** The schema problems behind `INVALID_REQUEST` / `INVALID_RESULT` (empty for the other codes). */
  readonly issues: readonly SchemaIssue[];

  constructor(code: ProviderErrorCode, message: string, options?: { cause?: unknown; issues?: readonly SchemaIssue[] }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.issues = Object.freeze([...(options?.issues ?? [])]);
  }
}

/**
 * The error a handler throws when the provider was provably never called, so that nothing can
 * have been charged: `ProviderError('PROVIDER_NOT_CALLED')`, which {@link isNotSent} recognises.
 * Any other exception from a handler is read as "the provider may have been charged".
 */
export function providerNotCalled(message: string, options?: { cause?: unknown }): ProviderError {
  return new ProviderError('PROVIDER_NOT_CALLED', message, options);
}

/**
 * Whether a handler's exception says the provider was never called: a `PROVIDER_NOT_CALLED`
 * ProviderError, or any error object with `notSent === true` (the marker a transport library may
 * set without depending on paygate).
 */
export function isNotSent(error: unknown): boolean {
  if (error instanceof ProviderError && error.code === 'PROVIDER_NOT_CALLED') return true;
  return typeof error === 'object' && error !== null && (error as { notSent?: unknown }).notSent === true;
}
