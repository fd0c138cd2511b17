import type { BrokerKind } from './broker-kind.ts';
import type { StompError } from './errors.ts';
import type { NegotiatedHeartBeat } from './heartbeat.ts';
import type { StompMessage } from './message.ts';

/** The connection's events (see docs/stomp.md). */
export interface StompEvents {
  /** A session with a node is up (first connect or after a reconnect); subscriptions are restored. */
  'node-connect': [{ node: string; server: string; kind: BrokerKind; heartBeat: NegotiatedHeartBeat; reconnected: boolean }];
  /** The session with a node ended; `error` says why (STOMP_CLOSED_BY_US after `close()`). */
  'node-disconnect': [{ node: string; error: StompError }];
  /** An attempt to connect to a node failed; the next node is tried. */
  'node-error': [{ node: string; error: StompError }];
  /**
   * `listed` order: a probe reached `to`, listed before the current node `from`; the connection
   * moved there (a `node-connect` follows) and drains its session with `from` (`node-drained`).
   */
  failback: [{ from: string; to: string }];
  /** The session left behind by a failback was closed (DISCONNECT) after its drain. */
  'node-drained': [{ node: string }];
  /** Every node failed in this round; the next round starts after `delayMs`. */
  reconnecting: [{ delayMs: number }];
  /** The connection is over: `close()` (no error) or reconnecting gave up (STOMP_CANNOT_CONNECT). */
  close: [{ error: StompError | undefined }];
  /** A subscription's handler threw or rejected; the message is neither ACKed nor NACKed. */
  'handler-error': [{ error: unknown; message: StompMessage }];
}
