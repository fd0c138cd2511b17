import type { ActionTypes, ProviderDefinition, RequestOf, ResultOf } from '../providers/index.ts';
import type { StompError } from '../stomp/index.ts';
import type { Certificate, ReplyStatus } from '../wire/index.ts';

/**
 * The SDK's public types: how `request()` is typed from the provider plugins a gateway was made
 * with, what it resolves with, and the gateway's events.
 */

/** The provider names of a gateway made with providers `P`. */
export type ProviderName<P extends readonly ProviderDefinition[]> = P[number]['name'];

/** The provider definition of `P` named `N`. */
export type ProviderNamed<P extends readonly ProviderDefinition[], N extends ProviderName<P>> = Extract<P[number], { readonly name: N }>;

/** The request types of provider `N` of `P`. */
export type TypeOf<P extends readonly ProviderDefinition[], N extends ProviderName<P>> = ActionTypes<ProviderNamed<P, N>>;

/** What a caller writes as the payload of `N`'s request type `T`. */
export type PayloadFor<P extends readonly ProviderDefinition[], N extends ProviderName<P>, T extends TypeOf<P, N>> = RequestOf<
  ProviderNamed<P, N>,
  T
>;

/** What a caller gets as the result of `N`'s request type `T`. */
export type ResultFor<P extends readonly ProviderDefinition[], N extends ProviderName<P>, T extends TypeOf<P, N>> = ResultOf<
  ProviderNamed<P, N>,
  T
>;

/** Per-call options of `request()` and `ping()`. */
export interface RequestOptions {
  /**
   * Stable per logical operation (e.g. `ord-1001-auth`): a retry with the same key is answered
   * from the worker's store instead of charging twice. Defaults to the request's `id`, i.e. a
   * new operation. 1–128 printable ASCII characters.
   */
  readonly idempotencyKey?: string;
  /** How long to wait for the reply (ms); also the request's `expires_at`. Default: the gateway's `defaultTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Stops waiting: before sending → `NotSentError` `aborted`; after → `TimeoutError` `aborted` (outcome unknown). */
  readonly signal?: AbortSignal;
}

/** The reply's `error`: why a request was declined (or is pending); a stable code, a message, retry advice. */
export interface ReplyErrorInfo {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** What every verified reply carries besides its outcome. */
export interface ReplyMeta {
  /** The request document's `id` (also the frame's `correlation-id`). */
  readonly requestId: string;
  /** The idempotency key the request was sent with: the key to retry with. */
  readonly idempotencyKey: string;
  /** The reply document's own `id`. */
  readonly replyId: string;
  /** The gateway certificate that signed the reply (one of the configured `gatewayCertificates`, with the gateway role). */
  readonly signer: Certificate;
}

/** A reply status other than `error` (error replies reject with `RemoteError`). */
export type OutcomeReplyStatus = Exclude<ReplyStatus, 'error'>;

/**
 * A verified reply: signed by a configured gateway certificate with the gateway role, answering this very request,
 * its `result` checked by the action's result schema. Declines resolve (they are outcomes, not
 * exceptions); only `approved` is guaranteed a result.
 */
export type GatewayReply<R> = ReplyMeta &
  (
    | { readonly status: 'approved'; readonly result: R; readonly error?: ReplyErrorInfo }
    | { readonly status: Exclude<OutcomeReplyStatus, 'approved'>; readonly result?: R; readonly error?: ReplyErrorInfo }
  );

/**
 * The result of the built-in `ping`: what the worker reports about itself, e.g.
 * `{provider: 'card', version: '1.2.0', worker: 'host-1/4711'}`. Loose on purpose (any string
 * fields), so that a worker may report more without breaking older SDKs.
 */
export type PingResult = Readonly<Record<string, string>>;

/** The `late-reply` event: a reply whose request nobody waits for any more. */
export interface LateReplyEvent {
  /** The frame's `correlation-id` (`''` when it had none): the request id of a timed-out request. */
  readonly correlationId: string;
  /**
   * True when the id was one of ours that timed out, was aborted or was given up at close (and is
   * still remembered); false for an id never seen (or forgotten). The reply is not opened: to
   * learn the outcome, retry with the same idempotency key or ask `status`.
   */
  readonly expired: boolean;
}

/**
 * The `reply-rejected` event: a message came on our reply queue for a request that is waiting,
 * but it failed verification, so it was dropped and the request keeps waiting for its genuine
 * reply. Nothing of its content is given (it is not believed).
 */
export interface ReplyRejectedEvent {
  /** The request id the message claimed to answer (its `correlation-id`; one of ours, still waiting). */
  readonly correlationId: string;
  /**
   * Why it was dropped: a wire code of opening or decoding it (`NOT_A_RECIPIENT`,
   * `DECRYPT_FAILED`, `BAD_SIGNATURE`, `UNSIGNED`, `UNTRUSTED_SIGNER`, `CERT_EXPIRED`,
   * `MALFORMED_MIME`, `MALFORMED_CMS`, `NOT_ENCRYPTED`, `SCHEMA_INVALID`, …), `WRONG_SIGNER_ROLE`
   * (the signer lacks the gateway role), `UNTRUSTED_SIGNER` (also: a trusted signer that is not a
   * configured gateway certificate), `MISMATCHED_REPLY` (a reply to another request), or
   * `UNKNOWN`.
   */
  readonly code: string;
}

/** Counters of one gateway since it was made (`gateway.stats()`): what a storefront exports as metrics. */
export interface GatewayStats {
  /** Requests waiting for their reply now. */
  readonly inFlight: number;
  /** Replies dropped because they failed verification (each one a `reply-rejected` event). */
  readonly rejectedReplies: number;
  /** {@link rejectedReplies} by the event's `code`. */
  readonly rejectedRepliesByCode: Readonly<Record<string, number>>;
  /** Replies for requests nobody waits for any more (each one a `late-reply` event). */
  readonly lateReplies: number;
}

/** The gateway's events. */
export interface GatewayEvents {
  /** A reply came for a request nobody waits for any more; it was delivered to no caller. */
  'late-reply': [LateReplyEvent];
  /**
   * A reply for a waiting request failed verification and was dropped; the request keeps
   * waiting. Occasional ones mean someone sends forged replies to our queue; all replies
   * rejected (requests time out) mean a gateway certificate, CA or role is not configured.
   */
  'reply-rejected': [ReplyRejectedEvent];
  /** The broker connection dropped; `failedRequests` requests in flight were failed with `TimeoutError` `connection-lost`. */
  'connection-lost': [{ readonly node: string; readonly error: StompError; readonly failedRequests: number }];
  /** A new broker connection is up after a loss (with a new reply queue); requests flow again. */
  reconnected: [{ readonly node: string }];
  /**
   * A failure no request call can report: the connection gave up reconnecting (later requests
   * fail with `NotSentError` `unreachable`), or a `late-reply` listener threw. Emitted only while
   * someone listens, so an unobserved gateway never crashes the process.
   */
  error: [Error];
}
