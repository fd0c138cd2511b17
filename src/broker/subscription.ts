/**
 * One SUBSCRIBE: its ack mode, its prefetch window and the messages it holds unacknowledged.
 */
import type { BrokerMessage } from './message.ts';

export type AckMode = 'auto' | 'client' | 'client-individual';

export const ACK_MODES: readonly AckMode[] = ['auto', 'client', 'client-individual'];

/**
 * Why unacknowledged messages come back: `failed` is a NACK (the consumer could not handle it;
 * counts towards `maxDeliveries`), `returned` is a consumer that went away (disconnect, crash,
 * UNSUBSCRIBE; counts towards `maxReturns`), `kept` dead-letters nothing (broker stop, or the
 * frame was never written). Returns are derived (deliveries − failures), so a delivery cut short
 * by a stop still counts as one when the message next comes back.
 */
export type ReturnReason = 'failed' | 'returned' | 'kept';

/** Where a subscription's messages come from: a queue (which takes them back) or a topic. */
export interface MessageSource {
  /** A consumer acknowledged `message`: it is gone for good. */
  settle(message: BrokerMessage): void;
  /** Messages handed out but not acknowledged come back (NACK, UNSUBSCRIBE, disconnect, stop). */
  giveBack(messages: readonly BrokerMessage[], reason?: ReturnReason): void;
  removeConsumer(subscription: Subscription): void;
  /** Try to hand out waiting messages (a consumer has room again). */
  dispatch(): void;
}

/** What a subscription needs from its connection. */
export interface SubscriptionOwner {
  /** The connection's socket buffer is over its high-water mark: deliver nothing more for now. */
  readonly congested: boolean;
  /** Write the MESSAGE frame; false when nothing was written because the connection is closing. */
  writeMessage(subscription: Subscription, message: BrokerMessage, delivery: Delivery): boolean;
}

/** How one message is handed to one subscription. */
export interface Delivery {
  /** The `redelivered` header: computed before the delivery counter moves. */
  readonly redelivered: boolean;
  /** What the client acknowledges it by (the `ack` header in 1.2). */
  readonly ackId: string;
  /** A topic copy: it cannot wait for the connection to drain, so the pending-bytes limit applies. */
  readonly fanOut: boolean;
}

export class Subscription {
  /** Unacknowledged messages by ack id, in delivery order (Map keeps insertion order). */
  readonly unacked = new Map<string, BrokerMessage>();

  constructor(
    readonly id: string,
    readonly owner: SubscriptionOwner,
    readonly source: MessageSource,
    readonly ackMode: AckMode,
    /** Most unacknowledged messages at once (client modes only). */
    readonly prefetch: number,
    /** Implicit subscriptions are the temp-queue ones nobody SUBSCRIBEd to (RabbitMQ style). */
    readonly implicit = false,
    /**
     * Topic copies of one message share its message-id; when two subscriptions of one STOMP 1.2
     * connection get the same copy, their `ack` ids must still differ.
     */
    readonly uniqueAckIds = false,
  ) {}

  /** The id a client acknowledges this delivery of `message` by (the `ack` header in 1.2). */
  ackIdOf(message: BrokerMessage): string {
    return this.uniqueAckIds ? `${message.id}@${this.id}` : message.id;
  }

  /** A topic subscriber whose prefetch window is full misses messages rather than piling them up. */
  get full(): boolean {
    return this.ackMode !== 'auto' && this.unacked.size >= this.prefetch;
  }

  /** May a queue hand this subscription one more message now? */
  get ready(): boolean {
    return !this.owner.congested && (this.ackMode === 'auto' || this.unacked.size < this.prefetch);
  }

  /**
   * Hand over one message; in `auto` mode it is settled as soon as it is written. Topic copies
   * (`fanOut`) share one message object, so they leave its delivery counter alone.
   */
  deliver(message: BrokerMessage, fanOut = false): void {
    const redelivered = !fanOut && message.deliveries > 0;
    if (!fanOut) message.deliveries++;
    const ackId = this.ackIdOf(message);
    // Held before the write: if the write ends the connection, its teardown gives the message back.
    if (this.ackMode !== 'auto') this.unacked.set(ackId, message);
    if (this.owner.writeMessage(this, message, { redelivered, ackId, fanOut })) {
      if (this.ackMode === 'auto') this.source.settle(message);
      return;
    }
    // Not written (the connection is closing): the message goes back unless the teardown took it.
    if (this.ackMode !== 'auto' && !this.unacked.delete(ackId)) return;
    if (!fanOut) message.deliveries--;
    this.source.giveBack([message], 'kept');
  }

  /**
   * Take messages off the unacknowledged list: just `ackId` in `client-individual` mode, it and
   * every one delivered before it in `client` mode (cumulative, STOMP §ACK).
   */
  take(ackId: string): BrokerMessage[] {
    const target = this.unacked.get(ackId);
    if (target === undefined) return [];
    if (this.ackMode !== 'client') {
      this.unacked.delete(ackId);
      return [target];
    }
    const taken: BrokerMessage[] = [];
    for (const [id, message] of this.unacked) {
      this.unacked.delete(id);
      taken.push(message);
      if (id === ackId) break;
    }
    return taken;
  }

  /** Everything still unacknowledged, oldest first; the list is emptied. */
  takeAll(): BrokerMessage[] {
    const all = [...this.unacked.values()];
    this.unacked.clear();
    return all;
  }
}
