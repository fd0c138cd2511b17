// A TCP proxy for fault injection: forwards 127.0.0.1:<port> to a target, and can
// - freeze(): stop forwarding in both directions while keeping every socket open (a peer that
//   died without a FIN: a pulled cable, a hung host), the case only heart-beats detect; a side
//   that closes meanwhile is not reported to the other either;
// - drop(): close the current connections (a broker crash, seen from the client);
// - refuse(): close new connections at once (a node that is down but may come back);
// - close(): also stop listening (a node that is gone).
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';

export class TcpProxy {
  readonly host = '127.0.0.1';
  #frozen = false;
  /**
   * Bytes the proxy has read from each side, forwarded or not (frozen). On an idle STOMP
   * connection these are heart-beats, one byte each: a clock that runs at the peers' pace.
   */
  readonly received = { fromClient: 0, fromTarget: 0 };
  #refusing = false;
  readonly #pairs = new Set<[Socket, Socket]>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on an ephemeral port of 127.0.0.1 and forwards each connection to target. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    const proxy = new TcpProxy(server, address.port);
    server.on('connection', (client: Socket) => proxy.accept(client, targetHost, targetPort));
    return proxy;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.#pairs.size;
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const upstream = connect({ host, port });
    // Bytes pass at once, as on a direct connection: Nagle would hold a heart-beat back behind
    // the peer's delayed ACK, and a broker with a tight read check could take that for silence.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      const side = from === client ? 'fromClient' : 'fromTarget';
      from.on('data', (chunk: Buffer) => {
        this.received[side] += chunk.length;
        if (!this.#frozen) to.write(chunk);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('error', () => undefined);
      // Frozen, a close is not passed on either: the other side must see silence, nothing else.
      socket.on('close', () => (this.#frozen ? socket.destroy() : end()));
    }
  }

  /** Whether forwarding is stopped. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Stops forwarding bytes (both ways, every connection, new ones too); sockets stay open. */
  freeze(): void {
    this.#frozen = true;
  }

  /** Forwards again. */
  thaw(): void {
    this.#frozen = false;
  }

  /** Closes every current connection (both sides); keeps listening. */
  drop(): void {
    for (const [client, upstream] of [...this.#pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  /** Closes new connections at once (a node that is down), or accepts them again. */
  refuse(refusing = true): void {
    this.#refusing = refusing;
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
