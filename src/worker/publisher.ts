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
 *
 * A reply leaves through the node that delivered its request (`via`). With independent brokers
 * a request's `reply-to` exists only on the broker it came from, and the publishing connection
 * moves (failback, failover) on its own: a request taken on the backup just before a failback
 * would otherwise have its reply sent, and silently dropped, on the primary, while its client
 * waits on the backup. When the publishing connection is not on that node, the send goes out on
 * a connection pinned to it (src/stomp/pinned.ts), opened for the purpose and closed once no
 * send needs it. Not on the consuming connection's old session, although it is still draining
 * there: a refused SEND would end that session and hand every request it still holds back to a
 * broker nobody consumes from any more. So isolation holds on this path too: a refusal costs only
 * the pinned connection. The cost is bounded: one connection per node at most, alive only while
 * sends to it are in flight, which happens only for the requests delivered by a node the
 * publisher is not on (those in hand when it moved, at most the prefetch). A node that is gone
 * fails the send (STOMP_CANNOT_CONNECT) like any failed reply: the worker requeues and counts it.
 */
import { PinnedConnections, StompConnection, type StompOptions } from '../stomp/index.ts';

/** A receipted SEND path on its own connection, whose failures are each the failing send's own. */
export class Publisher {
  readonly connection: StompConnection;
  /** Connections to the other nodes, for sends that must leave through one of them. */
  readonly #pinned: PinnedConnections;
  /** The serial path: the last send on it, settled or not. */
  #serialTail: Promise<unknown> = Promise.resolve();
  /** Sends waiting on or travelling the serial path. */
  #serialWaiting = 0;
  /** While the publishing connection is between nodes: resolves once it is up again (or over). */
  #settling: Promise<void> | undefined;

  private constructor(connection: StompConnection, options: StompOptions) {
    this.connection = connection;
    this.#pinned = new PinnedConnections(options);
  }

  /** Connects the publishing connection (a second connection with `options`). */
  static async connect(options: StompOptions): Promise<Publisher> {
    return new Publisher(await StompConnection.connect(options), options);
  }

  /**
   * SENDs `body` to `destination` with a receipt, through node `via` (`host:port`, the node that
   * delivered the request answered) when given and listed. Resolves once the broker confirmed it;
   * rejects only with a failure that belongs to this send (the StompError of the ERROR that
   * refused it, `STOMP_OPERATION_FAILED`, of a connection lost while it was the only send on the
   * wire, or `STOMP_CANNOT_CONNECT` when `via` is down).
   */
  send(destination: string, body: string | Buffer, headers: Readonly<Record<string, string>>, via?: string): Promise<void> {
    const options = { headers: { ...headers }, receipt: true };
    // Decided at each attempt, on a connection that is up: a retry on the serial path follows a
    // move made meanwhile, and a send issued while the connection is between nodes waits to see
    // where it lands (after a refused SEND, listed order tries the next node first).
    const once = (): Promise<void> => {
      if (via !== undefined && !this.connection.connected && !this.connection.closed) return this.#settled().then(once);
      if (this.#mustPin(via)) return this.#pinned.use(via, (pinned) => pinned.send(destination, body, options));
      return this.connection.send(destination, body, options);
    };
    if (this.#serialWaiting > 0) return this.#serially(once);
    return once().catch(() => this.#serially(once));
  }

  /** Whether a send through `via` needs a pinned connection: the publishing connection is on another node. */
  #mustPin(via: string | undefined): via is string {
    return via !== undefined && this.connection.connected && via !== this.connection.node && this.#pinned.has(via);
  }

  /** Resolves once the publishing connection is up again, or over (one pair of listeners for every send waiting). */
  #settled(): Promise<void> {
    this.#settling ??= new Promise((resolve) => {
      const done = (): void => {
        this.connection.off('node-connect', done);
        this.connection.off('close', done);
        this.#settling = undefined;
        resolve();
      };
      this.connection.on('node-connect', done);
      this.connection.on('close', done);
    });
    return this.#settling;
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

  /** Pinned connections open now (sends in flight through a node the publisher is not on). */
  get pinned(): number {
    return this.#pinned.size;
  }

  /** Closes the connections; sends still waiting fail with `STOMP_CLOSED_BY_US`. */
  async close(): Promise<void> {
    await Promise.all([this.connection.close(), this.#pinned.close()]);
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
