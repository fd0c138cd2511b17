/**
 * The feed server's side of the events queue, for the worker's tests: a connection with the
 * broker's `feed` login that consumes an events queue of its own, opens every message with the
 * feed identity (the test PKI's `feed`), checks that the gateway signed it and validates it with
 * the contract's schema (src/audit/events.ts). Nothing of src/feed: the worker is checked against
 * the contract, not against the consumer that is built beside it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { eventsDocumentSchema, type AuditRecord, type EventsDocument, type PaymentEvent } from '../../src/audit/events.ts';
import { StompConnection, type StompMessage } from '../../src/stomp/index.ts';
import { Certificate, decodeYaml, loadIdentity, open, TrustStore } from '../../src/wire/index.ts';
import type { BrokerDescriptor } from '../helpers/brokers.ts';
import type { TestPki } from '../helpers/pki.ts';
import { Inbox } from '../integration/support.ts';
import { nodeAs, WAIT_MS } from './harness.ts';

/** A fresh events queue (one name segment after `paygate.feed.`, as the `feed` role's rights require). */
export const freshEventsQueue = (): string => `/queue/paygate.feed.events-t${randomBytes(4).toString('hex')}`;

/** SHA-256 hex of bytes (a body as sent or received). */
export const sha256 = (data: string | Buffer): string => createHash('sha256').update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest('hex');

/** One events message as the feed server would see it. */
export interface ReceivedEvents {
  readonly message: StompMessage;
  /** The decrypted YAML, as signed. */
  readonly yaml: string;
  readonly document: EventsDocument;
  readonly audit: AuditRecord;
  readonly auditKey: string;
  readonly payment: PaymentEvent | undefined;
  readonly paymentKey: string | undefined;
}

export class EventsReader {
  readonly #inbox = new Inbox();
  readonly #connection: StompConnection;
  readonly #pki: TestPki;
  readonly #received: ReceivedEvents[] = [];

  private constructor(connection: StompConnection, pki: TestPki) {
    this.#connection = connection;
    this.#pki = pki;
  }

  /** Subscribes to `queue` as the `feed` login (confirmed before it resolves). */
  static async start(broker: BrokerDescriptor & { port: number }, queue: string, pki: TestPki): Promise<EventsReader> {
    const connection = await StompConnection.connect({ nodes: [nodeAs(broker, 'feed')], connectTimeoutMs: 3_000 });
    const reader = new EventsReader(connection, pki);
    await connection.subscribe(queue, reader.#inbox.handler, { ack: 'auto' }).ready;
    return reader;
  }

  /** Every events message received so far, opened. */
  get received(): readonly ReceivedEvents[] {
    while (this.#received.length < this.#inbox.messages.length) this.#received.push(this.#open(this.#inbox.messages[this.#received.length] as StompMessage));
    return this.#received;
  }

  /** Waits for the events message whose audit record matches `match`. */
  async waitFor(match: (received: ReceivedEvents) => boolean, timeoutMs = WAIT_MS): Promise<ReceivedEvents> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching events message within ${timeoutMs} ms (${this.received.length} received)`);
      await this.#inbox.waitFor(this.#inbox.messages.length + 1, left).catch(() => undefined);
    }
  }

  /** The events messages of request `id`. */
  of(requestId: string): ReceivedEvents[] {
    return this.received.filter((received) => received.audit.request_id === requestId);
  }

  #open(message: StompMessage): ReceivedEvents {
    const feed = loadIdentity(this.#pki.feed.certPem, this.#pki.feed.keyPem);
    const opened = open(message.body, { identity: feed, trust: new TrustStore([this.#pki.ca.certPem]) });
    if (opened.signer.fingerprint !== Certificate.from(this.#pki.gateway.certPem).fingerprint) throw new Error('events not signed by the gateway');
    const document = eventsDocumentSchema.parse(decodeYaml(opened.yaml));
    const [first, second] = document.events;
    if (first?.kind !== 'audit') throw new Error('the first event is not the audit record');
    if (second !== undefined && second.kind !== 'payment') throw new Error('the second event is not a payment event');
    return {
      message,
      yaml: opened.yaml,
      document,
      audit: first.record,
      auditKey: first.key,
      payment: second?.record,
      paymentKey: second?.key,
    };
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}
