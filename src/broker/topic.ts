/**
 * A topic: every current subscriber gets each message; nothing is kept for absent ones
 * (non-durable, like `/topic/` on ActiveMQ and RabbitMQ without durable subscriptions).
 */
import { isExpired } from './message.ts';
import type { BrokerMessage } from './message.ts';
import type { MessageSource, Subscription } from './subscription.ts';

export class Topic implements MessageSource {
  readonly #subscribers = new Set<Subscription>();

  constructor(
    readonly name: string,
    /** A message dropped because its `expires` passed before it could fan out. */
    readonly onExpired: (message: BrokerMessage, now: number) => void,
  ) {}

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /**
   * Fan out now: topic messages cannot wait for anyone. A client-ack subscriber whose prefetch
   * window is full misses the message (bounded memory, as ActiveMQ's pending-message limit).
   */
  publish(message: BrokerMessage): void {
    const now = Date.now();
    if (isExpired(message, now)) {
      this.onExpired(message, now);
      return;
    }
    for (const subscriber of this.#subscribers) if (!subscriber.full) subscriber.deliver(message, true);
  }

  addConsumer(subscription: Subscription): void {
    this.#subscribers.add(subscription);
  }

  removeConsumer(subscription: Subscription): void {
    this.#subscribers.delete(subscription);
  }

  /** Topic messages are never stored, so an ACK has nothing to delete. */
  settle(): void {}

  /** A NACKed topic message has nowhere to go back to: it is dropped. */
  giveBack(): void {}

  dispatch(): void {}
}
