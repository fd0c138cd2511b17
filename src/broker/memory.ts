/**
 * What the broker holds for its clients, in bytes, counted where it is taken and given back:
 * queued messages (waiting and unacknowledged), frames held in open transactions and frames
 * still being received. One instance per broker enforces `maxTotalBytes`.
 */
import { BrokerLimitError } from './errors.ts';
import type { BrokerMessage } from './message.ts';

/** Bookkeeping allowance per message on top of its body (headers, ids, list slots). */
export const MESSAGE_OVERHEAD = 512;

/** What a message costs in memory, roughly: its body and a fixed allowance. */
export function messageBytes(message: BrokerMessage): number {
  return message.body.length + MESSAGE_OVERHEAD;
}

/**
 * Share of `maxTotalBytes` that replies into temp queues may use beyond the cap. A worker that
 * answers a request already accepted must not be disconnected (with every request it holds)
 * because someone else filled the broker; a bounded extra keeps its replies flowing, and each
 * temp queue stays bounded by `maxQueueBytes` too.
 */
export const REPLY_HEADROOM = 1 / 8;

/**
 * An unfinished frame up to this size is never refused for `maxTotalBytes`. The count may pass
 * the cap for good reasons (the reply headroom, redeliveries, dead letters, a restore): then a
 * bystander's ACK or reply that a TCP read happened to split must not cost it its connection.
 * Larger partial frames (the hoarding pattern) are refused; the small ones are bounded by
 * `maxConnections` times this.
 */
export const PARTIAL_FRAME_ALLOWANCE = 16 * 1024;

/** The broker-wide byte count and its cap. */
export class MemoryBudget {
  #used = 0;

  /** @param max `maxTotalBytes`; `Infinity` for a queue or router used on its own (tests). */
  constructor(readonly max: number) {}

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** True when `bytes` more stay within the cap (plus `headroom`). */
  fits(bytes: number, headroom = 0): boolean {
    return this.#used + bytes <= this.max + headroom;
  }

  /**
   * Take `bytes` for something new a client brings; refused with `limit: maxTotalBytes` beyond the
   * cap plus `headroom` (see {@link REPLY_HEADROOM}).
   */
  reserve(bytes: number, what: string, headroom = 0): void {
    if (!this.fits(bytes, headroom)) {
      throw new BrokerLimitError('maxTotalBytes', `broker memory is full (${this.#used} of ${this.max} bytes held); ${what} refused, try again later`);
    }
    this.#used += bytes;
  }

  /** Count bytes without a check (messages already accepted coming back) or give them back (negative). */
  adjust(bytes: number): void {
    this.#used += bytes;
  }
}
