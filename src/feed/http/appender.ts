/**
 * Group commit for POSTs: the appends of requests that arrive together share one `appendMany`
 * (one transaction, one fsync). A POST queues its entry and is answered only after the commit
 * that holds it, so a 201 still means "on disk". The flush runs on `setImmediate`: after every
 * request whose bytes were already waiting has been parsed, so an idle server commits a lone
 * entry at once (no timer window) and a busy one shares each fsync among many.
 */
import { FeedError } from '../errors.ts';
import type { FeedEntry, FeedStore, NewEntry } from '../store.ts';

interface Pending {
  readonly feed: string;
  readonly entry: NewEntry;
  readonly resolve: (entry: FeedEntry) => void;
  readonly reject: (error: unknown) => void;
}

/** Queues appends and commits them in batches of at most `maxBatch`. */
export class GroupAppender {
  readonly #store: FeedStore;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(store: FeedStore, maxBatch = 256) {
    this.#store = store;
    this.#maxBatch = maxBatch;
  }

  /** Appends `entry` to `feed` with the next commit; resolves with the stored entry once it is durable. */
  append(feed: string, entry: NewEntry): Promise<FeedEntry> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ feed, entry, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending.splice(0, this.#maxBatch);
    if (this.#pending.length > 0) this.#schedule();
    try {
      const results = this.#store.appendMany(batch.map(({ feed, entry }) => ({ feed, entry })));
      batch.forEach((p, i) => p.resolve((results[i] as { entry: FeedEntry }).entry));
    } catch (error) {
      if (batch.length > 1 && error instanceof FeedError && (error.code === 'FEED_BAD_ENTRY' || error.code === 'FEED_BAD_NAME')) {
        // One invalid entry fails the whole transaction: append each alone, so the valid ones
        // are stored and each request gets its own answer. Store failures are not retried
        // here: every request of the batch gets the failure (503) and may retry.
        for (const p of batch) this.#one(p);
        return;
      }
      for (const p of batch) p.reject(error);
    }
  }

  #one(p: Pending): void {
    try {
      p.resolve(this.#store.append(p.feed, p.entry));
    } catch (error) {
      p.reject(error);
    }
  }
}
