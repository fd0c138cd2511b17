import { isStompError, type StompErrorCode } from '../stomp/index.ts';
import { NotSentError, TimeoutError, type GatewayError } from './errors.ts';

/**
 * What a failed SEND means for the money. The STOMP layer rejects a send with a typed error; the
 * question for the caller is only whether the frame can have reached the broker:
 *
 * | STOMP code | where it failed | SDK error |
 * | --- | --- | --- |
 * | `STOMP_CANNOT_CONNECT` | queued while no node was up, then the connection gave up | `NotSentError` `unreachable` |
 * | `STOMP_QUEUE_FULL` | refused before queueing: too many frames wait for a connection | `NotSentError` `unreachable` |
 * | `STOMP_CLOSED_BY_US` | the gateway closed the connection: it does so only once no request waits, so the frame was still queued | `NotSentError` `closed` |
 * | `STOMP_BAD_OPTIONS` | never started | `NotSentError` `unreachable` |
 * | `STOMP_TIMEOUT` | written, but no RECEIPT in time | `TimeoutError` `unconfirmed` |
 * | `STOMP_OPERATION_FAILED` | the broker sent ERROR (for this frame or another) and closed | `TimeoutError` `unconfirmed` |
 * | `STOMP_IO`, `STOMP_CLOSED_BY_PEER`, `STOMP_READ_TIMEOUT`, `STOMP_UNEXPECTED_DATA` | the connection broke while the frame was being written or confirmed | `TimeoutError` `connection-lost` |
 * | anything else | unknown | `TimeoutError` `unconfirmed` |
 *
 * A frame issued while the connection is down waits in the STOMP layer's send queue and is only
 * written on a live session, so a connection error can only concern a frame that was handed to a
 * socket: whether its bytes left cannot be known, hence "outcome unknown".
 */

const NEVER_LEFT: ReadonlySet<StompErrorCode> = new Set(['STOMP_CANNOT_CONNECT', 'STOMP_QUEUE_FULL', 'STOMP_BAD_OPTIONS']);
const CONNECTION_BROKE: ReadonlySet<StompErrorCode> = new Set([
  'STOMP_IO',
  'STOMP_CLOSED_BY_PEER',
  'STOMP_READ_TIMEOUT',
  'STOMP_UNEXPECTED_DATA',
]);

/** The SDK error for a SEND of request `ids` that rejected with `error`. */
export function sendFailure(error: unknown, ids: { requestId: string; idempotencyKey: string }): GatewayError {
  if (isStompError(error, 'STOMP_CLOSED_BY_US')) return new NotSentError('closed', 'the broker connection was closed', { cause: error });
  if (isStompError(error) && NEVER_LEFT.has(error.code)) {
    return new NotSentError('unreachable', `the broker was not reachable: ${error.message}`, { cause: error });
  }
  const reason = isStompError(error) && CONNECTION_BROKE.has(error.code) ? 'connection-lost' : 'unconfirmed';
  return new TimeoutError({ reason, ...ids }, { cause: error });
}
