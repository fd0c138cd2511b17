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
 * Sends go out concurrently (a reply does not wait for the previous one's receipt: serialising
 * them capped a busy worker at about one reply per event-loop turn, measured at 45 % fewer
 * round trips at 64 requests in flight, docs/benchmarks.md). A refusal closes the connection
 * and so fails every send in flight with it, the guilty one and the innocent ones alike. So a
 * send that fails on the concurrent path is tried once more on a serial path, where each SEND
 * waits until the previous one was confirmed or refused; while anything waits there, new sends
 * take it too. On the serial path a send is alone on the wire, so its failure is its own: only
 * then does it reach the worker, which counts it against that request (`max_reply_attempts`).
 * The innocent ones simply go out again; the guilty one is refused again and reported.
 */
import { StompConnection, type StompOptions } from '../stomp/index.ts';

/** A receipted SEND path on its own connection, whose failures are each the failing send's own. */
export class Publisher {
  readonly connection: StompConnection;
  /** The serial path: the last send on it, settled or not. */
  #serialTail: Promise<unknown> = Promise.resolve();
  /** Sends waiting on or travelling the serial path. */
  #serialWaiting = 0;

  private constructor(connection: StompConnection) {
    this.connection = connection;
  }

  /** Connects the publishing connection (a second connection with `options`). */
  static async connect(options: StompOptions): Promise<Publisher> {
    return new Publisher(await StompConnection.connect(options));
  }

  /**
   * SENDs `body` to `destination` with a receipt. Resolves once the broker confirmed it; rejects
   * only with a failure that belongs to this send (the StompError of the ERROR that refused it,
   * `STOMP_OPERATION_FAILED`, or of a connection lost while it was the only send on the wire).
   */
  send(destination: string, body: string | Buffer, headers: Readonly<Record<string, string>>): Promise<void> {
    const once = (): Promise<void> => this.connection.send(destination, body, { headers: { ...headers }, receipt: true });
    if (this.#serialWaiting > 0) return this.#serially(once);
    return once().catch(() => this.#serially(once));
  }

  #serially(send: () => Promise<void>): Promise<void> {
    this.#serialWaiting++;
    const sent = this.#serialTail.then(send);
    this.#serialTail = sent.catch(() => undefined);
    return sent.finally(() => {
      this.#serialWaiting--;
    });
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
