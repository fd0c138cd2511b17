/**
 * A point-to-point queue: messages in arrival order, competing consumers served round robin,
 * unacknowledged messages taken back (in order) and moved to a dead-letter queue after too many
 * deliveries.
 */
import { isExpired } from './message.ts';
import type { BrokerMessage } from './message.ts';
import type { MessageStore } from './store.ts';
import type { MessageSource, Subscription } from './subscription.ts';

/** What a queue needs from the broker around it. */
export interface QueueContext {
  readonly store: MessageStore | undefined;
  readonly maxDeliveries: number;
  /** Where a message goes after `maxDeliveries`; undefined drops it (temp queues). */
  deadLetterQueue(queue: Queue): Queue | undefined;
}

export class Queue implements MessageSource {
  /** Waiting messages from `#head` on, sorted by seq. A moving head avoids O(n) shifts. */
  #items: Array<BrokerMessage | undefined> = [];
  #head = 0;
  #consumers: Subscription[] = [];
  #next = 0;
  #dispatching = false;

  constructor(
    /** The destination, e.g. `/queue/paygate.card`. */
    readonly name: string,
    readonly context: QueueContext,
    /** Durable queues store persistent messages; temp queues never do. */
    readonly durable: boolean,
  ) {}

  /** Messages waiting for a consumer. */
  get depth(): number {
    return this.#items.length - this.#head;
  }

  get consumerCount(): number {
    return this.#consumers.length;
  }

  /** Accept a new message (stored first when it is persistent), then try to deliver. */
  publish(message: BrokerMessage): void {
    if (this.durable && message.persistent && this.context.store) {
      this.context.store.insert(message, this.name);
      message.stored = true;
    }
    this.#items.push(message);
    this.dispatch();
  }

  /** Put a message loaded from the store back in place (start-up). */
  restore(message: BrokerMessage): void {
    this.#insertSorted(message);
  }

  addConsumer(subscription: Subscription): void {
    this.#consumers.push(subscription);
    this.dispatch();
  }

  removeConsumer(subscription: Subscription): void {
    const index = this.#consumers.indexOf(subscription);
    if (index === -1) return;
    this.#consumers.splice(index, 1);
    if (this.#next > index) this.#next--;
  }

  settle(message: BrokerMessage): void {
    if (message.stored) {
      this.context.store?.remove(message);
      message.stored = false;
    }
  }

  giveBack(messages: readonly BrokerMessage[], counted = true): void {
    for (const message of messages) {
      if (counted && message.deliveries >= this.context.maxDeliveries) this.#deadLetter(message);
      else {
        if (message.stored) this.context.store?.updateDeliveries(message);
        this.#insertSorted(message);
      }
    }
    this.dispatch();
  }

  /** Hand waiting messages to ready consumers, round robin, until one side runs out. */
  dispatch(): void {
    if (this.#dispatching) return; // a delivery can settle and re-enter; the outer loop carries on
    this.#dispatching = true;
    try {
      let now = 0;
      while (this.#head < this.#items.length) {
        const consumer = this.#nextReady();
        if (consumer === undefined) break;
        const message = this.#items[this.#head] as BrokerMessage;
        this.#items[this.#head++] = undefined;
        if (message.expires !== 0 && isExpired(message, (now ||= Date.now()))) this.settle(message);
        else consumer.deliver(message);
      }
      this.#compact();
    } finally {
      this.#dispatching = false;
    }
  }

  #nextReady(): Subscription | undefined {
    const count = this.#consumers.length;
    for (let i = 0; i < count; i++) {
      const index = (this.#next + i) % count;
      const consumer = this.#consumers[index] as Subscription;
      if (consumer.ready) {
        this.#next = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  #deadLetter(message: BrokerMessage): void {
    const dlq = this.context.deadLetterQueue(this);
    if (dlq === undefined) {
      this.settle(message);
      return;
    }
    message.deliveries = 0;
    message.destination = dlq.name;
    if (message.stored) this.context.store?.move(message, dlq.name);
    dlq.#insertSorted(message);
    dlq.dispatch();
  }

  #insertSorted(message: BrokerMessage): void {
    let index = this.#head;
    while (index < this.#items.length && (this.#items[index] as BrokerMessage).seq < message.seq) index++;
    if (index === this.#items.length) this.#items.push(message);
    else this.#items.splice(index, 0, message);
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
