/**
 * The worker's publishing connection: replies and dead letters leave on a STOMP connection of
 * their own, never on the one that consumes requests.
 *
 * Why: a broker answers a SEND it refuses (a reply-to that is gone on ActiveMQ, a full queue, a
 * destination the login may not write) with an ERROR frame and closes that connection. On the
 * consuming connection, one such reply failed every reply and ACK in flight and handed every
 * unacknowledged request back to the broker: one hostile `reply-to` per message was enough to
 * keep a worker from answering anyone. Here a refused SEND costs only this connection, which
 * reconnects by itself (src/stomp); the subscriptions are never touched.
 *
 * Sends are serialised: the next SEND is written only once the previous one was confirmed
 * (RECEIPT) or refused. An ERROR therefore always belongs to the one SEND in flight, so a refused
 * reply is that message's failure alone, and the sends queued behind it go out on the next
 * session. The cost is one broker round trip per reply (~0.3 ms on loopback, docs/benchmarks.md),
 * far below the worker's per-request work.
 */
import { StompConnection, type StompOptions } from '../stomp/index.ts';

/** A serialised, receipted SEND path on its own connection. */
export class Publisher {
  readonly connection: StompConnection;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(connection: StompConnection) {
    this.connection = connection;
  }

  /** Connects the publishing connection (a second connection with `options`). */
  static async connect(options: StompOptions): Promise<Publisher> {
    return new Publisher(await StompConnection.connect(options));
  }

  /**
   * SENDs `body` to `destination` with a receipt, after every earlier send of this publisher
   * settled. Resolves once the broker confirmed it; rejects with the StompError that refused it
   * (`STOMP_OPERATION_FAILED` for an ERROR frame) or that ended the connection.
   */
  send(destination: string, body: string | Buffer, headers: Readonly<Record<string, string>>): Promise<void> {
    const sent = this.#tail.then(() => this.connection.send(destination, body, { headers: { ...headers }, receipt: true }));
    this.#tail = sent.catch(() => undefined);
    return sent;
  }

  /** Whether the publishing connection is up now. */
  get connected(): boolean {
    return this.connection.connected;
  }

  /** Closes the connection; sends still waiting fail with `STOMP_CLOSED_BY_US`. */
  close(): Promise<void> {
    return this.connection.close();
  }
}

/**
 * The publishing connection's options: `publisher` when given, else the consuming connection's
 * own. A `client-id` CONNECT header is made unique (ActiveMQ refuses a second connection with
 * the same client id).
 */
export function publisherOptions(stomp: StompOptions, publisher: StompOptions | undefined): StompOptions {
  if (publisher !== undefined) return publisher;
  const clientId = stomp.connectHeaders?.['client-id'];
  if (clientId === undefined) return stomp;
  return { ...stomp, connectHeaders: { ...stomp.connectHeaders, 'client-id': `${clientId}.publisher` } };
}
