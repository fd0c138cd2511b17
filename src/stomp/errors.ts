import { PaygateError } from '../errors.ts';

/**
 * Stable codes of every failure of the STOMP connection layer. A code never changes meaning
 * once released; docs/stomp.md documents each one.
 */
export const STOMP_ERROR_CODES = [
  /** No node of the list accepted a connection (TCP, TLS or STOMP CONNECT) within the attempts allowed. */
  'STOMP_CANNOT_CONNECT',
  /** The socket failed while connected (reset, EPIPE, TLS failure). */
  'STOMP_IO',
  /** The broker closed the connection without an ERROR frame. */
  'STOMP_CLOSED_BY_PEER',
  /** We closed the connection (`close()`), so the operation cannot complete. */
  'STOMP_CLOSED_BY_US',
  /** The broker answered with an ERROR frame (bad login, refused destination, unknown ack id, …). */
  'STOMP_OPERATION_FAILED',
  /** The broker sent bytes that are not valid STOMP, or a frame we did not expect. */
  'STOMP_UNEXPECTED_DATA',
  /** No byte (not even a heart-beat) arrived within the negotiated heart-beat window: the peer is dead. */
  'STOMP_READ_TIMEOUT',
  /** A receipt (or a reply) did not arrive within its timeout; the outcome is unknown. */
  'STOMP_TIMEOUT',
  /** Too many sends are waiting for a connection; this one was refused rather than dropped. */
  'STOMP_QUEUE_FULL',
  /** The message was received on a connection that has since been lost; the broker will redeliver it. */
  'STOMP_STALE_MESSAGE',
  /** The options object does not validate (the message names the paths). */
  'STOMP_BAD_OPTIONS',
] as const;

/** One of {@link STOMP_ERROR_CODES}. */
export type StompErrorCode = (typeof STOMP_ERROR_CODES)[number];

/** Where a STOMP failure happened, when it is known. */
export interface StompErrorDetails {
  /** `host:port` of the node concerned. */
  readonly node?: string;
  /** The ERROR frame's `message` header and body, for `STOMP_OPERATION_FAILED`. */
  readonly frame?: { readonly message: string; readonly body: string };
  readonly cause?: unknown;
}

/**
 * A failure of the STOMP connection layer. Switch on {@link StompError.code}; the message is for
 * people and never quotes a message body.
 */
export class StompError extends PaygateError {
  declare readonly code: StompErrorCode;
  /** `host:port` of the node concerned, when one is. */
  readonly node: string | undefined;
  /** The broker's ERROR frame, for `STOMP_OPERATION_FAILED`. */
  readonly frame: { readonly message: string; readonly body: string } | undefined;

  constructor(code: StompErrorCode, message: string, details: StompErrorDetails = {}) {
    super(code, details.node === undefined ? message : `${details.node}: ${message}`, { cause: details.cause });
    this.node = details.node;
    this.frame = details.frame;
  }
}

/** True when `err` is a {@link StompError}, optionally with one of the given codes. */
export function isStompError(err: unknown, ...codes: StompErrorCode[]): err is StompError {
  return err instanceof StompError && (codes.length === 0 || codes.includes(err.code));
}
