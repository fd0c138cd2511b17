import { EventEmitter } from 'node:events';
import './stompit-guard.ts'; // stompit's ERROR handler fixed before any client connects
import type { BrokerKind } from './broker-kind.ts';
import type { StompEvents } from './events.ts';
import { StompError } from './errors.ts';
import { Drains, FailbackProbe } from './failback.ts';
import type { NegotiatedHeartBeat } from './heartbeat.ts';
import { StompMessage } from './message.ts';
import type { AckOptions } from './message.ts';
import { NodeList } from './nodes.ts';
import { nodeName, parseOptions } from './options.ts';
import type { ResolvedOptions, StompOptions } from './options.ts';
import { SendQueue } from './send-queue.ts';
import type { Operation } from './send-queue.ts';
import { Session } from './session.ts';
import type { Headers, IncomingMessage } from './session.ts';
import { SubscriptionRegistry } from './subscriptions.ts';
import type { MessageHandler, SubscribeOptions, Subscription, SubscriptionEntry } from './subscriptions.ts';
import { Requester, tempQueueName } from './temp-queue.ts';
import type { ReplyQueue, RequestOptions } from './temp-queue.ts';
import { Transaction } from './transaction.ts';

/** Options of `send`. */
export interface SendOptions {
  /** More headers (`persistent`, `content-type`, `expires`, …). `content-length` is always ours. */
  readonly headers?: Headers;
  /** Resolve only once the broker confirmed (RECEIPT); reject on ERROR or after `receiptTimeoutMs`. */
  readonly receipt?: boolean;
}

type State = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * A STOMP connection to a list of nodes, on stompit. Starts at the first node (`nodeOrder:
 * listed`, the default) or a random one, fails over to the next one when a connection is lost or
 * refused, reconnects with backoff, SUBSCRIBEs again to everything it held, and queues frames (up
 * to `sendQueueLimit`) while no node is up. In listed order it moves back to a node listed
 * earlier once that node accepts a session again (failback.ts). See docs/stomp.md.
 */
export class StompConnection extends EventEmitter<StompEvents> {
  readonly options: ResolvedOptions;
  readonly #nodes: NodeList;
  readonly #queue: SendQueue;
  readonly #subscriptions: SubscriptionRegistry;
  readonly #requester: Requester;
  readonly #handlers = new Map<string, MessageHandler>();
  #session: Session | undefined;
  #generation = 0;
  /** The generation each session was attached as (a draining session keeps its own). */
  readonly #generations = new WeakMap<Session, number>();
  /** When each session was attached (performance.now()): how long it lasted, when lost. */
  readonly #connectedAt = new WeakMap<Session, number>();
  /** The sessions on which the broker confirmed every subscription restored. */
  readonly #subscribed = new WeakSet<Session>();
  /** Sessions left behind by a failback, by generation, until their drain ends. */
  readonly #draining = new Drains<Session>((node) => this.emit('node-drained', { node }));
  #probe: FailbackProbe | undefined;
  #state: State = 'connecting';
  #wake: (() => void) | undefined;
  #nextTransaction = 0;
  #started = false;

  private constructor(options: ResolvedOptions) {
    super();
    this.options = options;
    this.#nodes = new NodeList(options);
    this.#queue = new SendQueue(options.sendQueueLimit);
    this.#subscriptions = new SubscriptionRegistry((entry, message, session) => this.#deliver(entry, message, session));
    this.#requester = new Requester(this);
  }

  /**
   * Validates `options` (STOMP_BAD_OPTIONS) and connects. Tries `initialAttempts` nodes (default:
   * each node once), then rejects with STOMP_CANNOT_CONNECT.
   */
  static async connect(options: StompOptions): Promise<StompConnection> {
    const connection = StompConnection.create(options);
    await connection.start();
    return connection;
  }

  /**
   * Validates `options` and returns a connection that has not connected yet: attach listeners
   * (to see the first `node-connect` and `node-error` events too), then call `start()`.
   */
  static create(options: StompOptions): StompConnection {
    return new StompConnection(parseOptions(options));
  }

  /** Makes the first connection (see {@link StompConnection.connect}); once only. */
  async start(): Promise<void> {
    if (this.#started) throw new StompError('STOMP_BAD_OPTIONS', 'start() was already called');
    this.#started = true;
    const session = await this.#connectLoop(this.options.initialAttempts ?? this.options.nodes.length);
    this.#attach(session, false);
  }

  /** True while a session is up. */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** True once the connection is over: `close()` was called, or reconnecting gave up. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** The CONNECTED headers of the current session (`server`, `version`, `session`, `heart-beat`). */
  get session(): Readonly<Headers> | undefined {
    return this.#session?.connected;
  }

  /** `host:port` of the current node. */
  get node(): string | undefined {
    return this.#session?.name;
  }

  /** What the current broker is, from its `server` header. */
  get brokerKind(): BrokerKind | undefined {
    return this.#session?.kind;
  }

  /** The heart-beat intervals negotiated with the current node. */
  get heartBeat(): NegotiatedHeartBeat | undefined {
    return this.#session?.heartBeat;
  }

  /**
   * SENDs `body` (a string is sent as UTF-8) with a byte-exact `content-length`. Resolves when
   * written, or with `receipt` when confirmed. While reconnecting it waits in the send queue.
   */
  send(destination: string, body: string | Uint8Array, options: SendOptions = {}): Promise<void> {
    const headers: Headers = { ...options.headers, destination };
    const encoded = this.encode(body);
    return this.dispatch((session) => session.send('SEND', headers, encoded, options.receipt ?? false));
  }

  /** Subscribes; `client-individual` acknowledgement unless `options.ack` says otherwise. */
  subscribe(destination: string, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    const entry = this.#subscriptions.add(destination, options, this.options.prefetch);
    this.#handlers.set(entry.id, handler);
    if (this.#session) void this.#subscriptions.subscribeOn(this.#session, entry);
    return { id: entry.id, destination, ready: entry.ready, unsubscribe: () => this.#unsubscribe(entry) };
  }

  /** BEGINs a transaction (sent when a connection is up). */
  begin(): Transaction {
    this.#nextTransaction += 1;
    return new Transaction(`tx-${this.#nextTransaction}-${Date.now().toString(36)}`, this);
  }

  /** Makes a private reply queue on every broker kind (docs/stomp.md); `handler` gets its messages. */
  replyQueue(handler: (message: StompMessage) => void, name = tempQueueName()): ReplyQueue {
    const entry = this.#subscriptions.add(`/temp-queue/${name}`, {}, 0, true);
    this.#handlers.set(entry.id, handler);
    if (this.#session) void this.#subscriptions.subscribeOn(this.#session, entry);
    return { replyTo: entry.destination, close: () => this.#unsubscribe(entry) };
  }

  /** Request/reply: SENDs with `reply-to` (a private temp queue) and resolves with the reply. */
  request(destination: string, body: string | Uint8Array, options: RequestOptions = {}): Promise<StompMessage> {
    return this.#requester.request(destination, body, options);
  }

  /** DISCONNECTs (with receipt) and stops reconnecting; queued frames fail with STOMP_CLOSED_BY_US. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#wake?.();
    this.#probe?.stop();
    const error = new StompError('STOMP_CLOSED_BY_US', 'connection closed by us');
    this.#queue.failAll(error);
    this.#requester.failAll(error);
    await Promise.all([this.#session?.close(), this.#draining.endAll()]);
    this.emit('close', { error: undefined });
  }

  /** @internal Runs `op` on the live session, or queues it until one is up. */
  dispatch(op: Operation): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new StompError('STOMP_CLOSED_BY_US', 'connection closed by us'));
    const session = this.#session;
    if (session === undefined || session.closed) return this.#queue.push(op);
    try {
      return op(session, this.#generation);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @internal A body as bytes: strings are UTF-8. */
  encode(body: string | Uint8Array): Buffer {
    return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  #deliver(entry: SubscriptionEntry, incoming: IncomingMessage, session: Session): void {
    const handler = this.#handlers.get(entry.id);
    const generation = this.#generations.get(session);
    if (handler === undefined || generation === undefined) return;
    // A drained session (failback.ts) takes no new work: only replies still arrive from it.
    if (session !== this.#session && (this.#draining.session(generation) !== session || !entry.temp)) return;
    if (entry.ack !== 'auto') this.#draining.delivered(generation);
    const message = new StompMessage(incoming, entry.id, entry.ack, generation, session.name, (command, msg, options) =>
      this.#acknowledge(command, msg, options),
    );
    try {
      const result = handler(message);
      if (result instanceof Promise) result.catch((error: unknown) => this.emit('handler-error', { error, message }));
    } catch (error) {
      this.emit('handler-error', { error, message });
    }
  }

  #acknowledge(command: 'ACK' | 'NACK', message: StompMessage, options: AckOptions): Promise<void> {
    if (message.ackMode === 'auto') return Promise.resolve();
    // A message of a session being drained after a failback is acknowledged on that session.
    const session = message.generation === this.#generation ? this.#session : this.#draining.session(message.generation);
    if (session === undefined || session.closed) {
      const text = `cannot ${command} message ${message.ackId}: its connection was lost; the broker redelivers it`;
      return Promise.reject(new StompError('STOMP_STALE_MESSAGE', text));
    }
    const headers: Headers = { id: message.ackId };
    if (options.transaction !== undefined) headers.transaction = options.transaction;
    const sent = session.send(command, headers, undefined, options.receipt ?? false);
    this.#draining.acknowledged(message.generation, message.ackMode === 'client');
    return sent;
  }

  async #unsubscribe(entry: SubscriptionEntry): Promise<void> {
    if (!this.#subscriptions.remove(entry.id)) return;
    this.#handlers.delete(entry.id);
    const session = this.#session;
    if (session !== undefined && !session.closed) this.#subscriptions.unsubscribeOn(session, entry);
  }

  async #connectLoop(maxAttempts: number): Promise<Session> {
    const errors: StompError[] = [];
    for (let attempt = 1; !this.#isClosed(); attempt += 1) {
      const node = this.#nodes.current;
      try {
        const session = await Session.open(node, this.options);
        if (this.#isClosed()) {
          await session.close();
          break;
        }
        // The backoff is reset only once the session proves stable (NodeList.lost), not here.
        return session;
      } catch (err) {
        if (this.#isClosed()) break;
        const error = err instanceof StompError ? err : new StompError('STOMP_CANNOT_CONNECT', String(err), { cause: err });
        errors.push(error);
        this.emit('node-error', { node: nodeName(node), error });
        if (maxAttempts > 0 && attempt >= maxAttempts) throw giveUp(errors);
        await this.#sleep(this.#nodes.failed());
      }
    }
    throw new StompError('STOMP_CLOSED_BY_US', 'connection closed by us while connecting');
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #attach(session: Session, reconnected: boolean): void {
    this.#session = session;
    this.#generation += 1;
    this.#generations.set(session, this.#generation);
    this.#connectedAt.set(session, performance.now());
    this.#state = 'connected';
    session.onClose((error) => this.#lost(session, error));
    // A session whose subscriptions the broker all confirmed worked: its loss resets the backoff.
    void this.#subscriptions.restore(session).then((all) => {
      if (all) this.#subscribed.add(session);
    });
    const { name: node, connected, kind, heartBeat } = session;
    this.emit('node-connect', { node, server: connected.server ?? '', kind, heartBeat, reconnected });
    this.#queue.flush(session, this.#generation);
    this.#startProbe();
  }

  /** Listed order, on a node after the first: look for a preferred node now and then. */
  #startProbe(): void {
    this.#probe?.stop();
    this.#probe = undefined;
    const { nodeOrder, failback } = this.options;
    if (nodeOrder !== 'listed' || failback.probeMs === 0 || this.#nodes.index === 0) return;
    const from = this.#session;
    this.#probe = new FailbackProbe(failback.probeMs, () => this.#probePreferred(from));
  }

  /** Tries the nodes listed before the current one, in order; moves to the first that answers. */
  async #probePreferred(from: Session | undefined): Promise<boolean> {
    for (const [index, node] of this.#nodes.preferred.entries()) {
      let next: Session;
      try {
        next = await Session.open(node, this.options);
      } catch {
        continue; // still down: the next preferred node, or the next probe
      }
      if (from === undefined || from !== this.#session || this.#state !== 'connected') {
        await next.close(); // the connection moved meanwhile (lost, closed): this probe is moot
        return true;
      }
      this.#failBack(from, next, index);
      return true;
    }
    return false;
  }

  /**
   * Makes `next` (node `index`) the current session and drains `old` (failback.ts `Drains`):
   * no new work from it, replies still arrive from it, ACKs of what it delivered go to it; it
   * DISCONNECTs once nothing is left to wait for, after `failback.drainMs` at the latest.
   */
  #failBack(old: Session, next: Session, index: number): void {
    const generation = this.#generation;
    this.#nodes.moveTo(index);
    // Draining before the attach, so that an ACK from a `node-connect` listener still finds it.
    this.#draining.add(generation, old, this.options.failback.drainMs, this.#subscriptions.hasReplyQueues);
    this.emit('failback', { from: old.name, to: next.name });
    this.#attach(next, true);
  }

  #lost(session: Session, error: StompError): void {
    if (session !== this.#session) return;
    this.#session = undefined;
    this.#probe?.stop();
    this.#draining.forget(this.#generation);
    this.#requester.failAll(error);
    this.emit('node-disconnect', { node: session.name, error });
    if (this.#state === 'closed') return;
    if (!this.options.reconnect.enabled) {
      this.#shutdown(error);
      return;
    }
    this.#state = 'reconnecting';
    const livedMs = performance.now() - (this.#connectedAt.get(session) ?? 0);
    const delayMs = this.#nodes.lost({ subscribed: this.#subscribed.has(session), livedMs });
    void this.#sleep(delayMs)
      .then(() => this.#connectLoop(this.options.reconnect.maxAttempts))
      .then(
        (next) => this.#attach(next, true),
        (err: unknown) => this.#shutdown(err instanceof StompError ? err : error),
      );
  }

  #shutdown(error: StompError): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#queue.failAll(error);
    this.#requester.failAll(error);
    this.emit('close', { error });
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    this.emit('reconnecting', { delayMs: ms });
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function giveUp(errors: readonly StompError[]): StompError {
  const last = errors.at(-1);
  const tried = [...new Set(errors.map((e) => e.node ?? '?'))].join(', ');
  const message = `no node accepted a connection after ${errors.length} attempt(s) (tried ${tried}); last: ${last?.message ?? 'none'}`;
  return new StompError('STOMP_CANNOT_CONNECT', message, { cause: last, frame: last?.frame });
}
