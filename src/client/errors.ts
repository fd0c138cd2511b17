import type * as z from 'zod';
import { PaygateError } from '../errors.ts';
import { maskPan } from '../wire/index.ts';

/**
 * The SDK's typed errors (issue 4). Each one tells the caller what happened to the money, so
 * the storefront can decide without guessing:
 *
 * | error | code | was it sent? | what to do |
 * | --- | --- | --- | --- |
 * | {@link ValidationError} | `VALIDATION_FAILED` | no | fix the input; retrying the same input fails again |
 * | {@link NotSentError} | `NOT_SENT` | no | safe to retry (same or new idempotency key) |
 * | {@link TimeoutError} | `TIMEOUT` | maybe | outcome unknown: retry with the same idempotency key, or ask `status` |
 * | {@link RemoteError} | `REMOTE_ERROR` | yes, answered | read `remoteCode`; retry (same key) only when `retryable` |
 * | {@link ReplyVerificationError} | `REPLY_UNVERIFIED` | yes | outcome unknown: treat as {@link TimeoutError} |
 *
 * Messages never contain card data: every message passes through `maskPan`, and validation
 * errors carry paths, never values.
 */
export const CLIENT_ERROR_CODES = ['VALIDATION_FAILED', 'NOT_SENT', 'TIMEOUT', 'REMOTE_ERROR', 'REPLY_UNVERIFIED'] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** One failing place of an input: a dotted path (`card.number`, `(root)` for the whole) and the problem. Never the value. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** The common base of every error the gateway (the SDK) raises: `catch (e) { if (e instanceof GatewayError) … }`. */
export class GatewayError extends PaygateError {
  declare readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, maskPan(message), options);
  }
}

/** The issues of a zod error as masked paths and problems (never values). */
export function issuesFromZod(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): ValidationIssue[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    return Object.freeze({
      path: maskPan(path.length === 0 ? '(root)' : path.map(String).join('.')),
      message: maskPan(issue.message),
    });
  });
}

/**
 * The input (a request payload, or the gateway's options) does not match its schema. Nothing was
 * sent and no money moved.
 *
 * What to do: fix the input at the paths listed in `issues`; sending the same input again fails
 * the same way. `issues` name paths and problems, never the values (a card number stays out).
 */
export class ValidationError extends GatewayError {
  declare readonly code: 'VALIDATION_FAILED';
  /** Whether the request reached the broker: never. */
  readonly sent = false;
  readonly issues: readonly ValidationIssue[];

  constructor(what: string, issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    const listed = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    super('VALIDATION_FAILED', `invalid ${what}${listed === '' ? '' : `: ${listed}`}`, options);
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ path: maskPan(i.path), message: maskPan(i.message) })));
  }

  /** A ValidationError from a zod error; the zod error is not kept as `cause` (its issues may hold input values). */
  static fromZod(what: string, error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): ValidationError {
    return new ValidationError(what, issuesFromZod(error, prefix));
  }
}

/** Why a request was not sent. */
export type NotSentReason = 'unreachable' | 'closed' | 'overloaded' | 'aborted' | 'duplicate';

/**
 * The request never left this process: the broker was unreachable (or refused it without a
 * receipt), the gateway is closed, too many requests are in flight, or the caller aborted before
 * sending. No money moved.
 *
 * What to do: safe to retry, with the same idempotency key or a new one; after `closed`, create a
 * new gateway first; after `overloaded`, wait for in-flight requests to finish.
 */
export class NotSentError extends GatewayError {
  declare readonly code: 'NOT_SENT';
  /** Whether the request reached the broker: never. */
  readonly sent = false;
  readonly reason: NotSentReason;

  constructor(reason: NotSentReason, message: string, options?: { cause?: unknown }) {
    super('NOT_SENT', message, options);
    this.reason = reason;
  }
}

/**
 * Why the wait for a reply ended without one:
 * - `timeout`: no reply within the request's timeout;
 * - `aborted`: the caller's AbortSignal fired after the request was (being) sent;
 * - `closed`: `close()`'s deadline passed with the request still in flight;
 * - `unconfirmed`: the frame was written but the broker did not confirm it (no RECEIPT in time,
 *   or an ERROR frame): it may have been queued;
 * - `connection-lost`: the broker connection dropped while the request was in flight; its reply
 *   queue died with the connection, so no reply can come any more.
 */
export type TimeoutReason = 'timeout' | 'aborted' | 'closed' | 'unconfirmed' | 'connection-lost';

const TIMEOUT_WHY: Readonly<Record<Exclude<TimeoutReason, 'timeout'>, string>> = {
  aborted: 'aborted while waiting for the reply',
  closed: 'the gateway closed before the reply came',
  unconfirmed: 'the broker did not confirm the request',
  'connection-lost': 'the broker connection was lost before the reply came',
};

/**
 * No reply came in time (or, while the request was in flight, the caller aborted, the gateway
 * closed, the broker did not confirm it or the connection was lost: see {@link TimeoutReason}).
 * The request may have reached the worker and may have been charged: `outcome` is `'unknown'`.
 *
 * What to do: never retry with a new idempotency key. Retry with the same `idempotencyKey` (the
 * worker answers a repeat from its store, without charging twice), or ask the provider's `status`
 * action. A reply that arrives later is reported as a `late-reply` event, never delivered.
 */
export class TimeoutError extends GatewayError {
  declare readonly code: 'TIMEOUT';
  readonly outcome = 'unknown' as const;
  readonly reason: TimeoutReason;
  /** The request document's `id`. */
  readonly requestId: string;
  /** The idempotency key to retry with. */
  readonly idempotencyKey: string;

  constructor(
    details: { reason: TimeoutReason; requestId: string; idempotencyKey: string; timeoutMs?: number },
    options?: { cause?: unknown },
  ) {
    const why = details.reason === 'timeout' ? `no reply within ${details.timeoutMs ?? '?'} ms` : TIMEOUT_WHY[details.reason];
    super(
      'TIMEOUT',
      `request ${details.requestId}: ${why}; outcome unknown (retry with idempotency key ${details.idempotencyKey} or ask status)`,
      options,
    );
    this.reason = details.reason;
    this.requestId = maskPan(details.requestId);
    this.idempotencyKey = maskPan(details.idempotencyKey);
  }
}

/**
 * The worker answered with `status: error`: the request was received but failed (an invalid
 * request, an unsupported type, an idempotency conflict, a provider fault…). `remoteCode` is the
 * reply's `error.code` (see docs/errors.md).
 *
 * What to do: when `retryable` is true, retry later with the same idempotency key; otherwise fix
 * the cause named by `remoteCode`. `OUTCOME_UNKNOWN` means what {@link TimeoutError} means.
 */
export class RemoteError extends GatewayError {
  declare readonly code: 'REMOTE_ERROR';
  /** The reply's `error.code`, e.g. `INVALID_REQUEST`. */
  readonly remoteCode: string;
  /** The reply's `error.retryable`. */
  readonly retryable: boolean;
  readonly requestId: string;

  constructor(details: { remoteCode: string; message: string; retryable: boolean; requestId: string }) {
    super('REMOTE_ERROR', `request ${details.requestId} failed remotely: ${details.remoteCode}: ${details.message}`);
    this.remoteCode = maskPan(details.remoteCode);
    this.retryable = details.retryable;
    this.requestId = maskPan(details.requestId);
  }
}

/**
 * A reply came for this request but could not be opened or verified (not encrypted to us, a bad
 * or missing signature, not signed by a configured gateway certificate, a malformed document).
 * It is not trusted, so its content is ignored: the request's outcome is unknown.
 *
 * What to do: as for {@link TimeoutError}, retry with the same idempotency key or ask `status`;
 * and alert: a misconfigured gateway certificate or tampering on the broker are likely causes.
 * `wireCode` is the wire layer's code (e.g. `BAD_SIGNATURE`, `UNTRUSTED_SIGNER`).
 */
export class ReplyVerificationError extends GatewayError {
  declare readonly code: 'REPLY_UNVERIFIED';
  readonly outcome = 'unknown' as const;
  /** The wire error's code, or `UNKNOWN` when the failure was not a wire error. */
  readonly wireCode: string;
  readonly requestId: string;
  readonly idempotencyKey: string;

  constructor(
    details: { wireCode: string; requestId: string; idempotencyKey: string; detail?: string },
    options?: { cause?: unknown },
  ) {
    const detail = details.detail === undefined ? '' : ` (${details.detail})`;
    super('REPLY_UNVERIFIED', `reply to request ${details.requestId} rejected: ${details.wireCode}${detail}; outcome unknown`, options);
    this.wireCode = maskPan(details.wireCode);
    this.requestId = maskPan(details.requestId);
    this.idempotencyKey = maskPan(details.idempotencyKey);
  }

  /** Wraps whatever `open()` or the reply parser threw; a `PaygateError`'s code becomes `wireCode`. */
  static wrap(error: unknown, request: { requestId: string; idempotencyKey: string }): ReplyVerificationError {
    const wireCode = error instanceof PaygateError ? error.code : 'UNKNOWN';
    const detail = error instanceof Error ? error.message : undefined;
    return new ReplyVerificationError({ wireCode, ...request, ...(detail === undefined ? {} : { detail }) }, { cause: error });
  }
}
