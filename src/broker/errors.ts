import { PaygateError } from '../errors.ts';

/**
 * Stable codes of the embedded broker's own failures (frame-level ones are the codec's, see
 * src/stomp/frame.ts). Each is documented in docs/broker.md.
 */
export const BROKER_ERROR_CODES = [
  /** An option given to `EmbeddedBroker.start` or `paygate broker` is invalid. */
  'BROKER_BAD_OPTION',
  /** The listening socket could not be opened (port in use, permission). */
  'BROKER_LISTEN_FAILED',
  /** The persistence store under `dataDir` could not be opened or written. */
  'BROKER_STORE_FAILED',
  /** A client broke the protocol: the connection gets ERROR and is closed. */
  'BROKER_PROTOCOL',
  /** A client exceeded a limit (subscriptions, pending bytes): ERROR and close. */
  'BROKER_LIMIT',
  /** The broker is stopping (SIGTERM, `stop()`): every client gets ERROR with this code's message and is closed. */
  'BROKER_STOPPING',
  /** CONNECT without a matching login and passcode while users are configured: ERROR and close. */
  'BROKER_AUTH_FAILED',
  /** The login has no right to SUBSCRIBE to or SEND to that destination: ERROR and close. */
  'BROKER_FORBIDDEN',
  /** A bug of ours while handling one client's frame: that connection is closed, the broker carries on. */
  'BROKER_INTERNAL',
] as const;

export type BrokerErrorCode = (typeof BROKER_ERROR_CODES)[number];

/** A typed failure of the embedded broker. */
export class BrokerError extends PaygateError {
  declare readonly code: BrokerErrorCode;

  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The limits a refusal can name: the `limit` header of its ERROR frame, the key of its counter in
 * `broker.stats.limits`, and the option that sets it (docs/broker.md#limits).
 */
export const BROKER_LIMITS = [
  'maxConnections',
  'maxConnectionsPerLogin',
  'maxConnectionsPerAddress',
  'maxSubscriptions',
  'maxPrefetch',
  'maxPendingBytes',
  'maxQueueBytes',
  'maxTransactionFrames',
  'maxConnectionBytes',
  'maxTotalBytes',
  'frameTimeout',
  'idleTimeout',
  'writeTimeout',
  'loginQueue',
] as const;

export type BrokerLimit = (typeof BROKER_LIMITS)[number];

/** A `BROKER_LIMIT` refusal that names the limit it met. */
export class BrokerLimitError extends BrokerError {
  constructor(
    readonly limit: BrokerLimit,
    message: string,
  ) {
    super('BROKER_LIMIT', message);
  }
}
