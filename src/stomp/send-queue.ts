import { StompError } from './errors.ts';
import type { Session } from './session.ts';

/** An operation that needs a live session; `generation` counts the connections from 1. */
export type Operation = (session: Session, generation: number) => Promise<void>;

interface Queued {
  readonly run: Operation;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Frames issued while no connection is up. They wait, in order, up to `limit`; one more is
 * refused with STOMP_QUEUE_FULL. When a connection comes up they are sent on it; when the
 * connection is closed or gives up they all fail with its error. Nothing is dropped silently.
 */
export class SendQueue {
  readonly #items: Queued[] = [];

  constructor(readonly limit: number) {}

  /** How many operations wait. */
  get size(): number {
    return this.#items.length;
  }

  /** Queues `run`; the promise settles when it ran on a session, or failed. */
  push(run: Operation): Promise<void> {
    if (this.#items.length >= this.limit) {
      const message = `${this.limit} frames already wait for a connection; refusing this one`;
      return Promise.reject(new StompError('STOMP_QUEUE_FULL', message));
    }
    return new Promise((resolve, reject) => this.#items.push({ run, resolve, reject }));
  }

  /** Runs every queued operation on `session`, in order (each one's frames are queued by stompit at once). */
  flush(session: Session, generation: number): void {
    for (const item of this.#items.splice(0)) {
      let running: Promise<void>;
      try {
        running = item.run(session, generation);
      } catch (err) {
        running = Promise.reject(err);
      }
      running.then(item.resolve, item.reject);
    }
  }

  /** Fails every queued operation with `err`. */
  failAll(err: StompError): void {
    for (const item of this.#items.splice(0)) item.reject(err);
  }
}
