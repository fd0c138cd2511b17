import { isIP, connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import Client from 'stompit/lib/Client.js';
import { brokerKindOf, quirksOf } from './broker-kind.ts';
import type { BrokerKind, BrokerQuirks } from './broker-kind.ts';
import { StompError } from './errors.ts';
import { negotiateHeartBeat, watchReads } from './heartbeat.ts';
import type { NegotiatedHeartBeat } from './heartbeat.ts';
import { nodeName } from './options.ts';
import type { ResolvedOptions, StompNode } from './options.ts';
import { ReceiptTracker } from './receipts.ts';
import { queueTypeHeaders } from './queue-type.ts';

/**
 * One STOMP session with one node, on a stompit `Client`: the socket (TCP or TLS, Nagle off),
 * CONNECT within the timeout, heart-beat watchdog, frames with byte-exact `content-length`,
 * receipts, subscriptions. A session never reconnects: when it ends, its `onClose` listeners get
 * the typed reason and `connection.ts` starts another one.
 */

/** Frame headers as strings (stompit hands `content-length` over as a number). */
export type Headers = Record<string, string>;

/** A MESSAGE frame, its body read in full. */
export interface IncomingMessage {
  readonly headers: Headers;
  readonly body: Buffer;
}

type StompitClient = Client & Client.Corrections;
type SessionOptions = Pick<
  ResolvedOptions,
  'connectTimeoutMs' | 'heartBeat' | 'heartBeatGrace' | 'receiptTimeoutMs' | 'connectHeaders' | 'queueType'
>;

export class Session {
  /** `host:port`. */
  readonly name: string;
  /** The CONNECTED frame's headers (`server`, `version`, `session`, `heart-beat`). */
  readonly connected: Headers;
  readonly kind: BrokerKind;
  readonly quirks: BrokerQuirks;
  readonly heartBeat: NegotiatedHeartBeat;
  readonly #client: StompitClient;
  readonly #options: SessionOptions;
  readonly #receipts = new ReceiptTracker();
  readonly #closeListeners: ((err: StompError) => void)[] = [];
  readonly #stopWatch: () => void;
  #closing = false;
  #closedWith: StompError | undefined;

  private constructor(
    readonly node: StompNode,
    client: StompitClient,
    socket: Socket,
    options: SessionOptions,
  ) {
    this.name = nodeName(node);
    this.#client = client;
    this.#options = options;
    this.connected = stringHeaders(client.headers ?? {});
    this.kind = brokerKindOf(this.connected.server);
    this.quirks = quirksOf(this.kind);
    this.heartBeat = negotiateHeartBeat(options.heartBeat, this.connected['heart-beat']);
    client.on('error', (err: unknown) => this.#ended(err));
    client.on('end', () => this.#ended(undefined));
    this.#stopWatch = watchReads(socket, this.heartBeat.incomingMs, options.heartBeatGrace, (silentMs) => {
      const message = `nothing received for ${silentMs} ms (heart-beat every ${this.heartBeat.incomingMs} ms)`;
      client.destroy(new StompError('STOMP_READ_TIMEOUT', message, { node: this.name }));
    });
  }

  /** Opens a session: TCP/TLS connect, CONNECT, CONNECTED, all within `connectTimeoutMs`. */
  static open(node: StompNode, options: SessionOptions): Promise<Session> {
    const name = nodeName(node);
    const socket = openSocket(node);
    // stompit writes each frame in three writes and only disables Nagle when it sends heart-beats.
    socket.setNoDelay(true);
    const { outgoingMs, incomingMs } = options.heartBeat;
    // stompit's own read check is left loose (interval + margin); the watchdog is the strict one.
    const margin = Math.max(100, incomingMs);
    const client = new Client(socket, { heartbeat: [outgoingMs, incomingMs], heartbeatDelayMargin: margin }) as StompitClient;
    const headers: Headers = { 'accept-version': '1.2', host: node.vhost, ...options.connectHeaders };
    if (node.login !== undefined) headers.login = node.login;
    if (node.passcode !== undefined) headers.passcode = node.passcode;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.destroy(new StompError('STOMP_CANNOT_CONNECT', `no CONNECTED within ${options.connectTimeoutMs} ms`, { node: name }));
      }, options.connectTimeoutMs);
      client.connect(headers, (err) => {
        clearTimeout(timer);
        if (err === null) {
          resolve(new Session(node, client, socket, options));
          return;
        }
        client.on('error', () => undefined); // late socket errors of a failed attempt
        client.destroy(err);
        const cause = toStompError(err, name, false);
        const reason = cause.frame?.message ?? rawMessage(err);
        reject(new StompError('STOMP_CANNOT_CONNECT', `cannot connect: ${reason}`, { node: name, cause, frame: cause.frame }));
      });
    });
  }

  /** True once the session ended (for any reason). */
  get closed(): boolean {
    return this.#closedWith !== undefined;
  }

  /** Calls `listener` once with the reason the session ended (at once if it already has). */
  onClose(listener: (err: StompError) => void): void {
    if (this.#closedWith) queueMicrotask(() => listener(this.#closedWith as StompError));
    else this.#closeListeners.push(listener);
  }

  /**
   * Sends one frame. With a body, `content-length` is set to its length in bytes. Resolves when
   * written, or with `receipt` when the broker's RECEIPT arrives.
   */
  send(command: string, headers: Headers, body: Buffer | undefined, receipt: boolean): Promise<void> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    // The deployment's queue type goes on every frame that declares a queue (RabbitMQ only).
    const frameHeaders: Headers = { ...headers, ...queueTypeHeaders(command, headers, this.kind, this.#options.queueType) };
    if (body !== undefined) frameHeaders['content-length'] = String(body.length);
    const waiter = receipt ? this.#receipts.expect(this.#options.receiptTimeoutMs, command, this.name) : undefined;
    const frame = this.#client.sendFrame(command, frameHeaders, waiter ? { onReceipt: waiter.onReceipt } : undefined);
    const written = new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(toStompError(err, this.name, this.#closing)) : resolve());
      if (body !== undefined && body.length > 0) frame.end(body, done);
      else frame.end(done);
    });
    return waiter ? Promise.all([written, waiter.promise]).then(() => undefined) : written;
  }

  /**
   * SUBSCRIBEs with subscription id `id`; `headers` holds `destination`, `ack` and the rest.
   * Resolves when the broker confirmed it (the SUBSCRIBE carries a receipt).
   */
  subscribe(id: string, headers: Headers, listener: (message: IncomingMessage) => void): Promise<void> {
    const ack = (headers.ack ?? 'auto') as Client.Ack;
    // Registered with stompit first, then sent by us: stompit's own subscribe() takes no receipt.
    if (this.#client.getSubscription(id) === undefined) {
      this.#client.setImplicitSubscription(id, ack, (err, message) => {
        if (err === null) readMessage(message, message.headers, listener);
      });
    }
    return this.send('SUBSCRIBE', { ...headers, id }, undefined, true);
  }

  /** Accepts MESSAGE frames for a subscription the broker made on its own (RabbitMQ's temp queues). */
  acceptImplicit(id: string, listener: (message: IncomingMessage) => void): void {
    if (this.#client.getSubscription(id) !== undefined) return;
    this.#client.setImplicitSubscription(id, 'auto', (err, message) => {
      if (err === null) readMessage(message, message.headers, listener);
    });
  }

  /** UNSUBSCRIBEs a subscription made with {@link Session.subscribe}. */
  unsubscribe(id: string): void {
    if (!this.closed) this.#client.getSubscription(id)?.unsubscribe();
  }

  /** DISCONNECTs politely (waits for the receipt at most `receiptTimeoutMs`), then closes. */
  close(): Promise<void> {
    if (this.#closedWith) return Promise.resolve();
    this.#closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#client.destroy(), this.#options.receiptTimeoutMs);
      this.onClose(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#client.disconnect();
    });
  }

  /** Drops the connection at once, failing everything pending with `err`. */
  destroy(err?: StompError): void {
    if (err === undefined) this.#closing = true;
    this.#client.destroy(err);
  }

  #ended(err: unknown): void {
    if (this.#closedWith) return;
    const error = this.#closing
      ? new StompError('STOMP_CLOSED_BY_US', 'connection closed by us', { node: this.name })
      : err === undefined
        ? new StompError('STOMP_CLOSED_BY_PEER', 'connection closed by the broker', { node: this.name })
        : toStompError(err, this.name, false);
    this.#closedWith = error;
    this.#stopWatch();
    this.#receipts.failAll(error);
    for (const listener of this.#closeListeners.splice(0)) listener(error);
  }
}

function openSocket(node: StompNode): Socket {
  const { host, port, tls } = node;
  if (tls === undefined) return netConnect({ host, port });
  const servername = tls.servername ?? (isIP(host) === 0 ? host : undefined);
  return tlsConnect({ host, port, ca: tls.ca, cert: tls.cert, key: tls.key, servername, rejectUnauthorized: tls.rejectUnauthorized });
}

function stringHeaders(headers: Record<string, string | number | undefined>): Headers {
  const out: Headers = {};
  for (const [key, value] of Object.entries(headers)) if (value !== undefined) out[key] = String(value);
  return out;
}

function readMessage(
  frame: Readable,
  headers: Record<string, string | number | undefined>,
  listener: (message: IncomingMessage) => void,
): void {
  const chunks: Buffer[] = [];
  frame.on('data', (chunk: Buffer) => chunks.push(chunk));
  frame.on('end', () => listener({ headers: stringHeaders(headers), body: Buffer.concat(chunks) }));
}

/** What stompit attaches to the errors it emits (Socket.js `_createError`), plus Node's `code`. */
interface StompitError {
  readonly message?: string;
  readonly code?: string;
  readonly longMessage?: string;
  isTransportError?(): boolean;
  isProtocolError?(): boolean;
  isApplicationError?(): boolean;
}

/** The `message` of the ERROR frame the embedded broker sends every client when it stops. */
const BROKER_STOPPING_MESSAGE = 'broker shutting down';

const rawMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Maps what stompit emits to a typed error. */
export function toStompError(err: unknown, node: string, closing: boolean): StompError {
  if (err instanceof StompError) return err;
  if (closing) return new StompError('STOMP_CLOSED_BY_US', 'connection closed by us', { node, cause: err });
  const e: StompitError = typeof err === 'object' && err !== null ? err : {};
  const message = rawMessage(err);
  if (e.isApplicationError?.() === true) {
    const frame = { message, body: e.longMessage ?? '' };
    // The embedded broker's goodbye when it stops (docs/broker.md, BROKER_STOPPING): a peer that
    // went away, to fail over from like any other, not an operation of ours that it refused.
    if (message === BROKER_STOPPING_MESSAGE) return new StompError('STOMP_CLOSED_BY_PEER', 'the broker is shutting down', { node, frame, cause: err });
    return new StompError('STOMP_OPERATION_FAILED', `broker sent ERROR: ${message}`, { node, frame, cause: err });
  }
  if (e.isProtocolError?.() === true) {
    if (message.startsWith('connection ended')) return new StompError('STOMP_CLOSED_BY_PEER', message, { node, cause: err });
    return new StompError('STOMP_UNEXPECTED_DATA', `unexpected data from the broker: ${message}`, { node, cause: err });
  }
  if (message === 'connection timed out') return new StompError('STOMP_READ_TIMEOUT', 'heart-beat timed out', { node, cause: err });
  return new StompError('STOMP_IO', `socket error: ${e.code ?? message}`, { node, cause: err });
}
