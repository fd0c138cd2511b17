import type { Headers, IncomingMessage } from './session.ts';

/** STOMP acknowledgement modes; paygate's consumers use `client-individual` unless told otherwise. */
export type AckMode = 'auto' | 'client' | 'client-individual';

/** Options of ACK and NACK. */
export interface AckOptions {
  /** Wait for the broker's RECEIPT. */
  readonly receipt?: boolean;
  /** Acknowledge inside this transaction (see `Transaction.ack`). */
  readonly transaction?: string;
}

/** Sends the ACK or NACK of a message; implemented by the connection (it knows the session). */
export type Acknowledger = (command: 'ACK' | 'NACK', message: StompMessage, options: AckOptions) => Promise<void>;

/**
 * A message delivered to a subscription. `ack()` and `nack()` send STOMP 1.2's `id` (the
 * MESSAGE's `ack` header) on the connection it arrived on; once that connection is lost they
 * reject with STOMP_STALE_MESSAGE, and the broker redelivers the message.
 */
export class StompMessage {
  constructor(
    private readonly incoming: IncomingMessage,
    /** Our subscription id (stable across reconnects). */
    readonly subscription: string,
    readonly ackMode: AckMode,
    /** Which connection (counted from 1) delivered it. */
    readonly generation: number,
    /**
     * `host:port` of the node that delivered it. A reply to it must leave through this node: with
     * independent brokers its `reply-to` exists only there (a failback may have moved the
     * connections elsewhere meanwhile).
     */
    readonly node: string,
    private readonly acknowledge: Acknowledger,
  ) {}

  /** The MESSAGE frame's headers (`destination`, `message-id`, `ack`, `redelivered`, yours). */
  get headers(): Headers {
    return this.incoming.headers;
  }

  /** The body, byte for byte. */
  get body(): Buffer {
    return this.incoming.body;
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return this.incoming.body.toString('utf8');
  }

  get destination(): string {
    return this.incoming.headers.destination ?? '';
  }

  /** True when the broker says it delivered this message before (`redelivered:true`). */
  get redelivered(): boolean {
    return this.incoming.headers.redelivered === 'true';
  }

  /** The STOMP 1.2 `id` to acknowledge with (1.0/1.1 brokers: the `message-id`). */
  get ackId(): string {
    return this.incoming.headers.ack ?? this.incoming.headers['message-id'] ?? '';
  }

  /** Acknowledges the message (no-op for `ack:auto` subscriptions). */
  ack(options: AckOptions = {}): Promise<void> {
    return this.acknowledge('ACK', this, options);
  }

  /**
   * Refuses the message. RabbitMQ and the embedded broker redeliver it (`redelivered:true`);
   * ActiveMQ never does: a persistent message goes to `ActiveMQ.DLQ`, a non-persistent one is dropped.
   */
  nack(options: AckOptions = {}): Promise<void> {
    return this.acknowledge('NACK', this, options);
  }
}
