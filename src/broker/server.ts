/**
 * The embedded broker: a TCP listener, its connections, the destinations and the optional store.
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { PaygateError } from '../errors.ts';
import { encodeFrame } from '../stomp/frame.ts';
import { AccessControl } from './access.ts';
import { Connection } from './connection.ts';
import type { BrokerContext } from './connection.ts';
import { BROKER_LIMITS, BrokerError, BrokerLimitError } from './errors.ts';
import type { BrokerLimit } from './errors.ts';
import { MemoryBudget } from './memory.ts';
import type { BrokerMessage } from './message.ts';
import { checkExposure, resolveBrokerOptions } from './options.ts';
import type { BrokerOptions, ResolvedBrokerOptions } from './options.ts';
import { Router } from './router.ts';
import type { RouterHooks } from './router.ts';
import { handleFrame } from './session.ts';
import { MessageStore } from './store.ts';
import { Tap } from './tap.ts';
import type { TapStats } from './tap.ts';

const SWEEP_INTERVAL_MS = 30_000;
/** How long a refused connection may take to read its ERROR before it is cut. */
const REFUSE_GRACE_MS = 2000;

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
  /**
   * A limit was applied: a connection refused or closed with ERROR `BROKER_LIMIT` (`limit`
   * header), or a prefetch lowered to `maxPrefetch`. Operators log it at warn level.
   */
  limit: [info: LimitHit];
  /** A store commit failed; clients waiting for the receipts got ERROR instead. */
  storeError: [error: BrokerError];
  /** The listening socket failed after start (e.g. EMFILE on accept); the broker keeps running. */
  serverError: [error: BrokerError];
  /**
   * A message was dropped because its `expires` passed: at SEND, at delivery, at the periodic
   * sweep, or when loaded from the store at start (those are emitted just after `start` resolves).
   */
  expired: [info: ExpiredMessage];
  /**
   * The `tap` sink threw: emitted when it starts failing, not for every message it then misses
   * (`stats.tap.failed` counts those). The broker keeps serving. The error is the sink's own.
   */
  tapFailed: [error: unknown];
}

/** What the `expired` event tells: never the body nor the producer's headers. */
export interface ExpiredMessage {
  /** Where it was waiting (`/queue/…`, `/topic/…`, `/remote-temp-queue/…`). */
  readonly destination: string;
  readonly messageId: string;
  /** How long after its `expires` it was dropped (now − expires), in ms. */
  readonly ageMs: number;
}

/** What the `limit` event tells: which limit, to whom, and the message the client got. */
export interface LimitHit {
  readonly limit: BrokerLimit;
  /** The connection's session id (`undefined` for a connection refused by `maxConnections`, which never got one). */
  readonly session: string | undefined;
  readonly message: string;
}

/** Counters since start (`broker.stats`). */
export interface BrokerStats {
  /** Messages dropped because their `expires` passed. */
  expiredDropped: number;
  /** Messages moved to a dead-letter queue (or dropped from a temp queue) after too many deliveries. */
  deadLettered: number;
  /** CONNECTs refused for a missing, unknown or wrong login (BROKER_AUTH_FAILED). */
  authFailures: number;
  /** SUBSCRIBEs and SENDs refused for lack of a right (BROKER_FORBIDDEN). */
  forbidden: number;
  /** Times each limit was applied (ERROR `BROKER_LIMIT` naming it, or a prefetch lowered). */
  limits: Record<BrokerLimit, number>;
  /** With the `tap` option: SENDs handed to its sink, and those it refused (missing from the capture). */
  tap?: TapStats;
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
  readonly #stats: BrokerStats = {
    expiredDropped: 0,
    deadLettered: 0,
    authFailures: 0,
    forbidden: 0,
    limits: Object.fromEntries(BROKER_LIMITS.map((limit) => [limit, 0])) as Record<BrokerLimit, number>,
  };
  readonly #options: ResolvedBrokerOptions;
  readonly #budget: MemoryBudget;
  /** Open connections per proven login, and which login each counted connection was counted for. */
  readonly #perLogin = new Map<string, number>();
  readonly #admitted = new WeakMap<Connection, string>();
  /** Open connections per remote address. */
  readonly #perAddress = new Map<string, number>();
  readonly #secure: boolean;
  readonly #tap: Tap | undefined;

  private constructor(
    options: ResolvedBrokerOptions,
    server: Server,
    store: MessageStore | undefined,
    router: Router,
    seq: number,
    access: AccessControl,
    budget: MemoryBudget,
  ) {
    super();
    this.#options = options;
    this.#budget = budget;
    this.#secure = options.tls !== undefined;
    this.#tap = options.tap === undefined ? undefined : new Tap(options.tap, (error) => this.emit('tapFailed', error));
    // The options stay private: they hold password hashes and TLS keys, and brokers get logged.
    this.#server = server;
    this.#store = store;
    this.#seq = seq;
    const address = server.address();
    this.host = options.host;
    this.port = typeof address === 'object' && address !== null ? address.port : options.port;
    const isStopping = (): boolean => this.#isStopping;
    this.#context = {
      options,
      access,
      router,
      store,
      budget,
      tap: this.#tap,
      get stopping() {
        return isStopping();
      },
      nextMessage: () => {
        const seqNo = ++this.#seq;
        return { id: `ID:paygate-${this.#runId}-${seqNo}`, seq: seqNo };
      },
      closed: (connection) => {
        this.#release(connection);
        if (this.#connections.delete(connection)) this.emit('disconnect', connection.session);
      },
      admit: (connection, login) => this.#admit(connection, login),
      clientError: (error, connection) => {
        if (error.code === 'BROKER_AUTH_FAILED') this.#stats.authFailures++;
        else if (error.code === 'BROKER_FORBIDDEN') this.#stats.forbidden++;
        this.emit('clientError', error, connection.session);
        if (error instanceof BrokerLimitError) this.#limited(error.limit, error.message, connection.session);
      },
      limited: (limit, message, connection) => this.#limited(limit, message, connection.session),
    };
    // Idle destinations are forgotten now and then (Router.sweep explains why that is safe).
    this.#sweeper = setInterval(() => router.sweep(), SWEEP_INTERVAL_MS).unref();
    // A TLS server's 'connection' is the raw TCP socket; the STOMP session starts after the handshake.
    if (this.#secure) {
      server.on('secureConnection', (socket: Socket) => this.#accept(socket));
      // A failed or timed-out handshake (handshakeTimeout = connectTimeout): node leaves the socket open.
      server.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy());
    }
    else server.on('connection', (socket) => this.#accept(socket));
    server.on('error', (error) => {
      this.emit('serverError', new BrokerError('BROKER_LISTEN_FAILED', `listening socket: ${error.message}`, { cause: error }));
    });
  }

  /**
   * Validate options (a non-loopback `host` without `users` is refused before anything listens),
   * open the store (when `dataDir` is given) and listen.
   */
  static async start(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
    const resolved = resolveBrokerOptions(options);
    checkExposure(resolved);
    const access = new AccessControl(resolved.users);
    const server = createListener(resolved);
    // Events of the store and the queues before the broker object exists are replayed to it.
    const made: { broker?: EmbeddedBroker } = {};
    const early: Array<(b: EmbeddedBroker) => void> = [];
    const toBroker = (event: (b: EmbeddedBroker) => void): void => (made.broker === undefined ? void early.push(event) : event(made.broker));
    const hooks: RouterHooks = {
      expired: (message, now) => toBroker((b) => b.#onExpired(message, now)),
      deadLettered: () => toBroker((b) => void b.#stats.deadLettered++),
    };
    const store = resolved.dataDir === undefined ? undefined : MessageStore.open(resolved.dataDir, (error) => toBroker((b) => b.emit('storeError', error)));
    const budget = new MemoryBudget(resolved.maxTotalBytes);
    const router = new Router(store, resolved, hooks, budget);
    let seq = 0;
    if (store !== undefined) {
      const loaded = store.load();
      seq = loaded.maxSeq;
      const now = Date.now();
      for (const { queue, message } of loaded.messages) router.queue(queue).restore(message, now);
    }
    await listen(server, resolved, store);
    const broker = new EmbeddedBroker(resolved, server, store, router, seq, access, budget);
    // Replayed after `await start()` returned, so the caller's listeners are attached by then.
    setImmediate(() => {
      made.broker = broker;
      for (const event of early.splice(0)) event(broker);
    });
    return broker;
  }

  /** `stomp://host:port` (`stomp+ssl://` with TLS), what `paygate broker` prints. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.#secure ? 'stomp+ssl' : 'stomp'}://${host}:${this.port}`;
  }

  /** Counters since start (a copy). */
  get stats(): BrokerStats {
    const tap = this.#tap?.stats;
    return { ...this.#stats, limits: { ...this.#stats.limits }, ...(tap === undefined ? {} : { tap }) };
  }

  /**
   * Bytes counted against `maxTotalBytes` now: queued messages (waiting and unacknowledged),
   * frames held in open transactions and frames being received. 0 when nothing is held.
   */
  get heldBytes(): number {
    return this.#budget.used;
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

  #admit(connection: Connection, login: string): void {
    const { maxConnectionsPerLogin } = this.#options;
    const count = this.#perLogin.get(login) ?? 0;
    if (count >= maxConnectionsPerLogin) {
      throw new BrokerLimitError('maxConnectionsPerLogin', `login ${login} already holds ${count} connections (maxConnectionsPerLogin)`);
    }
    this.#perLogin.set(login, count + 1);
    this.#admitted.set(connection, login);
  }

  #release(connection: Connection): void {
    const login = this.#admitted.get(connection);
    if (login === undefined) return;
    this.#admitted.delete(connection);
    const left = (this.#perLogin.get(login) ?? 1) - 1;
    if (left === 0) this.#perLogin.delete(login);
    else this.#perLogin.set(login, left);
  }

  #limited(limit: BrokerLimit, message: string, session: string | undefined): void {
    this.#stats.limits[limit]++;
    this.emit('limit', { limit, session, message });
  }

  /**
   * One connection too many: ERROR (STOMP 1.0 rules, nothing was negotiated) and close, before
   * anything is read from it, so it costs no parser and no session. Those already open go on.
   */
  #refuseConnection(socket: Socket, limit: BrokerLimit, message: string): void {
    socket.on('error', () => {});
    socket.end(encodeFrame('ERROR', { message, code: 'BROKER_LIMIT', limit, 'content-type': 'text/plain' }, message, '1.0'));
    setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
    this.#limited(limit, message, undefined);
  }

  #onExpired(message: BrokerMessage, now: number): void {
    this.#stats.expiredDropped++;
    this.emit('expired', { destination: message.destination, messageId: message.id, ageMs: now - message.expires });
  }

  #accept(socket: Socket): void {
    if (this.#isStopping) {
      socket.destroy();
      return;
    }
    const { maxConnections, maxConnectionsPerAddress } = this.#options;
    if (this.#connections.size >= maxConnections) {
      return this.#refuseConnection(socket, 'maxConnections', `too many connections (maxConnections ${maxConnections}); try again later`);
    }
    const address = socket.remoteAddress ?? '';
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= maxConnectionsPerAddress) {
      const message = `too many connections from one address (maxConnectionsPerAddress ${maxConnectionsPerAddress}); try again later`;
      return this.#refuseConnection(socket, 'maxConnectionsPerAddress', message);
    }
    this.#perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    });
    const session = `paygate-${this.#runId}-${++this.#sessions}`;
    const connection = new Connection(socket, session, this.#context, handleFrame);
    this.#connections.add(connection);
    this.emit('connection', session);
  }
}

/** A TCP or TLS listener; TLS material that node refuses is `BROKER_BAD_OPTION` at start. */
function createListener(options: ResolvedBrokerOptions): Server {
  // allowHalfOpen: a client that half-closes mid-frame still gets its ERROR.
  if (options.tls === undefined) return createServer({ allowHalfOpen: true, noDelay: true });
  const { cert, key, ca, requestCert } = options.tls;
  try {
    createSecureContext({ cert, key, ca });
  } catch (error) {
    throw new BrokerError('BROKER_BAD_OPTION', `tls: cannot use the certificate and key: ${(error as Error).message}`, { cause: error });
  }
  return createTlsServer({
    cert,
    key,
    ca,
    requestCert,
    rejectUnauthorized: requestCert,
    // Not half-open: a client that gives up during the handshake must not leave a socket that
    // nobody ends (it is no Connection yet). TLS has its own close (close_notify) anyway.
    allowHalfOpen: false,
    noDelay: true,
    handshakeTimeout: options.connectTimeout,
  });
}

async function listen(server: Server, options: ResolvedBrokerOptions, store: MessageStore | undefined): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    store?.close();
    throw new BrokerError('BROKER_LISTEN_FAILED', `cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
