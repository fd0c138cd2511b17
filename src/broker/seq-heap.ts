/**
 * A binary min-heap of messages keyed by arrival `seq`: the part of a queue that holds messages
 * which came back (or arrived out of order, as dead letters do). Putting one back costs
 * O(log n) instead of the O(n) of an insertion into a sorted array, so a consumer that dies
 * holding 100,000 unacknowledged messages does not stall the broker.
 */
import type { BrokerMessage } from './message.ts';

export class SeqHeap {
  #items: BrokerMessage[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(message: BrokerMessage): void {
    const items = this.#items;
    items.push(message);
    let child = items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if ((items[parent] as BrokerMessage).seq <= message.seq) break;
      items[child] = items[parent] as BrokerMessage;
      child = parent;
    }
    items[child] = message;
  }

  /** The oldest message, removed; undefined when empty. */
  pop(): BrokerMessage | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    this.#siftDown(0, last);
    return top;
  }

  /** Remove every message `drop` says yes to, in O(n) (the periodic expiry sweep). */
  removeWhere(drop: (message: BrokerMessage) => boolean): void {
    const kept = this.#items.filter((message) => !drop(message));
    if (kept.length === this.#items.length) return;
    this.#items = kept;
    for (let i = (kept.length >> 1) - 1; i >= 0; i--) this.#siftDown(i, kept[i] as BrokerMessage);
  }

  #siftDown(start: number, message: BrokerMessage): void {
    const items = this.#items;
    const length = items.length;
    let index = start;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && (items[right] as BrokerMessage).seq < (items[child] as BrokerMessage).seq) child = right;
      if ((items[child] as BrokerMessage).seq >= message.seq) break;
      items[index] = items[child] as BrokerMessage;
      index = child;
    }
    items[index] = message;
  }
}
