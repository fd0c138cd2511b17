import { randomUUID } from 'node:crypto';
import { StompError } from './errors.ts';
import type { StompMessage } from './message.ts';
import type { Headers } from './session.ts';

/**
 * Private reply queues and request/reply over them, the same on every broker:
 *
 * - RabbitMQ: a SEND with `reply-to:/temp-queue/x` makes the broker create an exclusive
 *   `amq.gen-…` queue; replies arrive on the implicit subscription id `/temp-queue/x` (a
 *   SUBSCRIBE to it is an error). The responder sees `reply-to:/reply-queue/amq.gen-…`.
 * - ActiveMQ: the client SUBSCRIBEs to `/temp-queue/x`; the responder sees
 *   `reply-to:/remote-temp-queue/ID:…`.
 * - The embedded broker: as ActiveMQ, with its own rewritten `reply-to`.
 *
 * Either way the responder SENDs to the `reply-to` it received, unchanged. A reply queue lives
 * as long as its connection: after a failover it is made again (a new broker-side queue), and
 * requests still waiting are failed with the error that ended the old connection.
 */

/** A private queue that receives replies; give {@link ReplyQueue.replyTo} as `reply-to`. */
export interface ReplyQueue {
  /** `/temp-queue/<name>`: what to put in `reply-to`. */
  readonly replyTo: string;
  /** Stops delivering replies (the broker deletes the queue when the connection closes). */
  close(): Promise<void>;
}

/** Options of `request`. */
export interface RequestOptions {
  /** More SEND headers; `correlation-id` is generated when absent. */
  readonly headers?: Headers;
  /** Wait for the reply at most this long (default 30 s), then STOMP_TIMEOUT. */
  readonly timeoutMs?: number;
  /** Wait for the broker's RECEIPT of the request before counting on a reply. */
  readonly receipt?: boolean;
}

/** What a requester needs from its connection. */
export interface RequestHost {
  replyQueue(handler: (message: StompMessage) => void, name?: string): ReplyQueue;
  send(destination: string, body: string | Uint8Array, options: { headers: Headers; receipt?: boolean }): Promise<void>;
}

interface Pending {
  readonly resolve: (message: StompMessage) => void;
  readonly reject: (err: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/** Request/reply on one lazily made reply queue, replies matched by `correlation-id`. */
export class Requester {
  readonly #pending = new Map<string, Pending>();
  #queue: ReplyQueue | undefined;

  constructor(private readonly host: RequestHost) {}

  /** How many requests wait for their reply. */
  get size(): number {
    return this.#pending.size;
  }

  /** SENDs `body` to `destination` with `reply-to` and `correlation-id`; resolves with the reply. */
  request(destination: string, body: string | Uint8Array, options: RequestOptions = {}): Promise<StompMessage> {
    this.#queue ??= this.host.replyQueue((reply) => this.#onReply(reply));
    const correlationId = options.headers?.['correlation-id'] ?? randomUUID();
    const timeoutMs = options.timeoutMs ?? 30_000;
    const headers: Headers = { ...options.headers, 'reply-to': this.#queue.replyTo, 'correlation-id': correlationId };
    return new Promise<StompMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(new StompError('STOMP_TIMEOUT', `no reply from ${destination} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(correlationId, { resolve, reject, timer });
      this.host.send(destination, body, { headers, receipt: options.receipt ?? false }).catch((err: unknown) => {
        this.#settle(correlationId)?.reject(err);
      });
    });
  }

  /** Fails every waiting request with `err` (their replies can no longer arrive). */
  failAll(err: StompError): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(err);
  }

  #onReply(reply: StompMessage): void {
    const id = reply.headers['correlation-id'];
    if (id !== undefined) this.#settle(id)?.resolve(reply);
  }

  #settle(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}

/** A fresh temp-queue name. */
export const tempQueueName = (): string => `paygate-${randomUUID()}`;
