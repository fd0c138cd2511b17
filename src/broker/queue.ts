/**
 * A point-to-point queue: messages in arrival order, competing consumers served round robin,
 * unacknowledged messages taken back (in order) and moved to a dead-letter queue after too many
 * deliveries.
 */
import { BrokerError } from './errors.ts';
import { isExpired } from './message.ts';
import type { BrokerMessage } from './message.ts';
import type { MessageStore } from './store.ts';
import type { MessageSource, Subscription } from './subscription.ts';

/** What a queue needs from the broker around it. */
export interface QueueContext {
  readonly store: MessageStore | undefined;
  readonly maxDeliveries: number;
  /** Bytes of waiting messages one queue may hold before SENDs to it are refused. */
  readonly maxQueueBytes: number;
  /** Where a message goes after `maxDeliveries`; undefined drops it (temp queues). */
  deadLetterQueue(queue: Queue): Queue | undefined;
  /** A message was dropped because its `expires` passed (counted and reported by the broker). */
  expired(message: BrokerMessage, now: number): void;
  /** A message moved to a dead-letter queue (or was dropped, for a temp queue). */
  deadLettered(message: BrokerMessage, from: string): void;
}

export class Queue implements MessageSource {
  /** Waiting messages from `#head` on, sorted by seq. A moving head avoids O(n) shifts. */
  #items: Array<BrokerMessage | undefined> = [];
  #head = 0;
  #consumers: Subscription[] = [];
  #next = 0;
  #dispatching = false;
  /** Approximate memory of the waiting messages (bodies plus a fixed per-message overhead). */
  #waitingBytes = 0;

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

  /** Bytes the waiting messages hold (approximate: bodies plus a fixed overhead each). */
  get waitingBytes(): number {
    return this.#waitingBytes;
  }

  /**
   * Accept a new message (stored first when it is persistent), then try to deliver. A queue
   * nobody drains must not grow without bound: past `maxQueueBytes` the SEND is refused with
   * BROKER_LIMIT (the sender gets ERROR, no RECEIPT), never accepted and dropped. Messages
   * already accepted (redeliveries, dead letters) are always taken back.
   */
  publish(message: BrokerMessage): void {
    const now = Date.now();
    if (isExpired(message, now)) {
      this.context.expired(message, now); // accepted (the sender gets its receipt) and dropped at once
      return;
    }
    if (this.#waitingBytes + sizeOf(message) > this.context.maxQueueBytes) {
      throw new BrokerError('BROKER_LIMIT', `queue ${this.name} is full (${this.#waitingBytes} bytes waiting); try again later`);
    }
    if (this.durable && message.persistent && this.context.store) {
      this.context.store.insert(message, this.name);
      message.stored = true;
    }
    this.#items.push(message);
    this.#waitingBytes += sizeOf(message);
    this.dispatch();
  }

  /** Put a message loaded from the store back in place (start-up); an expired one is dropped. */
  restore(message: BrokerMessage, now: number): void {
    if (isExpired(message, now)) this.#dropExpired(message, now);
    else this.#insertSorted(message);
  }

  /** Drop every waiting message whose `expires` passed (the broker's periodic sweep). */
  purgeExpired(now: number): void {
    if (this.#dispatching) return;
    let kept: Array<BrokerMessage | undefined> | undefined;
    for (let i = this.#head; i < this.#items.length; i++) {
      const message = this.#items[i] as BrokerMessage;
      if (isExpired(message, now)) {
        kept ??= this.#items.slice(this.#head, i);
        this.#waitingBytes -= sizeOf(message);
        this.#dropExpired(message, now);
      } else kept?.push(message);
    }
    if (kept === undefined) return;
    this.#items = kept;
    this.#head = 0;
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
        this.#waitingBytes -= sizeOf(message);
        if (message.expires !== 0 && isExpired(message, (now ||= Date.now()))) this.#dropExpired(message, now);
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

  #dropExpired(message: BrokerMessage, now: number): void {
    this.settle(message);
    this.context.expired(message, now);
  }

  #deadLetter(message: BrokerMessage): void {
    const dlq = this.context.deadLetterQueue(this);
    this.context.deadLettered(message, this.name);
    if (dlq === undefined) {
      this.settle(message);
      return;
    }
    message.deliveries = 0;
    // A dead letter is evidence for an operator: it must not vanish when its request expires.
    message.expires = 0;
    message.destination = dlq.name;
    if (message.stored) this.context.store?.move(message, dlq.name);
    dlq.#insertSorted(message);
    dlq.dispatch();
  }

  #insertSorted(message: BrokerMessage): void {
    this.#waitingBytes += sizeOf(message);
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

/** What a waiting message costs in memory, roughly: its body and a fixed allowance for headers and bookkeeping. */
function sizeOf(message: BrokerMessage): number {
  return message.body.length + 512;
}
