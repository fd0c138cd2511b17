/**
 * The events consumer of `paygate feed`: takes the workers' events messages off the events
 * queue and stores them as entries of the `audit` and `payments` feeds (docs/feed-server.md).
 *
 * - Subscribed with client-individual acknowledgement and a prefetch, so the broker keeps every
 *   message until it is ACKed.
 * - Each message is read as it arrives (events-reading.ts: open, gateway role, events document,
 *   no card number). A refused message goes to `<queue><dlqSuffix>` with its reason (persistent,
 *   with a receipt), then is ACKed: never dropped silently, never stored.
 * - Accepted messages are appended in batches, ONE `appendMany` (one commit) per batch, and each
 *   is ACKed only after that commit. There is no timer window: a batch is whatever arrived before
 *   the store was next free (the next turn of the event loop), so an idle feed stores a message
 *   at once and a busy one shares each commit among many.
 * - A store failure keeps the batch unacknowledged, is reported, and pauses appends for a
 *   backoff; then the batch is NACKed where the broker requeues (embedded, RabbitMQ) or retried
 *   in hand where a NACK would dead-letter it (ActiveMQ).
 * - A lost connection is survived by the STOMP layer (reconnect, re-subscribe); what was not
 *   ACKed comes back and the events' keys make the store take each once.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { quirksOf, StompConnection, type StompMessage, type StompOptions, type Subscription } from '../stomp/index.ts';
import { HEADER, maskPan, SIGNER_ROLE_OIDS, TrustStore, type Identity } from '../wire/index.ts';
import { FeedError } from './errors.ts';
import { EventsError } from './events-errors.ts';
import { readEvents, type ReadEvents, type ReadingContext } from './events-reading.ts';
import type { AppendRequest, FeedStore } from './store.ts';

/** Where workers send events unless configured otherwise (a dot in it: no provider queue can be named so). */
export const DEFAULT_EVENTS_QUEUE = '/queue/paygate.feed.events';

/** Where the consumer logs (a pino adapter, or anything with these three methods). */
export interface EventsLog {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

const oid = z.string().regex(/^[0-2](\.(0|[1-9][0-9]*)){1,40}$/, 'a dotted OID');

/** The consumer's options and their defaults, in one place. */
export const eventsConsumerOptionsSchema = z.strictObject({
  store: z.custom<FeedStore>((v) => typeof (v as FeedStore | undefined)?.appendMany === 'function', 'a FeedStore'),
  /** The broker nodes and connection options (src/stomp); `prefetch` here is ignored, see {@link prefetch}. */
  stomp: z.custom<StompOptions>((v) => typeof v === 'object' && v !== null, 'StompConnection options'),
  queue: z.string().regex(/^\/\S+$/, 'a destination such as /queue/paygate.feed.events').default(DEFAULT_EVENTS_QUEUE),
  /** Refused messages go to `<queue><dlqSuffix>`. */
  dlqSuffix: z.string().regex(/^\S+$/).default('.dlq'),
  /** The feed server's identity: events are encrypted to its certificate. */
  identity: z.custom<Identity>((v) => typeof v === 'object' && v !== null && 'privateKey' in v && 'certificate' in v, 'an Identity (loadIdentity)'),
  /** The gateway CA(s) or pinned gateway certificates the events' signers must chain to. */
  trust: z.instanceof(TrustStore),
  /** extendedKeyUsage OIDs an events signer must carry one of; [] switches the check off. */
  gatewayRoleOids: z.array(oid).max(32).default([SIGNER_ROLE_OIDS.gateway]),
  /** Unacknowledged messages the broker may send ahead: the upper bound of a batch in practice. */
  prefetch: z.number().int().min(1).max(10_000).default(200),
  /** The most messages one `appendMany` takes. */
  maxBatch: z.number().int().min(1).max(10_000).default(500),
  /** After a store failure, appends pause this long, doubled at each failure in a row… */
  retryDelayMs: z.number().int().min(0).default(500),
  /** …up to this long. */
  maxRetryDelayMs: z.number().int().min(0).default(30_000),
  log: z.custom<EventsLog>((v) => typeof (v as EventsLog | undefined)?.error === 'function', 'a logger with info, warn and error').optional(),
});

export type EventsConsumerOptions = z.input<typeof eventsConsumerOptionsSchema>;
type Resolved = z.output<typeof eventsConsumerOptionsSchema>;

/** Counters since start. */
export interface EventsConsumerStats {
  /** Messages taken off the queue (redeliveries included). */
  received: number;
  /** Entries appended (new). */
  stored: number;
  /** Entries whose key the feed already held (a redelivery): not appended again. */
  duplicates: number;
  /** Messages ACKed after their batch was committed. */
  acked: number;
  /** Messages moved to the dead-letter queue. */
  deadLettered: number;
  /** Committed batches. */
  batches: number;
  /** Failed `appendMany` calls. */
  storeFailures: number;
}

/** The consumer's events. `batch` is emitted after the commit and before the batch's ACKs are sent. */
export interface EventsConsumerEvents {
  batch: [{ messages: number; stored: number; duplicates: number }];
  /** The ACKs of a committed batch were sent (`acked`: how many the connection took). */
  acked: [{ messages: number; acked: number }];
  'dead-letter': [{ reason: string }];
  'store-error': [{ error: unknown; messages: number }];
}

interface Pending {
  readonly message: StompMessage;
  readonly appends: readonly AppendRequest[];
}

/** The HKDF label of the key of a withheld dead-letter body's digest. */
const DEAD_LETTER_INFO = 'paygate feed dead-letter body digest v1';

/** A running consumer (see the module comment). */
export class EventsConsumer extends EventEmitter<EventsConsumerEvents> {
  readonly stats: EventsConsumerStats = { received: 0, stored: 0, duplicates: 0, acked: 0, deadLettered: 0, batches: 0, storeFailures: 0 };
  readonly #o: Resolved;
  readonly #connection: StompConnection;
  readonly #reading: ReadingContext;
  readonly #deadLetterKey: Buffer;
  readonly #pending: Pending[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #subscription: Subscription | undefined;
  #scheduled = false;
  #retry: { timer: NodeJS.Timeout; batch: Pending[] } | undefined;
  #failuresInRow = 0;
  #stopping: Promise<void> | undefined;

  /** @internal use {@link createEventsConsumer} or {@link startEventsConsumer}. */
  constructor(options: Resolved) {
    super();
    this.#o = options;
    this.#connection = StompConnection.create(options.stomp);
    this.#reading = { identity: options.identity, trust: options.trust, gatewayRoleOids: options.gatewayRoleOids };
    const der = options.identity.privateKey.export({ type: 'pkcs8', format: 'der' });
    this.#deadLetterKey = Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), DEAD_LETTER_INFO, 32));
    this.#logConnection();
  }

  /** The queue consumed. */
  get queue(): string {
    return this.#o.queue;
  }

  /**
   * Connects (as the STOMP options say: retrying nodes, or failing with STOMP_CANNOT_CONNECT)
   * and subscribes; resolves once the broker confirmed the subscription. Once only.
   */
  async start(): Promise<void> {
    await this.#connection.start();
    this.#subscription = this.#connection.subscribe(this.#o.queue, (message) => this.#onMessage(message), { prefetch: this.#o.prefetch });
    await this.#subscription.ready;
    this.#o.log?.info('events consumer subscribed', { queue: this.#o.queue, node: this.#connection.node });
  }

  /**
   * Stops taking messages, stores and ACKs what it holds, then disconnects. A batch waiting out
   * a store failure is left unacknowledged: the broker gives it to the next consumer.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#subscription?.unsubscribe().catch(() => undefined);
    this.#cancelRetry();
    while (this.#pending.length > 0 && this.#flush()) {
      // each flush takes one batch; a failing store leaves the rest in hand
    }
    // A store that failed just now: no retry after the stop, the broker gets the batch back.
    this.#cancelRetry();
    this.#pending.length = 0;
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    await this.#connection.close();
  }

  /** Drops a pending retry: its batch stays unacknowledged (redelivered once the connection closes). */
  #cancelRetry(): void {
    if (this.#retry !== undefined) clearTimeout(this.#retry.timer);
    this.#retry = undefined;
  }

  #onMessage(message: StompMessage): void {
    if (this.#stopping !== undefined) return; // not ACKed: redelivered once the connection closes
    this.stats.received += 1;
    let read: ReadEvents;
    try {
      read = readEvents(message.body, this.#reading);
    } catch (error) {
      // A bug, not a bad message: keep it (redelivered) and say so.
      this.#o.log?.error('events message could not be read', { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (read.kind === 'refused') {
      this.#track(this.#deadLetter(message, read));
      return;
    }
    if (read.redacted.length > 0) {
      this.#o.log?.warn('events message holds a card number in client-set text: masked, stored, noted in the record', { paths: read.redacted });
    }
    this.#pending.push({ message, appends: read.appends });
    this.#schedule();
  }

  /** Flushes on the next turn: what arrives meanwhile joins the batch, nothing waits on a timer. */
  #schedule(): void {
    if (this.#scheduled || this.#retry !== undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#stopping === undefined && this.#flush() && this.#pending.length > 0) this.#schedule();
    });
  }

  /** Appends one batch and ACKs it; false when the store failed (the batch is held for a retry). */
  #flush(): boolean {
    if (this.#retry !== undefined) return false;
    const batch = this.#pending.splice(0, this.#o.maxBatch);
    if (batch.length === 0) return true;
    try {
      this.#commit(batch);
      return true;
    } catch (error) {
      if (!isRefusal(error)) {
        this.#storeFailed(batch, error);
        return false;
      }
    }
    // One entry the store refuses fails the whole transaction: each message alone, then.
    for (const [index, item] of batch.entries()) {
      try {
        this.#commit([item]);
      } catch (error) {
        if (isRefusal(error)) {
          const detail = `the feed store refused this message's entries (${error.code}: ${error.message})`;
          this.#track(this.#deadLetter(item.message, { kind: 'refused', reason: 'EVENTS_UNSTORABLE', detail, decrypted: true }));
          continue;
        }
        this.#storeFailed(batch.slice(index), error);
        return false;
      }
    }
    return true;
  }

  /** One `appendMany` for `batch`, then its ACKs. @throws what the store throws (nothing is ACKed then). */
  #commit(batch: readonly Pending[]): void {
    const created = this.#o.store.appendMany(batch.flatMap((item) => item.appends)).filter((result) => result.created).length;
    this.#failuresInRow = 0;
    const entries = batch.reduce((sum, item) => sum + item.appends.length, 0);
    this.stats.batches += 1;
    this.stats.stored += created;
    this.stats.duplicates += entries - created;
    this.emit('batch', { messages: batch.length, stored: created, duplicates: entries - created });
    this.#track(this.#ackAll(batch));
  }

  async #ackAll(batch: readonly Pending[]): Promise<void> {
    const sent = await Promise.all(batch.map(({ message }) => this.#ack(message)));
    this.emit('acked', { messages: batch.length, acked: sent.filter(Boolean).length });
  }

  async #ack(message: StompMessage): Promise<boolean> {
    try {
      await message.ack();
      this.stats.acked += 1;
      return true;
    } catch (error) {
      // The connection was lost after the commit: the broker redelivers, the keys de-duplicate.
      this.#o.log?.warn('events message stored but not acknowledged; it comes back and is stored once', { error: errorText(error) });
      return false;
    }
  }

  #storeFailed(batch: Pending[], error: unknown): void {
    this.stats.storeFailures += 1;
    const delayMs = Math.min(this.#o.retryDelayMs * 2 ** this.#failuresInRow, this.#o.maxRetryDelayMs);
    this.#failuresInRow += 1;
    this.#o.log?.error('feed store failed: events kept unacknowledged, retried', { error: errorText(error), messages: batch.length, retryInMs: delayMs });
    this.emit('store-error', { error, messages: batch.length });
    const timer = setTimeout(() => this.#afterBackoff(), delayMs);
    this.#retry = { timer, batch };
  }

  /** After a store failure's pause: hand the batch back to the broker (or keep it, see the module comment) and go on. */
  #afterBackoff(): void {
    const held = this.#retry?.batch ?? [];
    this.#retry = undefined;
    if (quirksOf(this.#connection.brokerKind ?? 'unknown').nack === 'requeue') {
      for (const { message } of held) this.#track(message.nack().catch(() => undefined));
    } else {
      this.#pending.unshift(...held);
    }
    if (this.#pending.length > 0) this.#schedule();
  }

  /** Moves a refused message to the dead-letter queue (with a receipt), then ACKs it. */
  async #deadLetter(message: StompMessage, read: Extract<ReadEvents, { kind: 'refused' }>): Promise<void> {
    const headers: Record<string, string> = {
      [HEADER.dlqReason]: read.reason,
      [HEADER.dlqAt]: String(Date.now()),
      [HEADER.persistent]: 'true',
    };
    const contentType = message.headers[HEADER.contentType];
    if (contentType !== undefined) headers[HEADER.contentType] = maskPan(contentType);
    let body: Buffer | string = message.body;
    if (!read.decrypted) {
      // Not proven ciphertext: it may be anything its sender put there, a card number included.
      headers['paygate-dlq-body'] = 'withheld';
      headers['paygate-dlq-body-bytes'] = String(message.body.length);
      headers['paygate-dlq-body-hmac-sha256'] = createHmac('sha256', this.#deadLetterKey).update(message.body).digest('hex');
      body = '';
    }
    try {
      await this.#connection.send(`${this.#o.queue}${this.#o.dlqSuffix}`, body, { headers, receipt: true });
      await message.ack();
    } catch (error) {
      this.#o.log?.error('events message refused but not dead-lettered; kept for redelivery', { reason: read.reason, error: errorText(error) });
      if (quirksOf(this.#connection.brokerKind ?? 'unknown').nack === 'requeue') await message.nack().catch(() => undefined);
      return;
    }
    this.stats.deadLettered += 1;
    this.#o.log?.warn('events message dead-lettered', { reason: read.reason, detail: maskPan(read.detail) });
    this.emit('dead-letter', { reason: read.reason });
  }

  #track(promise: Promise<void>): void {
    this.#inFlight.add(promise);
    void promise.finally(() => this.#inFlight.delete(promise));
  }

  #logConnection(): void {
    const log = this.#o.log;
    if (log === undefined) return;
    this.#connection.on('node-connect', ({ node, reconnected }) => log.info(reconnected ? 'events broker reconnected' : 'events broker connected', { node }));
    this.#connection.on('node-disconnect', ({ node, error }) => log.warn('events broker connection lost', { node, code: error.code }));
    this.#connection.on('node-error', ({ node, error }) => log.warn('events broker unreachable; retrying', { node, code: error.code }));
    this.#connection.on('handler-error', ({ error }) => log.error('events handler failed', { error: errorText(error) }));
  }
}

/** A store's permanent refusal of an entry (as opposed to a failure a retry may cure). */
function isRefusal(error: unknown): error is FeedError {
  return error instanceof FeedError && (error.code === 'FEED_BAD_ENTRY' || error.code === 'FEED_BAD_NAME');
}

function errorText(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return maskPan(typeof code === 'string' ? `${code}: ${message}` : message);
}

/**
 * A consumer that has not connected yet: attach listeners, call `start()`; `stop()` may be
 * called at any time, also while `start()` still waits for a broker.
 *
 * @throws EventsError `EVENTS_BAD_OPTIONS` naming each invalid option.
 */
export function createEventsConsumer(options: EventsConsumerOptions): EventsConsumer {
  const parsed = eventsConsumerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new EventsError('EVENTS_BAD_OPTIONS', `invalid events consumer options: ${problems}`);
  }
  return new EventsConsumer(parsed.data);
}

/**
 * Starts the events consumer: connects, subscribes, and resolves once the broker confirmed the
 * subscription (see {@link EventsConsumer.start}).
 *
 * @throws EventsError `EVENTS_BAD_OPTIONS` naming each invalid option; the STOMP layer's errors.
 */
export async function startEventsConsumer(options: EventsConsumerOptions): Promise<EventsConsumer> {
  const consumer = createEventsConsumer(options);
  try {
    await consumer.start();
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    throw error;
  }
  return consumer;
}
