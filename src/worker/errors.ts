import { PaygateError } from '../errors.ts';

/**
 * Stable codes of the worker's failures. Some are raised inside the worker (the idempotency
 * store), the others are the codes the worker puts in an error reply; a code never
 * changes meaning once released.
 */
export const WORKER_ERROR_CODES = [
  /** The same (provider, idempotency key) arrived with a different payload: refused, the provider is not called. */
  'IDEMPOTENCY_CONFLICT',
  /** The request was in progress when a worker died and no `status` action could settle it: it may or may not have been charged. */
  'OUTCOME_UNKNOWN',
  /** `complete` or `abandon` found no in-progress entry for the key it was given (never begun, abandoned, or purged). */
  'IDEMPOTENCY_NOT_HELD',
  /**
   * Retired: no longer produced. A request id seen again now gets the answer first given to it
   * (docs/idempotency.md, "Replays"); the code stays reserved so it never takes another meaning.
   */
  'REPLAYED_REQUEST',
  /** The idempotency store's options do not validate (the message names the paths). */
  'STORE_BAD_OPTIONS',
  /** The idempotency store could not be opened, read or written (disk, lock timeout, closed store); retryable. */
  'STORE_FAILED',
  /**
   * At start: the idempotency store fails its integrity check (`PRAGMA quick_check`) or is not a
   * database at all. Restore it from a backup; the worker does not start on it.
   */
  'STORE_CORRUPT',
  /**
   * At start: the idempotency store is missing or empty although its marker file says it was
   * created: restore it, or delete the marker to start afresh on purpose (docs/idempotency.md).
   */
  'STORE_MISSING',
  /** At start: the idempotency store was written by a newer paygate (its schema version is higher). */
  'STORE_SCHEMA_UNSUPPORTED',
  /** At start with migrate: false: the PostgreSQL store's schema is older than this paygate's (run paygate db migrate). */
  'STORE_SCHEMA_OUTDATED',
  /** The PostgreSQL store: this host's clock is further from the database's than the lease tolerates (`maxClockSkewMs`): synchronise it (NTP). */
  'STORE_CLOCK_SKEW',
  /**
   * The request expired before the worker could act on it: its `expires` frame header is past
   * (the message is dead-lettered, it is unreadable to the broker anyway) or its `expires_at` is
   * (an error reply). The provider is not called.
   */
  'REQUEST_EXPIRED',
  /** The request's `sent_at` is further from the worker's clock than the freshness window (either direction): refused. */
  'STALE_REQUEST',
  /** A request frame without a `reply-to` header: it cannot be answered, so it is dead-lettered. */
  'NO_REPLY_TO',
  /**
   * A dead-letter reason: the request's `reply-to` is not a reply queue of the broker (nor matches
   * the configured `reply_to_pattern`); nothing is sent there.
   */
  'BAD_REPLY_TO',
  /**
   * A dead-letter reason: the reply to this request could not be sent `maxReplyAttempts` times
   * (the broker refused the destination, or it stayed unreachable); the answer stays recorded.
   */
  'REPLY_UNDELIVERABLE',
  /**
   * A dead-letter reason: the request was answered, but its events (audit record, payment event)
   * could not be sent to the events queue `maxReplyAttempts` times (at once on a broker that never
   * redelivers a NACKed message), or did not validate; the answer stays recorded, and a re-drive
   * from the DLQ is answered from the store and sends them. Also the code of that failure.
   */
  'EVENTS_UNDELIVERABLE',
  /**
   * A reply code: the handler said the provider was never called (`notSent: true`, e.g.
   * `providerNotCalled()` when a breaker is open), so the idempotency key was freed; retryable.
   */
  'PROVIDER_NOT_CALLED',
  /** The options given to `Worker.start` do not validate (the message names the paths). */
  'WORKER_BAD_OPTIONS',
] as const;

/** One of {@link WORKER_ERROR_CODES}. */
export type WorkerErrorCode = (typeof WORKER_ERROR_CODES)[number];

/** A typed failure of the worker. Switch on {@link WorkerError.code}; messages never quote payloads. */
export class WorkerError extends PaygateError {
  declare readonly code: WorkerErrorCode;

  constructor(code: WorkerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
