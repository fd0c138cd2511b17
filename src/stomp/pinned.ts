import { StompConnection } from './connection.ts';
import { StompError } from './errors.ts';
import { nodeName, parseOptions } from './options.ts';
import type { ResolvedOptions, StompNode, StompOptions } from './options.ts';

/** One pinned connection and the uses running on it. */
interface Pin {
  readonly connection: StompConnection;
  readonly ready: Promise<StompConnection>;
  users: number;
}

/**
 * Connections pinned to one node each, for frames that must go through a given node rather than
 * wherever a connection's failover or failback has taken it: a reply leaves through the node that
 * delivered its request, because with independent brokers the request's `reply-to` exists only
 * there (docs/stomp.md, "Replies go back through the delivering node").
 *
 * A pinned connection is opened when it is first used, never reconnects, never moves, and is
 * closed as soon as no use of it is running: it exists only while frames for a node other than
 * the main connection's are on their way (after a failback, the handful of requests taken on the
 * old node just before it). A node that does not answer fails the use with STOMP_CANNOT_CONNECT
 * after one attempt.
 */
export class PinnedConnections {
  readonly #options: ResolvedOptions;
  readonly #pins = new Map<string, Pin>();
  #closed = false;

  /** @param options the main connection's options: nodes, logins, TLS, timeouts are taken from them. */
  constructor(options: StompOptions) {
    this.#options = parseOptions(options);
  }

  /** Whether `node` (`host:port`) is one of the listed nodes (only those can be pinned). */
  has(node: string): boolean {
    return this.#options.nodes.some((listed) => nodeName(listed) === node);
  }

  /** How many pinned connections are open or opening now. */
  get size(): number {
    return this.#pins.size;
  }

  /**
   * Runs `use` on a connection to `node` alone (opened now unless one is open) and closes that
   * connection once no use of it is running any more.
   *
   * @throws StompError `STOMP_BAD_OPTIONS` for a node that is not listed, `STOMP_CANNOT_CONNECT`
   *   when the node does not accept a session, `STOMP_CLOSED_BY_US` after `close()`; whatever
   *   `use` throws.
   */
  async use<T>(node: string, use: (connection: StompConnection) => Promise<T>): Promise<T> {
    const pin = this.#pin(node);
    pin.users += 1;
    try {
      return await use(await pin.ready);
    } finally {
      pin.users -= 1;
      if (pin.users === 0) this.#release(node, pin);
    }
  }

  /** Closes every pinned connection; later uses fail with `STOMP_CLOSED_BY_US`. */
  async close(): Promise<void> {
    this.#closed = true;
    const pins = [...this.#pins.values()];
    this.#pins.clear();
    await Promise.all(pins.map((pin) => pin.connection.close()));
  }

  #pin(node: string): Pin {
    if (this.#closed) throw new StompError('STOMP_CLOSED_BY_US', 'pinned connections closed by us');
    const open = this.#pins.get(node);
    if (open !== undefined) return open;
    const index = this.#options.nodes.findIndex((listed) => nodeName(listed) === node);
    const listed = this.#options.nodes[index];
    if (listed === undefined) throw new StompError('STOMP_BAD_OPTIONS', `${node} is not one of the listed nodes`);
    const connection = StompConnection.create(this.#pinnedOptions(listed, index));
    const pin: Pin = { connection, ready: connection.start().then(() => connection), users: 0 };
    const forget = (): void => {
      if (this.#pins.get(node) === pin) this.#pins.delete(node);
    };
    // Lost (it never reconnects) or refused at CONNECT: the next use opens a new one.
    connection.on('close', forget);
    pin.ready.catch(forget);
    this.#pins.set(node, pin);
    return pin;
  }

  #release(node: string, pin: Pin): void {
    if (this.#pins.get(node) === pin) this.#pins.delete(node);
    pin.connection.close().catch(() => undefined); // a DISCONNECT that fails leaves nothing to clean up
  }

  /**
   * One node, one attempt, no reconnect, no failback. A `client-id` is made unique per node
   * (ActiveMQ refuses a second connection with the same client id, and the main connection's
   * session on that node may still be draining).
   */
  #pinnedOptions(node: StompNode, index: number): StompOptions {
    const options = { ...this.#options, randomStart: undefined };
    const clientId = options.connectHeaders['client-id'];
    const connectHeaders = clientId === undefined ? options.connectHeaders : { ...options.connectHeaders, 'client-id': `${clientId}.pinned-${index}` };
    return {
      ...options,
      nodes: [node],
      nodeOrder: 'listed',
      initialAttempts: 1,
      reconnect: { ...options.reconnect, enabled: false },
      failback: { ...options.failback, probeMs: 0 },
      connectHeaders,
    };
  }
}
