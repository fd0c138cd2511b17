import { PaygateError } from '../errors.ts';

/**
 * Stable codes of the provider plugin contract. Documented one by one in
 * docs/errors.md; a code never changes meaning once released. `UNSUPPORTED_TYPE`,
 * `INVALID_REQUEST` and `CARD_DATA_IN_TEXT` are also the codes of the worker's error replies for
 * those cases (`CARD_DATA_IN_TEXT` is the wire's code of the same name, for the payload).
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
  /** A request payload holds a card number outside its card fields (an order id, a description); the message names the field, never the value. */
  'CARD_DATA_IN_TEXT',
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
  /** The schema problems behind `INVALID_REQUEST` / `INVALID_RESULT`, the field behind `CARD_DATA_IN_TEXT` (empty for the other codes). */
  readonly issues: readonly SchemaIssue[];

  constructor(code: ProviderErrorCode, message: string, options?: { cause?: unknown; issues?: readonly SchemaIssue[] }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.issues = Object.freeze([...(options?.issues ?? [])]);
  }
}

/**
 * What a handler throws when the provider was provably never called (breaker open, connection
 * refused before anything was sent), so nothing can have been charged. The worker then forgets
 * the idempotency entry and answers with the retryable `PROVIDER_NOT_CALLED`, so a retry with
 * the same key proceeds. Any other exception from a handler is read as "the provider may have
 * been charged" (the answer is `unknown` until reconciled).
 *
 * The marker is the `notSent: true` property, not the class: a transport library may set it on
 * its own errors without depending on paygate ({@link isNotSent} checks the property).
 */
export class ProviderNotCalledError extends Error {
  readonly notSent = true as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderNotCalledError';
  }
}

/** Shorthand for `new ProviderNotCalledError(message)`. */
export function providerNotCalled(message: string, options?: { cause?: unknown }): ProviderNotCalledError {
  return new ProviderNotCalledError(message, options);
}

/** Whether a handler's exception says the provider was never called: any error object with `notSent === true`. */
export function isNotSent(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { notSent?: unknown }).notSent === true;
}
