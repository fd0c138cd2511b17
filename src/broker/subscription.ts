/**
 * One SUBSCRIBE: its ack mode, its prefetch window and the messages it holds unacknowledged.
 */
import type { BrokerMessage } from './message.ts';

export type AckMode = 'auto' | 'client' | 'client-individual';

export const ACK_MODES: readonly AckMode[] = ['auto', 'client', 'client-individual'];

/** Where a subscription's messages come from: a queue (which takes them back) or a topic. */
export interface MessageSource {
  /** A consumer acknowledged `message`: it is gone for good. */
  settle(message: BrokerMessage): void;
  /**
   * Messages handed out but not acknowledged come back (NACK, UNSUBSCRIBE, disconnect). With
   * `counted: false` (broker stop) the return does not count towards dead-lettering.
   */
  giveBack(messages: readonly BrokerMessage[], counted?: boolean): void;
  removeConsumer(subscription: Subscription): void;
  /** Try to hand out waiting messages (a consumer has room again). */
  dispatch(): void;
}

/** What a subscription needs from its connection. */
export interface SubscriptionOwner {
  /** The connection's socket buffer is over its high-water mark: deliver nothing more for now. */
  readonly congested: boolean;
  /** Write the MESSAGE frame; `redelivered` is computed before the delivery counter moves. */
  writeMessage(subscription: Subscription, message: BrokerMessage, redelivered: boolean): void;
}

export class Subscription {
  /** Unacknowledged messages by message-id, in delivery order (Map keeps insertion order). */
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
  ) {}

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
    this.owner.writeMessage(this, message, redelivered);
    if (this.ackMode === 'auto') this.source.settle(message);
    else this.unacked.set(message.id, message);
  }

  /**
   * Take messages off the unacknowledged list: just `messageId` in `client-individual` mode, it
   * and every one delivered before it in `client` mode (cumulative, STOMP §ACK).
   */
  take(messageId: string): BrokerMessage[] {
    const target = this.unacked.get(messageId);
    if (target === undefined) return [];
    if (this.ackMode !== 'client') {
      this.unacked.delete(messageId);
      return [target];
    }
    const taken: BrokerMessage[] = [];
    for (const [id, message] of this.unacked) {
      this.unacked.delete(id);
      taken.push(message);
      if (id === messageId) break;
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
