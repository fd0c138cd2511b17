import type * as z from 'zod';
import { PaygateError } from '../errors.ts';
import { maskPan, shownIssue } from '../wire/index.ts';

/**
 * The SDK's typed errors. Each one tells the caller what happened to the money, so
 * the storefront can decide without guessing:
 *
 * | error | code | was it sent? | what to do |
 * | --- | --- | --- | --- |
 * | {@link ValidationError} | `VALIDATION_FAILED` | no | fix the input; retrying the same input fails again |
 * | {@link CardDataInTextError} (a `ValidationError`) | `CARD_DATA_IN_TEXT` | no | a card number in a field that is not a card field: remove it |
 * | {@link NotSentError} | `NOT_SENT` | no | safe to retry (same or new idempotency key) |
 * | {@link TimeoutError} | `TIMEOUT` | maybe | outcome unknown: retry with the same idempotency key, or ask `status` |
 * | {@link RemoteError} | `REMOTE_ERROR` | yes, answered | read `remoteCode`; retry (same key) only when `retryable` |
 * | {@link ReplyResultError} | `REPLY_RESULT_INVALID` | yes, answered | the gateway's result does not fit this SDK's plugin: align plugin versions |
 *
 * A reply that cannot be verified is not an error of the request: it is dropped (a
 * `reply-rejected` event) and the request keeps waiting for the genuine reply.
 *
 * Messages never contain card data: every message passes through `maskPan`, and validation
 * errors carry paths, never values.
 */
export const CLIENT_ERROR_CODES = [
  'VALIDATION_FAILED', 'CARD_DATA_IN_TEXT', 'NOT_SENT', 'TIMEOUT', 'REMOTE_ERROR', 'REPLY_RESULT_INVALID',
] as const;

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

/** The issues of a zod error as masked paths and problems (never values; received keys only when plain). */
export function issuesFromZod(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): ValidationIssue[] {
  return error.issues.map((issue) => Object.freeze(shownIssue(issue, prefix, '(root)')));
}

/**
 * The input (a request payload, or the gateway's options) does not match its schema. Nothing was
 * sent and no money moved.
 *
 * What to do: fix the input at the paths listed in `issues`; sending the same input again fails
 * the same way. `issues` name paths and problems, never the values (a card number stays out).
 */
export class ValidationError extends GatewayError {
  declare readonly code: 'VALIDATION_FAILED' | 'CARD_DATA_IN_TEXT';
  /** Whether the request reached the broker: never. */
  readonly sent = false;
  readonly issues: readonly ValidationIssue[];

  /** @param options.code for subclasses only: `VALIDATION_FAILED` unless said otherwise. */
  constructor(
    what: string,
    issues: readonly ValidationIssue[],
    options?: { cause?: unknown; code?: 'VALIDATION_FAILED' | 'CARD_DATA_IN_TEXT' },
  ) {
    const listed = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    const { code = 'VALIDATION_FAILED', ...rest } = options ?? {};
    super(code, `invalid ${what}${listed === '' ? '' : `: ${listed}`}`, rest);
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ path: maskPan(i.path), message: maskPan(i.message) })));
  }

  /** A ValidationError from a zod error; the zod error is not kept as `cause` (its issues may hold input values). */
  static fromZod(what: string, error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): ValidationError {
    return new ValidationError(what, issuesFromZod(error, prefix));
  }
}

/**
 * A card number in a field that is not a card field: the idempotency key, an order id, an
 * invoice, a holder name, a description. Refused before anything is sent: the value would
 * otherwise travel and be stored as ordinary text (the worker refuses it too). `field` names
 * the place (`idempotency_key`, `order_id`, `card.holder`), never the value.
 *
 * What to do: put card numbers only in the card fields (`card.number`); a reference that is a
 * long plain number should carry a letter or another separator (docs/errors.md).
 */
export class CardDataInTextError extends ValidationError {
  declare readonly code: 'CARD_DATA_IN_TEXT';
  /** Where the card number was found: a document field (`idempotency_key`) or a payload path (`order_id`). */
  readonly field: string;

  constructor(what: string, field: string) {
    const message = "holds a card number: card numbers belong only in the payload's card fields";
    super(what, [{ path: field, message }], { code: 'CARD_DATA_IN_TEXT' });
    this.field = maskPan(field);
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
  /**
   * Replies that came for this request while it waited and were dropped because they failed
   * verification (see the gateway's `reply-rejected` event). Not zero on a timeout: the
   * genuine reply may have been among them (a gateway certificate or role not configured) or
   * someone is sending forged replies.
   */
  readonly rejectedReplies: number;

  constructor(
    details: { reason: TimeoutReason; requestId: string; idempotencyKey: string; timeoutMs?: number; rejectedReplies?: number },
    options?: { cause?: unknown },
  ) {
    const why = details.reason === 'timeout' ? `no reply within ${details.timeoutMs ?? '?'} ms` : TIMEOUT_WHY[details.reason];
    const rejected = details.rejectedReplies ?? 0;
    const dropped = rejected === 0 ? '' : ` (${rejected} ${rejected === 1 ? 'reply' : 'replies'} failed verification and were dropped)`;
    super(
      'TIMEOUT',
      `request ${details.requestId}: ${why}${dropped}; outcome unknown (retry with idempotency key ${details.idempotencyKey} or ask status)`,
      options,
    );
    this.reason = details.reason;
    this.requestId = maskPan(details.requestId);
    this.idempotencyKey = maskPan(details.idempotencyKey);
    this.rejectedReplies = rejected;
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
 * The configured gateway answered this request (the reply verified: decrypted, signed by a
 * configured gateway certificate with the gateway role, for this very request), but its result
 * does not match the action's result schema of this SDK's plugin, or an `approved` reply has no
 * result. The plugin versions of the SDK and of the workers differ. The reply is genuine, so
 * the money moved as `replyStatus` says, but there is no typed result to give.
 *
 * What to do: align the plugin versions of the storefront and the workers. Do not retry with a
 * new idempotency key; a retry with the same key gets the same stored reply. `issues` name the
 * result's paths and problems, never values.
 */
export class ReplyResultError extends GatewayError {
  declare readonly code: 'REPLY_RESULT_INVALID';
  /** The verified reply's status, e.g. `approved`. */
  readonly replyStatus: string;
  readonly requestId: string;
  readonly idempotencyKey: string;
  readonly issues: readonly ValidationIssue[];

  constructor(details: { replyStatus: string; requestId: string; idempotencyKey: string; issues: readonly ValidationIssue[] }) {
    const listed = details.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    super(
      'REPLY_RESULT_INVALID',
      `request ${details.requestId} was answered ${details.replyStatus}, but the result does not fit this SDK's plugin: ${listed}`,
    );
    this.replyStatus = maskPan(details.replyStatus);
    this.requestId = maskPan(details.requestId);
    this.idempotencyKey = maskPan(details.idempotencyKey);
    this.issues = Object.freeze(details.issues.map((i) => Object.freeze({ path: maskPan(i.path), message: maskPan(i.message) })));
  }
}
