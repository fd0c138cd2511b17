/**
 * Destination names → queues and topics. `/queue/<name>` and `/topic/<name>` are global;
 * `/temp-queue/…` and `/remote-temp-queue/…` follow the scheme in temp-queues.ts.
 */
import { BrokerError } from './errors.ts';
import { MemoryBudget } from './memory.ts';
import { Queue } from './queue.ts';
import type { QueueContext } from './queue.ts';
import { REMOTE_TEMP_QUEUE_PREFIX, TEMP_QUEUE_PREFIX, TempQueues } from './temp-queues.ts';
import { Topic } from './topic.ts';
import type { MessageStore } from './store.ts';
import type { BrokerMessage } from './message.ts';

const QUEUE_PREFIX = '/queue/';
const TOPIC_PREFIX = '/topic/';
/** Suffix of the dead-letter queue of `/queue/<name>`. */
export const DLQ_SUFFIX = '.dlq';

/** The queue bounds of the broker's options. */
export type QueueLimits = Pick<QueueContext, 'maxDeliveries' | 'maxReturns' | 'maxQueueBytes'>;

export type Target = { kind: 'queue'; queue: Queue } | { kind: 'topic'; topic: Topic };

/** What the broker wants to hear about (counted in its stats, reported as events). */
export interface RouterHooks {
  expired(message: BrokerMessage, now: number): void;
  deadLettered(message: BrokerMessage, from: string): void;
}

export class Router {
  readonly #queues = new Map<string, Queue>();
  readonly #topics = new Map<string, Topic>();
  readonly temps: TempQueues;
  readonly #context: QueueContext;

  readonly #hooks: RouterHooks;

  /** @param budget the broker's `maxTotalBytes` count; unbounded when a router is used on its own. */
  constructor(store: MessageStore | undefined, limits: QueueLimits, hooks: RouterHooks, budget = new MemoryBudget(Infinity)) {
    this.#hooks = hooks;
    const { maxDeliveries, maxReturns, maxQueueBytes } = limits;
    this.#context = {
      store,
      maxDeliveries,
      maxReturns,
      maxQueueBytes,
      budget,
      deadLetterQueue: (queue) => this.#deadLetterQueue(queue),
      expired: (message, now) => hooks.expired(message, now),
      deadLettered: (message, from) => hooks.deadLettered(message, from),
    };
    this.temps = new TempQueues(this.#context);
  }

  /** The durable queue `/queue/<name>`, created on first use (as ActiveMQ and RabbitMQ do). */
  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) this.#queues.set(name, (queue = new Queue(name, this.#context, true)));
    return queue;
  }

  /** Where a SEND from connection `session` to `destination` goes; undefined = a temp queue that is gone. */
  forSend(destination: string, session: string): Target | undefined {
    return this.#resolve(destination, session, 'send');
  }

  /** What SUBSCRIBE `destination` attaches to; a foreign temp queue is refused. */
  forSubscribe(destination: string, session: string): Target {
    const target = this.#resolve(destination, session, 'subscribe');
    if (target === undefined) throw new BrokerError('BROKER_PROTOCOL', `no such destination: ${destination}`);
    return target;
  }

  #resolve(destination: string, session: string, use: 'send' | 'subscribe'): Target | undefined {
    if (destination.startsWith(QUEUE_PREFIX) && destination.length > QUEUE_PREFIX.length) {
      return { kind: 'queue', queue: this.queue(destination) };
    }
    if (destination.startsWith(TOPIC_PREFIX) && destination.length > TOPIC_PREFIX.length) {
      let topic = this.#topics.get(destination);
      if (topic === undefined) this.#topics.set(destination, (topic = new Topic(destination, this.#hooks.expired)));
      return { kind: 'topic', topic };
    }
    if (destination.startsWith(TEMP_QUEUE_PREFIX) && destination.length > TEMP_QUEUE_PREFIX.length) {
      return { kind: 'queue', queue: this.temps.open(session, destination.slice(TEMP_QUEUE_PREFIX.length)) };
    }
    if (destination.startsWith(REMOTE_TEMP_QUEUE_PREFIX)) {
      const found = this.temps.find(destination);
      if (found === undefined) return undefined;
      if (use === 'subscribe' && found.owner !== session) {
        throw new BrokerError('BROKER_PROTOCOL', `${destination} belongs to another connection`);
      }
      return { kind: 'queue', queue: found.queue };
    }
    throw new BrokerError('BROKER_PROTOCOL', `unknown destination ${JSON.stringify(destination)} (use /queue/, /topic/ or /temp-queue/)`);
  }

  /**
   * Forget queues and topics that hold nothing and have no consumer, so clients that use many
   * one-off names do not grow the broker without bound. Run between events only: outstanding
   * (unacknowledged) messages always have a registered consumer then, because every path that
   * removes a consumer gives its messages back in the same synchronous step.
   */
  sweep(now = Date.now()): void {
    // Expired messages leave first, so a queue holding only those is forgotten too.
    for (const queue of this.#queues.values()) queue.purgeExpired(now);
    for (const queue of this.temps.queues()) queue.purgeExpired(now);
    for (const [name, queue] of this.#queues) if (queue.depth === 0 && queue.consumerCount === 0) this.#queues.delete(name);
    for (const [name, topic] of this.#topics) if (topic.subscriberCount === 0) this.#topics.delete(name);
  }

  /** Destinations currently known (for tests and diagnostics). */
  get size(): { queues: number; topics: number } {
    return { queues: this.#queues.size, topics: this.#topics.size };
  }

  /**
   * `/queue/x` → `/queue/x.dlq`. A DLQ keeps its own dead letters (nothing is dropped from it);
   * a temp queue's are dropped, since the temp queue's owner is the only one who could read them.
   */
  #deadLetterQueue(queue: Queue): Queue | undefined {
    if (!queue.durable) return undefined;
    if (queue.name.endsWith(DLQ_SUFFIX)) return queue;
    return this.queue(queue.name + DLQ_SUFFIX);
  }
}
