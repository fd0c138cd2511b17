/**
 * The embedded broker: a TCP listener, its connections, the destinations and the optional store.
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { PaygateError } from '../errors.ts';
import { Connection } from './connection.ts';
import type { BrokerContext } from './connection.ts';
import { BrokerError } from './errors.ts';
import { resolveBrokerOptions } from './options.ts';
import type { BrokerOptions, ResolvedBrokerOptions } from './options.ts';
import { Router } from './router.ts';
import { handleFrame } from './session.ts';
import { MessageStore } from './store.ts';

const SWEEP_INTERVAL_MS = 30_000;

/**
 * Events. None is called `error`, so an unobserved one never throws: a broker must outlive its
 * clients' mistakes and its own transient failures.
 */
export interface EmbeddedBrokerEvents {
  /** A client connected (before CONNECT); its session id. */
  connection: [session: string];
  /** A client's connection is gone. */
  disconnect: [session: string];
  /** A client broke the protocol or a limit and was sent ERROR (also BROKER_INTERNAL, with the cause). */
  clientError: [error: PaygateError, session: string];
  /** A store commit failed; clients waiting for the receipts got ERROR instead. */
  storeError: [error: BrokerError];
  /** The listening socket failed after start (e.g. EMFILE on accept); the broker keeps running. */
  serverError: [error: BrokerError];
}

/**
 * A STOMP 1.0–1.2 broker in this process (docs/broker.md).
 *
 * ```ts
 * const broker = await EmbeddedBroker.start({ port: 0 });
 * // stomp://broker.host:broker.port …
 * await broker.stop();
 * ```
 */
export class EmbeddedBroker extends EventEmitter<EmbeddedBrokerEvents> {
  /** The address actually listened on. */
  readonly host: string;
  /** The port actually listened on (the ephemeral one when started with `port: 0`). */
  readonly port: number;

  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #store: MessageStore | undefined;
  readonly #context: BrokerContext;
  readonly #sweeper: NodeJS.Timeout;
  /** Distinguishes this run's ids from those of earlier runs still in the store. */
  readonly #runId = Date.now().toString(36);
  #seq: number;
  #sessions = 0;
  #stopping: Promise<void> | undefined;
  /** Set before anything closes, so teardowns during stop() see it. */
  #isStopping = false;

  private constructor(options: ResolvedBrokerOptions, server: Server, store: MessageStore | undefined, router: Router, seq: number) {
    super();
    // The options stay private: they hold the users' passcodes, and brokers get logged.
    this.#server = server;
    this.#store = store;
    this.#seq = seq;
    const address = server.address();
    this.host = options.host;
    this.port = typeof address === 'object' && address !== null ? address.port : options.port;
    const isStopping = (): boolean => this.#isStopping;
    this.#context = {
      options,
      router,
      store,
      get stopping() {
        return isStopping();
      },
      nextMessage: () => {
        const seqNo = ++this.#seq;
        return { id: `ID:paygate-${this.#runId}-${seqNo}`, seq: seqNo };
      },
      closed: (connection) => {
        if (this.#connections.delete(connection)) this.emit('disconnect', connection.session);
      },
      clientError: (error, connection) => {
        this.emit('clientError', error, connection.session);
      },
    };
    // Idle destinations are forgotten now and then (Router.sweep explains why that is safe).
    this.#sweeper = setInterval(() => router.sweep(), SWEEP_INTERVAL_MS).unref();
    server.on('connection', (socket) => this.#accept(socket));
    server.on('error', (error) => {
      this.emit('serverError', new BrokerError('BROKER_LISTEN_FAILED', `listening socket: ${error.message}`, { cause: error }));
    });
  }

  /** Validate options, open the store (when `dataDir` is given) and listen. */
  static async start(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
    const resolved = resolveBrokerOptions(options);
    let storeError: (error: BrokerError) => void = () => {};
    const store = resolved.dataDir === undefined ? undefined : MessageStore.open(resolved.dataDir, (error) => storeError(error));
    const router = new Router(store, resolved.maxDeliveries, resolved.maxQueueBytes);
    let seq = 0;
    if (store !== undefined) {
      const loaded = store.load();
      seq = loaded.maxSeq;
      for (const { queue, message } of loaded.messages) router.queue(queue).restore(message);
    }
    // allowHalfOpen: a client that half-closes mid-frame still gets its ERROR.
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(resolved.port, resolved.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      store?.close();
      throw new BrokerError('BROKER_LISTEN_FAILED', `cannot listen on ${resolved.host}:${resolved.port}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const broker = new EmbeddedBroker(resolved, server, store, router, seq);
    storeError = (error) => broker.emit('storeError', error);
    return broker;
  }

  /** `stomp://host:port`, what `paygate broker` prints. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `stomp://${host}:${this.port}`;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Stop gracefully: stop accepting, send every client an ERROR (`message: broker shutting down`)
   * and close it, commit the store and close it. Unacknowledged persistent messages stay stored.
   */
  stop(): Promise<void> {
    this.#isStopping = true;
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    clearInterval(this.#sweeper);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const sockets = [...this.#connections].map((connection) => {
      const gone = new Promise<void>((resolve) => {
        if (connection.socket.destroyed) resolve();
        else connection.socket.once('close', () => resolve());
      });
      connection.fail('broker shutting down', 'the broker is stopping; reconnect to another node', undefined, 'BROKER_STOPPING');
      return gone;
    });
    await Promise.all(sockets);
    await closed;
    this.#store?.close();
  }

  #accept(socket: Socket): void {
    if (this.#isStopping) {
      socket.destroy();
      return;
    }
    const session = `paygate-${this.#runId}-${++this.#sessions}`;
    const connection = new Connection(socket, session, this.#context, handleFrame);
    this.#connections.add(connection);
    this.emit('connection', session);
  }
}
