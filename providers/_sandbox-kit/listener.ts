import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';

/**
 * A sandbox's HTTPS listener: a real `node:https` server on loopback that can be taken down
 * (stop listening and cut every connection, so new calls get ECONNREFUSED) and brought up
 * again on the same port.
 */
export class HttpsListener {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port: number;
  #listening = false;

  constructor(
    private readonly host: string,
    port: number,
    tls: { cert: string; key: string },
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ) {
    this.#port = port;
    this.#server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // A client that resets mid-handshake is no reason to crash a test run.
    this.#server.on('tlsClientError', () => undefined);
  }

  /** The port (known once listening; kept across down/up). */
  get port(): number {
    return this.#port;
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** Starts listening (on the same port as before, after a {@link stop}). */
  async start(): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => reject(error);
      this.#server.once('error', failed);
      this.#server.listen(this.#port, this.host, () => {
        this.#server.off('error', failed);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address !== null && typeof address === 'object') this.#port = address.port;
    this.#listening = true;
  }

  /** Stops listening and destroys every open connection (hung calls included). */
  async stop(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
