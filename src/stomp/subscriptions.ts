import type { BrokerQuirks } from './broker-kind.ts';
import type { AckMode, StompMessage } from './message.ts';
import type { Headers, IncomingMessage, Session } from './session.ts';

/**
 * The subscriptions a connection holds, kept across reconnects: each is SUBSCRIBEd again, with
 * the same id, on every new session. A temp-queue subscription becomes whatever the broker needs
 * (RabbitMQ: an implicit subscription; the others: a SUBSCRIBE), decided per session because a
 * failover may land on another kind of broker.
 */

/** Handles each message of a subscription. Not awaited: ack or nack when you are done. */
export type MessageHandler = (message: StompMessage) => void | Promise<void>;

/** A subscription, kept across reconnects until `unsubscribe()`. */
export interface Subscription {
  readonly id: string;
  readonly destination: string;
  /** Resolves once a broker confirmed the SUBSCRIBE (receipt); it may wait for a connection. */
  readonly ready: Promise<void>;
  unsubscribe(): Promise<void>;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Default `client-individual`: each message is ACKed or NACKed on its own. */
  readonly ack?: AckMode;
  /** Unacknowledged messages the broker may send ahead; 0 = broker default. Sent with the broker's own header. */
  readonly prefetch?: number;
  /** More SUBSCRIBE headers (e.g. `selector`), sent to every broker as they are; a queue type is the connection's `queueType` option. */
  readonly headers?: Headers;
}

/** One registered subscription. */
export interface SubscriptionEntry {
  /** Our id, sent as SUBSCRIBE's `id`; stable across reconnects. */
  readonly id: string;
  readonly destination: string;
  readonly ack: AckMode;
  readonly prefetch: number;
  readonly headers: Headers;
  /** A `/temp-queue/…` reply queue (see temp-queue.ts). */
  readonly temp: boolean;
  /** Resolves once a broker first confirmed the SUBSCRIBE. */
  readonly ready: Promise<void>;
}

interface Entry extends SubscriptionEntry {
  readonly confirm: () => void;
}

/** Called for every MESSAGE of an entry, with the session it arrived on. */
export type Deliver = (entry: SubscriptionEntry, message: IncomingMessage, session: Session) => void;

export class SubscriptionRegistry {
  readonly #entries = new Map<string, Entry>();
  #next = 0;

  constructor(private readonly deliver: Deliver) {}

  /** How many subscriptions are registered. */
  get size(): number {
    return this.#entries.size;
  }

  /** Registers a subscription (not yet sent anywhere). */
  add(destination: string, options: SubscribeOptions, defaultPrefetch: number, temp = false): SubscriptionEntry {
    this.#next += 1;
    let confirm: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (confirm = resolve));
    const entry: Entry = {
      ready,
      confirm: () => confirm(),
      id: `sub-${this.#next}`,
      destination,
      ack: temp ? 'auto' : (options.ack ?? 'client-individual'),
      prefetch: options.prefetch ?? defaultPrefetch,
      headers: { ...options.headers },
      temp,
    };
    this.#entries.set(entry.id, entry);
    return entry;
  }

  /** Forgets a subscription; true when it was registered. */
  remove(id: string): boolean {
    return this.#entries.delete(id);
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** True when a reply queue (temp-queue subscription) is registered. */
  get hasReplyQueues(): boolean {
    for (const entry of this.#entries.values()) if (entry.temp) return true;
    return false;
  }

  /**
   * Subscribes every registered entry on a new session, in registration order. Resolves true once
   * the broker confirmed every one of them, false when it refused one (or the session ended first).
   */
  restore(session: Session): Promise<boolean> {
    const confirmed = [...this.#entries.values()].map((entry) => this.subscribeOn(session, entry));
    return Promise.all(confirmed).then((all) => all.every(Boolean));
  }

  /**
   * Subscribes one entry on `session`; a failure waits for the next session (see `ready`).
   * Resolves whether the broker confirmed it.
   */
  subscribeOn(session: Session, entry: SubscriptionEntry): Promise<boolean> {
    const registered = this.#entries.get(entry.id);
    if (registered === undefined) return Promise.resolve(true);
    const listener = (message: IncomingMessage): void => {
      if (this.#entries.get(entry.id) === entry) this.deliver(entry, message, session);
    };
    if (entry.temp && session.quirks.tempQueues === 'implicit') {
      // RabbitMQ: SUBSCRIBE to /temp-queue/x is an error; replies come on the implicit id /temp-queue/x.
      session.acceptImplicit(entry.destination, listener);
      registered.confirm();
      return Promise.resolve(true);
    }
    return session.subscribe(entry.id, subscribeHeaders(entry, session.quirks), listener).then(
      () => {
        registered.confirm();
        return true;
      },
      () => false,
    );
  }

  /** UNSUBSCRIBEs one entry on `session` (nothing to send for an implicit one). */
  unsubscribeOn(session: Session, entry: SubscriptionEntry): void {
    if (entry.temp && session.quirks.tempQueues === 'implicit') return;
    session.unsubscribe(entry.id);
  }
}

/** SUBSCRIBE headers of an entry for one broker: the prefetch goes in the header it understands. */
export function subscribeHeaders(entry: SubscriptionEntry, quirks: BrokerQuirks): Headers {
  const headers: Headers = { ...entry.headers, destination: entry.destination, ack: entry.ack };
  if (entry.prefetch > 0 && quirks.prefetchHeader !== undefined) headers[quirks.prefetchHeader] = String(entry.prefetch);
  return headers;
}
