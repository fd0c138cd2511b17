/**
 * The events a {@link Worker} emits. None carries card data: codes, names, and messages that
 * passed `maskPan`. None is required: an `error` without a listener is dropped, not thrown
 * (the worker never crashes its process).
 */
import type { ReplyStatus } from '../wire/index.ts';

/** A request was answered and ACKed. */
export interface ProcessedEvent {
  readonly provider: string;
  readonly type: string;
  readonly status: ReplyStatus;
  /** The reply's error code, when it has one (e.g. `CARD_DECLINED`, `STALE_REQUEST`). */
  readonly code?: string;
  /** From the message's arrival to its ACK, in milliseconds (tenths). */
  readonly durationMs: number;
  /** The reply was the one stored for this idempotency key (the plugin was not called). */
  readonly replayedFromStore: boolean;
}

/** A message that cannot be answered was moved to the provider's dead-letter queue and ACKed. */
export interface DeadLetterEvent {
  readonly provider: string;
  /** The `paygate-dlq-reason` header: a wire code (`BAD_SIGNATURE`, …), `REQUEST_EXPIRED`, `NO_REPLY_TO`, `BAD_REPLY_TO`, `REPLY_UNDELIVERABLE` or `EVENTS_UNDELIVERABLE`. */
  readonly reason: string;
}

/** A plugin's handler or `status` hook threw (the request is answered `unknown` or with a retryable error). */
export interface HandlerErrorEvent {
  readonly provider: string;
  readonly type: string;
  /** `handler` or `status`. */
  readonly hook: 'handler' | 'status';
  /** The error's `code` when it has one, else its class name. */
  readonly code: string;
  /** The error's message, card numbers masked. */
  readonly message: string;
}

/** The worker could not finish with a message or a resource (store, broker); it carries on. */
export interface WorkerErrorEvent {
  /** Which step failed, e.g. `store`, `reply`, `events` (the audit record's SEND), `ack`, `dead-letter`, `connection` (consuming), `publisher` (publishing connection). */
  readonly stage: string;
  readonly provider?: string;
  /** The error's `code` when it has one, else its class name. */
  readonly code: string;
  /** The error's message, card numbers masked. */
  readonly message: string;
  /** Whether the message was handed back to the broker for redelivery (NACK or not ACKed). */
  readonly requeued: boolean;
}

/** The worker's events, typed for `EventEmitter<WorkerEvents>`. */
export interface WorkerEvents {
  processed: [ProcessedEvent];
  'dead-letter': [DeadLetterEvent];
  'handler-error': [HandlerErrorEvent];
  error: [WorkerErrorEvent];
}
