import { PaygateError } from '../errors.ts';

/**
 * How a call to a provider failed, in the terms the money needs: did the request
 * provably never leave (`notSent: true`: safe to retry, the idempotency entry can be abandoned),
 * or may the provider have acted on it (`notSent: false`: the outcome is unknown until
 * reconciled through the plugin's `status`; never retried blindly)?
 *
 * Transports (`src/providers/transports`) raise these; the breaker registry counts every one of
 * them as a failure (a decline is an answer, never a TransportError); the worker maps them to
 * replies (docs/errors.md). Messages name the endpoint's host and what went wrong, never a request
 * or response body (they may hold card data or credentials).
 */
export const TRANSPORT_ERROR_CODES = [
  /**
   * The provider could not be reached, provably before anything was sent: connection refused or
   * reset before the request was written, DNS failure, TLS handshake failure, the breaker is open,
   * or the bulkhead is full. `notSent: true`; retryable.
   */
  'PROVIDER_UNAVAILABLE',
  /** No complete answer within the call's timeout after the request was (or may have been) sent. `notSent: false`. */
  'PROVIDER_TIMEOUT',
  /**
   * The provider answered with something that cannot be read: not the expected format (HTML error
   * page, non-XML, malformed SOAP fault), truncated, over the size limit, or refused by the
   * parser's safety rules (DOCTYPE/entities, an XML bomb). `notSent: false`.
   */
  'PROVIDER_BAD_RESPONSE',
  /** The provider answered with an HTTP error status (`status` says which). `notSent: false`. */
  'PROVIDER_HTTP_ERROR',
] as const;

/** One of {@link TRANSPORT_ERROR_CODES}. */
export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[number];

/** A failed provider call. Switch on `code`; `notSent` says whether a retry is safe. */
export class TransportError extends PaygateError {
  declare readonly code: TransportErrorCode;
  /** True only when the request provably never reached the provider. */
  readonly notSent: boolean;
  /** The HTTP status, for `PROVIDER_HTTP_ERROR` (and a bad response that came with one). */
  readonly status: number | undefined;

  constructor(code: TransportErrorCode, message: string, options: { notSent?: boolean; status?: number; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.notSent = code === 'PROVIDER_UNAVAILABLE' ? (options.notSent ?? true) : false;
    this.status = options.status;
  }
}

/** Whether `error` is a {@link TransportError}. */
export const isTransportError = (error: unknown): error is TransportError => error instanceof TransportError;
