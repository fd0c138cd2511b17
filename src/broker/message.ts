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
  /** Epoch ms after which the message is dropped instead of delivered; 0 = never. */
  readonly expires: number;
  /** Times handed to a consumer; > 0 means the next delivery carries `redelivered:true`. */
  deliveries: number;
  /** True while a row for it exists in the store. */
  stored: boolean;
}

/** Headers that describe a frame or a delivery, never the message: the broker sets or drops them. */
const BROKER_HEADERS = new Set(['destination', 'receipt', 'transaction', 'content-length', 'message-id', 'subscription', 'ack', 'redelivered']);

/** The producer's headers worth keeping on the message (content-type, reply-to, correlation-id, …). */
export function userHeaders(headers: StompHeaders): StompHeaders {
  const out = Object.create(null) as StompHeaders;
  for (const name in headers) if (!BROKER_HEADERS.has(name)) out[name] = headers[name] as string;
  return out;
}

/** `expires` as epoch ms; absent, zero or unparsable means the message never expires. */
export function expiryOf(headers: StompHeaders): number {
  const value = Number(headers.expires);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

export const isExpired = (message: BrokerMessage, now: number): boolean => message.expires !== 0 && message.expires <= now;
