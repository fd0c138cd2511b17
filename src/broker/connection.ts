/**
 * One client connection: the socket, its parser and writer, heart-beats, and the STOMP session
 * state (subscriptions, unacknowledged messages, transactions). Frame handlers live in
 * session.ts; this file owns the lifecycle, so every way out (ERROR, DISCONNECT, socket close,
 * broker stop) goes through one teardown that gives unacknowledged messages back.
 */
import type { Socket } from 'node:net';
import { PaygateError } from '../errors.ts';
import { AccessControl } from './access.ts';
import type { Principal } from './access.ts';
import { CLIENT_COMMANDS, encodeFrame, FrameParser } from '../stomp/frame.ts';
import type { Frame, StompHeaders, StompVersion } from '../stomp/frame.ts';
import { BrokerError, BrokerLimitError } from './errors.ts';
import type { BrokerLimit } from './errors.ts';
import { HeartBeatTimers } from './heartbeat.ts';
import type { HeartBeat } from './heartbeat.ts';
import { PARTIAL_FRAME_ALLOWANCE } from './memory.ts';
import type { MemoryBudget } from './memory.ts';
import type { BrokerMessage } from './message.ts';
import type { ResolvedBrokerOptions } from './options.ts';
import type { Router } from './router.ts';
import type { MessageStore } from './store.ts';
import type { Delivery, Subscription, SubscriptionOwner } from './subscription.ts';
import type { Tap } from './tap.ts';
import { Transactions } from './transaction.ts';

/** What a connection needs from the broker. */
export interface BrokerContext {
  readonly options: ResolvedBrokerOptions;
  readonly access: AccessControl;
  readonly router: Router;
  readonly store: MessageStore | undefined;
  /** The broker-wide byte count (`maxTotalBytes`). */
  readonly budget: MemoryBudget;
  /** Told of every routed SEND (the `tap` option); undefined without one. */
  readonly tap: Tap | undefined;
  /** True once `stop()` began: messages given back then count as neither failures nor returns. */
  readonly stopping: boolean;
  /** A fresh `message-id` and its arrival sequence number. */
  nextMessage(): { id: string; seq: number };
  /** Called once, when the connection is gone. */
  closed(connection: Connection): void;
  /** A client broke the protocol or a limit (for logs and tests). */
  clientError(error: PaygateError, connection: Connection): void;
  /** A limit was applied without ending the connection (a prefetch lowered to `maxPrefetch`). */
  limited(limit: BrokerLimit, message: string, connection: Connection): void;
  /** Count a proven login's connection, or throw `maxConnectionsPerLogin`; uncounted by `closed`. */
  admit(connection: Connection, login: string): void;
}

/** How long a closing connection may take to flush its ERROR before we cut it. */
const CLOSE_GRACE_MS = 2000;
const EMPTY = Buffer.alloc(0);
/** What a torn-down connection parses with: stopped, so it ignores whatever still arrives. */
const SPENT_PARSER = Object.assign(new FrameParser({}), { stopped: true });

/** Handles one decoded frame for a connection (session.ts). */
export type FrameHandler = (connection: Connection, frame: Frame) => void;

export class Connection implements SubscriptionOwner {
  /** Negotiated on CONNECT; ERROR frames before that use 1.0 rules (no escaping). */
  version: StompVersion = '1.0';
  /** True between CONNECTED and the start of closing. */
  connected = false;
  readonly subscriptions = new Map<string, Subscription>();
  /** ack id → the subscription holding that delivery unacknowledged (ACK/NACK look-up). */
  readonly ackIndex = new Map<string, Subscription>();
  readonly transactions: Transactions;
  /** Replaced by a spent one at teardown (see there). */
  parser: FrameParser;
  /** Who this connection proved to be at CONNECT; no right at all before that. */
  principal: Principal = AccessControl.nobody();

  #closing = false;
  #refused = false;
  #tornDown = false;
  #corked = false;
  #readPaused = false;
  /** Frames that arrived while CONNECT's password check runs; handled in order once it ends. */
  #held: Frame[] | undefined;
  #wrote = false;
  #lastRead = Date.now();
  #heartBeats: HeartBeatTimers | undefined;
  /** Bytes of the unfinished frame, as last counted in the broker's budget. */
  #partialBytes = 0;
  /** Runs while a frame is unfinished: `frameTimeout` from its first byte. */
  #frameTimer: NodeJS.Timeout | undefined;
  /** Runs while we stopped reading because the client does not take what we write. */
  #writeTimer: NodeJS.Timeout | undefined;
  readonly #connectTimer: NodeJS.Timeout;
  readonly #handleFrame: FrameHandler;
  readonly #highWater: number;

  constructor(
    readonly socket: Socket,
    readonly session: string,
    readonly context: BrokerContext,
    handleFrame: FrameHandler,
  ) {
    const { maxFrameSize, maxHeaders, maxHeaderLength, maxPendingBytes, connectTimeout } = context.options;
    this.parser = new FrameParser({ maxFrameSize, maxHeaders, maxHeaderLength }, CLIENT_COMMANDS);
    this.transactions = new Transactions(context.options.maxTransactionFrames, {
      reserve: (bytes) => this.#reserve(bytes, 'a frame held in a transaction'),
      release: (bytes) => context.budget.adjust(-bytes),
    });
    this.#highWater = maxPendingBytes / 2;
    this.#handleFrame = handleFrame;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('drain', () => this.#onDrain());
    socket.on('error', () => this.teardown()); // 'close' follows; nothing to report to a reset peer
    socket.on('close', () => this.teardown());
    // The same deadline bounds the password check: a flood of CONNECTs cannot hold sockets forever.
    this.#connectTimer = setTimeout(
      () => this.fail(this.#held === undefined ? 'no CONNECT frame in time' : 'login not checked in time; the broker is busy, retry later'),
      connectTimeout,
    ).unref();
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Stop delivering queue messages while the kernel has not taken what we wrote. */
  get congested(): boolean {
    return this.#closing || this.socket.writableLength > this.#highWater;
  }

  /** Queue bytes for the socket; writes of one event-loop turn leave in one syscall (cork). */
  write(frame: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
    this.#wrote = true;
    if (!this.#readPaused && this.socket.writableLength > this.#highWater) {
      // A client that does not read its messages must not be able to make us buffer its SENDs' effects either.
      this.#readPaused = true;
      this.#updateReading();
      // Nor to pin what we wrote for ever: it has `writeTimeout` to take it.
      const { writeTimeout } = this.context.options;
      this.#writeTimer ??= setTimeout(
        () => this.refuse(new BrokerLimitError('writeTimeout', `the client took nothing we wrote for ${writeTimeout} ms`)),
        writeTimeout,
      ).unref();
    }
  }

  /**
   * CONNECT's password check is asynchronous: stop reading, and keep the frames a client sent
   * right behind its CONNECT (pipelining) until {@link release}.
   */
  hold(): void {
    this.#held ??= [];
    this.#updateReading();
  }

  /** The check ended: handle the held frames in arrival order, then read again. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const frame of held) {
      if (this.#closing) break;
      this.#onFrame(frame);
    }
    if (!this.#closing) this.#updateReading();
  }

  /** Encode and write a frame with this connection's escaping rules. */
  send(command: string, headers: StompHeaders, body: Buffer | string = EMPTY): void {
    this.write(encodeFrame(command, headers, body, this.version));
  }

  writeMessage(subscription: Subscription, message: BrokerMessage, delivery: Delivery): boolean {
    if (this.#closing) return false;
    const headers = Object.create(null) as StompHeaders; // user headers may be called `constructor`
    headers.subscription = subscription.id;
    headers['message-id'] = message.id;
    headers.destination = message.destination;
    if (subscription.ackMode !== 'auto') {
      if (this.version === '1.2') headers.ack = delivery.ackId;
      this.ackIndex.set(delivery.ackId, subscription);
    }
    if (delivery.redelivered) headers.redelivered = 'true';
    const own = message.headers;
    for (const name in own) if (headers[name] === undefined) headers[name] = own[name] as string;
    const frame = encodeFrame('MESSAGE', headers, message.body, this.version);
    // Queue deliveries already wait for the socket to drain (`congested`); topic copies cannot.
    if (delivery.fanOut && this.socket.writableLength + frame.length > this.context.options.maxPendingBytes) {
      this.refuse(new BrokerLimitError('maxPendingBytes', 'slow consumer: too many bytes pending'));
      return false;
    }
    this.write(frame);
    return true;
  }

  /** Send RECEIPT once everything this frame stored is committed (store.ts's fsync policy). */
  receipt(receiptId: string, then?: () => void): void {
    const store = this.context.store;
    const emit = (error?: Error): void => {
      if (error) {
        this.fail('message store failed; the frame was not stored', undefined, receiptId, 'BROKER_STORE_FAILED');
        this.close();
      } else {
        this.send('RECEIPT', { 'receipt-id': receiptId });
        then?.();
      }
    };
    if (store === undefined) emit();
    else store.afterCommit(emit);
  }

  /** CONNECT succeeded: switch escaping, stop the CONNECT timer, start heart-beats. */
  open(version: StompVersion, heartBeat: HeartBeat): void {
    clearTimeout(this.#connectTimer);
    this.version = version;
    this.parser.version = version;
    this.connected = true;
    const { idleTimeout } = this.context.options;
    this.#heartBeats = new HeartBeatTimers(heartBeat, {
      // While we do not read (back-pressure), silence is ours, not the client's.
      lastRead: () => (this.#readPaused ? Date.now() : this.#lastRead),
      wroteSinceLastCheck: () => {
        const wrote = this.#wrote;
        this.#wrote = false;
        return wrote;
      },
      beat: () => this.write(Buffer.from('\n')),
      silent: (deadline) =>
        heartBeat.receive > 0
          ? this.fail(`no data from the client for more than ${deadline} ms (heart-beat)`)
          : this.refuse(new BrokerLimitError('idleTimeout', `no data from the client for more than ${deadline} ms (idleTimeout; negotiate heart-beats to stay idle longer)`)),
    }, idleTimeout);
  }

  /**
   * End the connection with an ERROR frame (`message` header, details in the body), then close.
   * Everything the client held unacknowledged goes back to its queues at once.
   */
  fail(message: string, detail?: string, receiptId?: string, code = 'BROKER_PROTOCOL', extra?: StompHeaders, error?: PaygateError): void {
    if (this.#closing) return;
    // `code` is the BrokerError code (docs/broker.md#errors), so clients can tell refusals apart.
    const headers: StompHeaders = { message: message.replace(/[\r\n]+/g, ' '), code, 'content-type': 'text/plain', ...extra };
    if (receiptId !== undefined) headers['receipt-id'] = receiptId;
    this.send('ERROR', headers, detail ?? message);
    this.context.clientError(error ?? new PaygateError(code, message), this);
    this.close();
  }

  /** End the connection for a limit: ERROR `code: BROKER_LIMIT` with a `limit` header naming it. */
  refuse(error: BrokerLimitError, receiptId?: string): void {
    this.fail(error.message, undefined, receiptId, error.code, { limit: error.limit }, error);
    // Whatever it still sends would be read only to be dropped: leave it in the kernel until the
    // close grace ends, so a flood of refused connections does not churn our memory meanwhile.
    this.#refused = true;
    this.socket.pause();
  }

  /**
   * Bytes this connection holds now: frames in its open transactions, the frame being received
   * and what we wrote that the kernel has not taken yet.
   */
  get heldBytes(): number {
    return this.transactions.bytes + this.parser.buffered + this.socket.writableLength;
  }

  /** DISCONNECT: give everything back now, RECEIPT when asked (after the store commit), then close. */
  disconnect(receiptId: string | undefined): void {
    this.#closing = true;
    this.parser.stopped = true;
    this.teardown();
    if (receiptId === undefined) this.close();
    else this.receipt(receiptId, () => this.close());
  }

  /** Close after what is written has been flushed (DISCONNECT, after ERROR, broker stop). */
  close(): void {
    this.#closing = true;
    this.parser.stopped = true;
    this.teardown();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Release everything the session holds; safe to call more than once. */
  teardown(): void {
    if (this.#tornDown) return;
    this.#tornDown = true;
    this.#closing = true;
    this.connected = false;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#frameTimer);
    clearTimeout(this.#writeTimer);
    this.#heartBeats?.stop();
    this.transactions.clear();
    this.context.budget.adjust(-this.#partialBytes);
    this.#partialBytes = 0;
    // The socket (and through its listeners, this object) lives on for the close grace period;
    // the unfinished frame's chunks must not: a client that opens, half-sends and gets refused
    // in a loop would otherwise pin up to maxFrameSize per connection for those seconds, beyond
    // every byte cap (the count above already says they are gone).
    this.parser.stopped = true;
    this.parser = SPENT_PARSER;
    this.#held = undefined;
    const subscriptions = [...this.subscriptions.values()];
    // Detach every consumer first, so returned messages cannot go back to this connection.
    for (const subscription of subscriptions) subscription.source.removeConsumer(subscription);
    // A consumer that went away is no failed delivery (maxReturns bounds those); a broker stop is nobody's.
    const reason = this.context.stopping ? 'kept' : 'returned';
    for (const subscription of subscriptions) subscription.source.giveBack(subscription.takeAll(), reason);
    this.subscriptions.clear();
    this.ackIndex.clear();
    this.context.router.temps.closeAll(this.session);
    this.context.closed(this);
  }

  #onData(chunk: Buffer): void {
    this.#lastRead = Date.now();
    let completed = false;
    try {
      this.parser.push(chunk, (frame) => {
        completed = true;
        this.#countPartial(); // a finished frame's bytes move on to where it goes: they must not count twice
        if (this.#held === undefined) this.#onFrame(frame);
        else this.#held.push(frame);
      });
      if (this.#tornDown) return;
      this.#countPartial();
      this.#checkHeld();
      this.#watchFrame(completed);
    } catch (error) {
      this.failWith(error, undefined);
    }
  }

  /** Bring the broker's count of this connection's unfinished frame up to date. */
  #countPartial(): void {
    if (this.#tornDown) return;
    const now = this.parser.buffered;
    this.context.budget.adjust(now - this.#partialBytes);
    this.#partialBytes = now;
  }

  /** After a read: what this connection holds must fit its own cap and the broker's. */
  #checkHeld(): void {
    const { maxConnectionBytes } = this.context.options;
    if (this.heldBytes > maxConnectionBytes) {
      throw new BrokerLimitError('maxConnectionBytes', `connection holds ${this.heldBytes} bytes, more than ${maxConnectionBytes}`);
    }
    const budget = this.context.budget;
    if (this.#partialBytes > PARTIAL_FRAME_ALLOWANCE && !budget.fits(0)) {
      throw new BrokerLimitError('maxTotalBytes', `broker memory is full (${budget.used} of ${budget.max} bytes held); frame refused, try again later`);
    }
  }

  /** Count `bytes` more for this connection (a transaction's frame), within both caps. */
  #reserve(bytes: number, what: string): void {
    const { maxConnectionBytes } = this.context.options;
    if (this.heldBytes + bytes > maxConnectionBytes) {
      throw new BrokerLimitError('maxConnectionBytes', `connection would hold more than ${maxConnectionBytes} bytes; ${what} refused`);
    }
    this.context.budget.reserve(bytes, what);
  }

  /**
   * A frame may take `frameTimeout` from its first byte to its last: a client trickling one byte
   * at a time must not hold its buffer (and a connection slot) for ever. The clock restarts with
   * each frame; it does not run against the client while we are the ones not reading.
   */
  #watchFrame(completed: boolean): void {
    if (!this.parser.midFrame || this.#closing) {
      clearTimeout(this.#frameTimer);
      this.#frameTimer = undefined;
      return;
    }
    if (this.#frameTimer !== undefined && !completed) return;
    clearTimeout(this.#frameTimer);
    const { frameTimeout } = this.context.options;
    this.#frameTimer = setTimeout(() => {
      this.#frameTimer = undefined;
      if (this.#readPaused || this.#held !== undefined) return this.#watchFrame(true);
      this.refuse(new BrokerLimitError('frameTimeout', `a frame took more than ${frameTimeout} ms to arrive`));
    }, frameTimeout).unref();
  }

  #onFrame(frame: Frame): void {
    try {
      this.#handleFrame(this, frame);
    } catch (error) {
      this.failWith(error, frame.headers.receipt);
    }
  }

  /**
   * A typed error ends this connection with its message. Anything else is a bug of ours: it
   * still ends only this connection (one client must never bring the broker down), and is
   * reported with its cause as `BROKER_INTERNAL`.
   */
  failWith(error: unknown, receiptId: string | undefined): void {
    if (error instanceof BrokerLimitError) return this.refuse(error, receiptId);
    if (error instanceof PaygateError) return this.fail(error.message, undefined, receiptId, error.code);
    if (this.#closing) return;
    this.context.clientError(new BrokerError('BROKER_INTERNAL', 'internal broker error', { cause: error }), this);
    this.fail('internal broker error', undefined, receiptId, 'BROKER_INTERNAL');
  }

  /** The client half-closed: a frame cut short is an error; otherwise we close too. */
  #onEnd(): void {
    if (!this.#closing && this.parser.midFrame) this.fail('connection ended inside a frame');
    else this.close();
  }

  /** Read from the socket unless back-pressure or a running password check says not to. */
  #updateReading(): void {
    if (this.#refused || this.#readPaused || this.#held !== undefined) return void this.socket.pause();
    // The silence while we did not read was ours: the client's clock (heart-beat, idleTimeout) starts again now.
    if (this.socket.isPaused()) this.#lastRead = Date.now();
    this.socket.resume();
  }

  #onDrain(): void {
    clearTimeout(this.#writeTimer);
    this.#writeTimer = undefined;
    if (this.#readPaused) {
      this.#readPaused = false;
      this.#updateReading();
    }
    for (const subscription of this.subscriptions.values()) subscription.source.dispatch();
  }
}

/** A protocol violation: the connection gets ERROR and is closed. */
export const protocolError = (message: string): BrokerError => new BrokerError('BROKER_PROTOCOL', message);
