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
  /** The gateway certificate that signed the reply (one of the configured `gatewayCertificates`). */
  readonly signer: Certificate;
}

/** A reply status other than `error` (error replies reject with `RemoteError`). */
export type OutcomeReplyStatus = Exclude<ReplyStatus, 'error'>;

/**
 * A verified reply: signed by a configured gateway certificate, answering this very request,
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

/** The gateway's events. */
export interface GatewayEvents {
  /** A reply came for a request nobody waits for any more; it was delivered to no caller. */
  'late-reply': [LateReplyEvent];
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
