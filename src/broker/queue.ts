/**
 * A point-to-point queue: messages in arrival order, competing consumers served round robin,
 * unacknowledged messages taken back (in order, O(log n) each) and moved to a dead-letter queue
 * after too many failed deliveries or returns.
 */
import { BrokerLimitError } from './errors.ts';
import { messageBytes as sizeOf, REPLY_HEADROOM } from './memory.ts';
import type { MemoryBudget } from './memory.ts';
import { isExpired } from './message.ts';
import type { BrokerMessage } from './message.ts';
import type { MessageStore } from './store.ts';
import { SeqHeap } from './seq-heap.ts';
import type { MessageSource, ReturnReason, Subscription } from './subscription.ts';

/**
 * Most messages one dispatch hands out before it lets the event loop run (socket reads, timers,
 * the store's group commit) and carries on in the next turn. Without it, a consumer with room
 * for 100,000 messages subscribing to a full queue blocks the broker for the whole hand-out
 * (and the commit of as many delivery counts).
 */
export const DISPATCH_BATCH = 1000;

/** What a queue needs from the broker around it. */
export interface QueueContext {
  readonly store: MessageStore | undefined;
  /** Failed deliveries (NACKs) after which a message moves to the dead-letter queue. */
  readonly maxDeliveries: number;
  /** Returns without a NACK (the consumer went away) after which it moves there too. */
  readonly maxReturns: number;
  /** Bytes one queue may hold (waiting and unacknowledged) before SENDs to it are refused. */
  readonly maxQueueBytes: number;
  /** The broker-wide byte count (`maxTotalBytes`) every queue's messages count towards too. */
  readonly budget: MemoryBudget;
  /** Where a message goes after `maxDeliveries`; undefined drops it (temp queues). */
  deadLetterQueue(queue: Queue): Queue | undefined;
  /** A message was dropped because its `expires` passed (counted and reported by the broker). */
  expired(message: BrokerMessage, now: number): void;
  /** A message moved to a dead-letter queue (or was dropped, for a temp queue). */
  deadLettered(message: BrokerMessage, from: string): void;
}

export class Queue implements MessageSource {
  /**
   * Messages never delivered, in arrival order (seq ascending) from `#head` on. A moving head
   * avoids O(n) shifts.
   */
  #fresh: Array<BrokerMessage | undefined> = [];
  #head = 0;
  /** Messages that came back (or arrived out of order: dead letters, restored deliveries). */
  readonly #returned = new SeqHeap();
  /** Fairness: after a returned message, a fresh one goes next (see {@link #take}). */
  #lastWasReturned = false;
  /** Messages accepted but waiting for the store commit before they may be delivered. */
  #uncommitted = 0;
  #consumers: Subscription[] = [];
  #next = 0;
  #dispatching = false;
  /** A dispatch stopped at {@link DISPATCH_BATCH} and resumes on `setImmediate`. */
  #resumeScheduled = false;
  /**
   * Approximate memory of every message this queue is responsible for: waiting, waiting for its
   * commit, or delivered and not acknowledged yet (bodies plus a fixed per-message overhead). A
   * consumer that takes messages and never acknowledges them must not empty the queue's count.
   */
  #heldBytes = 0;
  /** A closed temp queue: its bytes were given back at once, later releases are no-ops. */
  #discarded = false;

  constructor(
    /** The destination, e.g. `/queue/paygate.card`. */
    readonly name: string,
    readonly context: QueueContext,
    /** Durable queues store persistent messages; temp queues never do. */
    readonly durable: boolean,
  ) {}

  /** Messages waiting for a consumer (those waiting for their store commit included). */
  get depth(): number {
    return this.#fresh.length - this.#head + this.#returned.size + this.#uncommitted;
  }

  get consumerCount(): number {
    return this.#consumers.length;
  }

  /** Bytes held: waiting and unacknowledged messages (approximate: bodies plus a fixed overhead each). */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Accept a new message, then try to deliver. A queue nobody drains (or whose consumers never
   * acknowledge) must not grow without bound: past `maxQueueBytes`, or past the broker's
   * `maxTotalBytes`, the SEND is refused with BROKER_LIMIT (the sender gets ERROR, no RECEIPT),
   * never accepted and dropped. Messages already accepted (redeliveries, dead letters) are always
   * taken back, so consumers keep being served and their ACKs free memory.
   *
   * A persistent message becomes deliverable only once its store commit returned: a failed
   * commit (disk full) must leave nothing a consumer could act on while the producer is told
   * "not stored". Messages sent after it wait for that commit too, so arrival order holds.
   *
   * @param reply a reply into another connection's temp queue: it may use the headroom beyond
   *   `maxTotalBytes` ({@link REPLY_HEADROOM}).
   */
  publish(message: BrokerMessage, reply = false): void {
    const now = Date.now();
    if (isExpired(message, now)) {
      this.context.expired(message, now); // accepted (the sender gets its receipt) and dropped at once
      return;
    }
    const size = sizeOf(message);
    if (this.#heldBytes + size > this.context.maxQueueBytes) {
      throw new BrokerLimitError('maxQueueBytes', `queue ${this.name} is full (${this.#heldBytes} bytes held); try again later`);
    }
    // Counted now, so the bounds also hold for messages waiting for their commit.
    const { budget } = this.context;
    budget.reserve(size, `a message for ${this.name}`, reply ? budget.max * REPLY_HEADROOM : 0);
    this.#heldBytes += size;
    const store = this.context.store;
    const stored = this.durable && message.persistent && store !== undefined;
    if (store === undefined || (!stored && this.#uncommitted === 0)) return this.#enqueue(message);
    if (stored) {
      store.insert(message, this.name);
      message.stored = true;
    }
    this.#uncommitted++;
    store.afterCommit((error) => {
      this.#uncommitted--;
      if (error === undefined || !stored) return this.#enqueue(message);
      // Rolled back: the producer gets ERROR (BROKER_STORE_FAILED) and nobody ever sees it.
      message.stored = false;
      this.#release(message);
    });
  }

  /** Put a message loaded from the store back in place (start-up); an expired one is dropped. */
  restore(message: BrokerMessage, now: number): void {
    this.#hold(message);
    if (isExpired(message, now)) return this.#dropExpired(message, now);
    const last = this.#fresh.at(-1);
    // Rows come oldest first, so never-delivered ones append in order; the rest are returns.
    if (message.deliveries === 0 && (last === undefined || last.seq < message.seq)) this.#fresh.push(message);
    else this.#returned.push(message);
  }

  /** Drop every waiting message whose `expires` passed (the broker's periodic sweep). */
  purgeExpired(now: number): void {
    if (this.#dispatching) return;
    const drop = (message: BrokerMessage): boolean => {
      if (!isExpired(message, now)) return false;
      this.#dropExpired(message, now);
      return true;
    };
    this.#returned.removeWhere(drop);
    let kept: Array<BrokerMessage | undefined> | undefined;
    for (let i = this.#head; i < this.#fresh.length; i++) {
      const message = this.#fresh[i] as BrokerMessage;
      if (drop(message)) kept ??= this.#fresh.slice(this.#head, i);
      else kept?.push(message);
    }
    if (kept === undefined) return;
    this.#fresh = kept;
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

  /** A message is gone for good (acknowledged, expired, dropped): its bytes are free. */
  settle(message: BrokerMessage): void {
    this.#release(message);
    if (message.stored) {
      this.context.store?.remove(message);
      message.stored = false;
    }
  }

  /**
   * Take messages back (see {@link ReturnReason}). Only failed deliveries (NACK) count towards
   * `maxDeliveries`; returns because a consumer went away count towards the much higher
   * `maxReturns`, so a crashing worker does not dead-letter the requests it happened to hold,
   * while a message that kills every consumer is still not retried for ever.
   */
  giveBack(messages: readonly BrokerMessage[], reason: ReturnReason = 'failed'): void {
    const { maxDeliveries, maxReturns, store } = this.context;
    for (const message of messages) {
      if (reason === 'failed') {
        message.failures++;
        if (message.stored) store?.updateCounts(message);
      }
      const returns = message.deliveries - message.failures;
      if ((reason === 'failed' && message.failures >= maxDeliveries) || (reason === 'returned' && returns >= maxReturns)) {
        this.#deadLetter(message);
      } else {
        this.#returned.push(message);
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
      let handed = 0;
      while (this.#fresh.length > this.#head || this.#returned.size > 0) {
        if (handed++ === DISPATCH_BATCH) {
          this.#resumeLater();
          break;
        }
        const consumer = this.#nextReady();
        if (consumer === undefined) break;
        const message = this.#take() as BrokerMessage;
        if (message.expires !== 0 && isExpired(message, (now ||= Date.now()))) this.#dropExpired(message, now);
        else this.#deliver(consumer, message);
      }
      this.#compact();
    } finally {
      this.#dispatching = false;
    }
  }

  #resumeLater(): void {
    if (this.#resumeScheduled) return;
    this.#resumeScheduled = true;
    setImmediate(() => {
      this.#resumeScheduled = false;
      this.dispatch();
    });
  }

  /**
   * The next message to hand out. Both kinds in arrival order, taking turns when both wait: a
   * message that came back goes out again soon (it is usually the oldest request), but it cannot
   * keep every fresh message behind it; a message that kills each consumer it reaches would
   * otherwise be the first thing every new consumer gets, and the requests queued behind it
   * would wait for all its returns.
   */
  #take(): BrokerMessage | undefined {
    const hasFresh = this.#head < this.#fresh.length;
    if (this.#returned.size > 0 && (!hasFresh || !this.#lastWasReturned)) {
      this.#lastWasReturned = true;
      return this.#returned.pop();
    }
    this.#lastWasReturned = false;
    const message = this.#fresh[this.#head];
    this.#fresh[this.#head++] = undefined;
    return message;
  }

  /**
   * Hand one message over; for a stored one the new delivery count goes into the same group
   * commit, so a broker killed right after still knows it was delivered (`redelivered:true`).
   */
  #deliver(consumer: Subscription, message: BrokerMessage): void {
    const before = message.deliveries;
    consumer.deliver(message);
    if (message.stored && message.deliveries !== before) this.context.store?.updateCounts(message);
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
    this.#release(message);
    message.deliveries = 0;
    message.failures = 0;
    // A dead letter is evidence for an operator: it must not vanish when its request expires.
    message.expires = 0;
    message.destination = dlq.name;
    if (message.stored) this.context.store?.move(message, dlq.name);
    dlq.#hold(message);
    dlq.#returned.push(message);
    dlq.dispatch();
  }

  /**
   * A temp queue whose owner is gone: its waiting messages are dropped with it, so their bytes
   * are given back now (nothing of it can be delivered or acknowledged any more).
   */
  discard(): void {
    this.context.budget.adjust(-this.#heldBytes);
    this.#heldBytes = 0;
    this.#discarded = true;
  }

  /** Count an accepted message (restored, or moved here as a dead letter): never refused. */
  #hold(message: BrokerMessage): void {
    const size = sizeOf(message);
    this.#heldBytes += size;
    this.context.budget.adjust(size);
  }

  #release(message: BrokerMessage): void {
    if (this.#discarded) return;
    const size = sizeOf(message);
    this.#heldBytes -= size;
    this.context.budget.adjust(-size);
  }

  /** Hand a committed (or never stored) new message to the queue. */
  #enqueue(message: BrokerMessage): void {
    this.#fresh.push(message);
    this.dispatch();
  }

  #compact(): void {
    if (this.#head === this.#fresh.length) {
      this.#fresh = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#fresh.length) {
      this.#fresh = this.#fresh.slice(this.#head);
      this.#head = 0;
    }
  }
}
