/**
 * RabbitMQ's firehose (`rabbitmqctl trace_on`) as capture records.
 *
 * Read over STOMP, a trace message keeps its body byte for byte but loses what the firehose puts
 * in table and array headers: the STOMP plugin (3.10) passes on only string and integer AMQP
 * headers, so `routing_keys` (the queue a SEND named) and `properties` (the sender's headers)
 * never arrive. What arrives is the trace routing key: `publish.<exchange>` when a message is
 * published, `deliver.<queue>` each time a queue hands it to a consumer. A STOMP SEND to a queue
 * publishes to the default exchange, so its `publish.` says nothing of the queue.
 *
 * Hence one record per `publish.` (never per `deliver.`, which would count a message once per
 * delivery), whose destination is learned from the first `deliver.<queue>` of the same body:
 * the publish waits for it (both arrive on one subscription queue, publish first), at most
 * `routeWaitMs`; a message that nobody consumed in that time is recorded with the exchange only
 * (`/exchange/amq.default`). Sealed bodies never repeat (a fresh content key and IV each), so the
 * digest pairs them; two identical bodies pair first-in first-out.
 */
import type { StompMessage } from '../../stomp/index.ts';
import { bodyDigest } from './record.ts';

/** Where the firehose publishes, as a STOMP destination prefix. */
export const TRACE_EXCHANGE_PREFIX = '/exchange/amq.rabbitmq.trace/';

/** The one subscription the capture needs: every trace routing key, publishes and deliveries in order. */
export const TRACE_DESTINATION = `${TRACE_EXCHANGE_PREFIX}#`;

/** The destination recorded for a default-exchange publish whose queue was never learned. */
export const UNROUTED_DESTINATION = '/exchange/amq.default';

/** What one trace message is. */
export type TraceEvent =
  | { readonly type: 'publish'; readonly exchange: string }
  | { readonly type: 'deliver'; readonly queue: string }
  | { readonly type: 'other' };

/** Reads a trace message's routing key from its destination. */
export function traceEvent(destination: string): TraceEvent {
  if (!destination.startsWith(TRACE_EXCHANGE_PREFIX)) return { type: 'other' };
  const key = destination.slice(TRACE_EXCHANGE_PREFIX.length);
  if (key.startsWith('publish.')) return { type: 'publish', exchange: key.slice('publish.'.length) };
  if (key.startsWith('deliver.')) return { type: 'deliver', queue: key.slice('deliver.'.length) };
  return { type: 'other' };
}

/**
 * The destination a sender gave for a message that reached `queue`, or undefined when the queue
 * is outside the audit (neither a paygate queue nor a reply queue). A reply queue is what the
 * worker SENT to: `/reply-queue/amq.gen-…`, the `reply-to` RabbitMQ handed it.
 */
export function senderDestination(queue: string): string | undefined {
  if (queue.startsWith('paygate.')) return `/queue/${queue}`;
  if (queue.startsWith('amq.gen-')) return `/reply-queue/${queue}`;
  return undefined;
}

/** A publish whose queue is being learned. */
interface Pending {
  readonly message: StompMessage;
  readonly time: Date;
  readonly timer: NodeJS.Timeout;
}

/** What the router decided for a publish: record it at `destination`, or only acknowledge it. */
export type Routed = (message: StompMessage, time: Date, destination: string | undefined) => void;

/**
 * Pairs publishes with their first delivery. `route` is called exactly once per publish: with
 * the sender's destination, with {@link UNROUTED_DESTINATION} after `routeWaitMs`, or with
 * undefined for a queue outside the audit (to be acknowledged, not recorded).
 */
export class TraceRouter {
  readonly #waiting = new Map<string, Pending[]>();
  #size = 0;

  constructor(
    private readonly routeWaitMs: number,
    private readonly route: Routed,
  ) {}

  /** Publishes still waiting for their queue. */
  get waiting(): number {
    return this.#size;
  }

  /** Takes one trace message; says what it was (a delivery or other is the caller's to acknowledge). */
  take(message: StompMessage, time: Date): TraceEvent['type'] {
    const event = traceEvent(message.destination);
    if (event.type === 'publish') {
      // Only the default exchange hides the queue; any other exchange is the destination itself.
      if (event.exchange !== '') this.route(message, time, `/exchange/${event.exchange}`);
      else this.#wait(message, time);
    } else if (event.type === 'deliver') {
      this.#delivered(bodyDigest(message.body), event.queue);
    }
    return event.type;
  }

  /** Records every waiting publish as unrouted now (the capture is stopping). */
  flushAll(): void {
    for (const [digest, list] of this.#waiting) {
      for (const pending of list) {
        clearTimeout(pending.timer);
        this.route(pending.message, pending.time, UNROUTED_DESTINATION);
      }
      this.#waiting.delete(digest);
    }
    this.#size = 0;
  }

  #wait(message: StompMessage, time: Date): void {
    const digest = bodyDigest(message.body);
    const timer = setTimeout(() => this.#expire(digest, pending), this.routeWaitMs);
    const pending: Pending = { message, time, timer };
    const list = this.#waiting.get(digest);
    if (list === undefined) this.#waiting.set(digest, [pending]);
    else list.push(pending);
    this.#size += 1;
  }

  /** The first delivery of a body names the queue of its oldest waiting publish; later ones (redeliveries) find none. */
  #delivered(digest: string, queue: string): void {
    const pending = this.#take(digest);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.route(pending.message, pending.time, senderDestination(queue));
  }

  #expire(digest: string, pending: Pending): void {
    const list = this.#waiting.get(digest);
    const at = list?.indexOf(pending) ?? -1;
    if (list === undefined || at === -1) return;
    list.splice(at, 1);
    if (list.length === 0) this.#waiting.delete(digest);
    this.#size -= 1;
    this.route(pending.message, pending.time, UNROUTED_DESTINATION);
  }

  #take(digest: string): Pending | undefined {
    const list = this.#waiting.get(digest);
    const pending = list?.shift();
    if (list !== undefined && list.length === 0) this.#waiting.delete(digest);
    if (pending !== undefined) this.#size -= 1;
    return pending;
  }
}
