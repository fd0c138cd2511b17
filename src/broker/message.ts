/**
 * A message as the broker holds it, and the header rules shared by every destination kind.
 */
import type { StompHeaders } from '../stomp/frame.ts';

/** One message. Shared (not copied) by every topic subscriber it fans out to. */
export interface BrokerMessage {
  /** `message-id` on every delivery of this message, and its key in the store. */
  readonly id: string;
  /** Arrival order: a queue keeps messages sorted by it, even after redeliveries. */
  readonly seq: number;
  /** The `destination` header consumers see (changes when the message moves to a DLQ). */
  destination: string;
  /** What the producer sent, minus the headers the broker owns (see {@link userHeaders}). */
  readonly headers: StompHeaders;
  readonly body: Buffer;
  /** `persistent:true` was sent: stored when the broker has a `dataDir` and the queue is durable. */
  readonly persistent: boolean;
  /** Epoch ms after which the message is dropped instead of delivered; 0 = never (dead letters). */
  expires: number;
  /**
   * Times handed to a consumer; > 0 means the next delivery carries `redelivered:true`. Stored
   * when handed out, so it survives a crash of the broker.
   */
  deliveries: number;
  /** Deliveries that ended in a NACK: only these count towards `maxDeliveries`. */
  failures: number;
  /** True while a row for it exists in the store. */
  stored: boolean;
}

/**
 * Headers that describe a frame, a delivery or the broker's own view of a message, never what the
 * producer says: a SEND's values are removed before the message is stored, so a MESSAGE carries
 * only the broker's (a resent capture cannot claim `redelivered:true` or a forged `message-id`).
 * Besides STOMP's own (`destination`, `message-id`, `subscription`, `ack`, `redelivered`,
 * `content-length`, and the frame headers `receipt`, `receipt-id`, `transaction`), the names
 * ActiveMQ and RabbitMQ use for delivery information: `redeliveryCounter`, `timestamp` (ActiveMQ's
 * arrival time), `JMSXUserID`, `JMSXDeliveryCount`, `x-delivery-count`, and RabbitMQ's
 * dead-letter bookkeeping (`x-death`, `x-first-death-*`, `x-last-death-*`).
 */
export const BROKER_HEADERS: ReadonlySet<string> = new Set([
  'destination',
  'receipt',
  'receipt-id',
  'transaction',
  'content-length',
  'message-id',
  'subscription',
  'ack',
  'redelivered',
  'redeliveryCounter',
  'timestamp',
  'JMSXUserID',
  'JMSXDeliveryCount',
  'x-delivery-count',
  'x-death',
]);
const BROKER_HEADER_PREFIXES = ['x-first-death-', 'x-last-death-'];

const LOWER_BROKER_HEADERS = new Set([...BROKER_HEADERS].map((name) => name.toLowerCase()));

/**
 * True for a header only the broker may set (see {@link BROKER_HEADERS}), in any letter case:
 * STOMP names are case-sensitive, but a consumer library that folds case must not be fooled.
 */
export function isBrokerHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return LOWER_BROKER_HEADERS.has(lower) || BROKER_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** The producer's headers worth keeping on the message (content-type, reply-to, correlation-id, …). */
export function userHeaders(headers: StompHeaders): StompHeaders {
  const out = Object.create(null) as StompHeaders;
  for (const name in headers) if (!isBrokerHeader(name)) out[name] = headers[name] as string;
  return out;
}

/** `expires` as epoch ms; absent, zero or unparsable means the message never expires. */
export function expiryOf(headers: StompHeaders): number {
  const value = Number(headers.expires);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

export const isExpired = (message: BrokerMessage, now: number): boolean => message.expires !== 0 && message.expires <= now;
