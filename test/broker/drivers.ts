/**
 * Two independent STOMP client libraries behind one small interface, so the same behaviour suite
 * (client-libraries.test.ts) runs through both: stompit (what src/stomp builds on) and
 * @stomp/stompjs over @stomp/tcp-wrapper.
 */
import { Client as StompJsClient } from '@stomp/stompjs';
import type { IFrame, IMessage, StompHeaders as StompJsHeaders } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import stompit from 'stompit';
import type Client from 'stompit/lib/Client.js';

export type AckMode = 'auto' | 'client-individual';

/** A received message, as either library hands it over. */
export interface Received {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  ack(transaction?: string): void;
  nack(): void;
}

/** Messages of one subscription, in arrival order. */
export class Inbox {
  readonly #items: Received[] = [];
  #wake: (() => void) | undefined;

  push(item: Received): void {
    this.#items.push(item);
    this.#wake?.();
  }

  async next(timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.#items.shift();
      if (item) return item;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** True when nothing arrives within `ms`. */
  async quiet(ms = 200): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.#items.length === 0;
  }
}

export interface Peer {
  /** The CONNECTED frame's headers. */
  readonly connected: Readonly<Record<string, string>>;
  /** SEND with a receipt; resolves when the broker confirmed. */
  send(destination: string, body: string, headers?: Record<string, string>): Promise<void>;
  /** SUBSCRIBE, resolved once the broker has processed it. */
  subscribe(destination: string, ack?: AckMode, headers?: Record<string, string>): Promise<Inbox>;
  /** Where replies to `reply-to:/temp-queue/<name>` arrive, as this library can best receive them. */
  replies(name: string): Promise<Inbox>;
  /** BEGIN; the returned id goes in `transaction` headers. */
  begin(): Promise<string>;
  commit(transaction: string): Promise<void>;
  abort(transaction: string): Promise<void>;
  /** A round trip: everything sent before it has been processed by the broker. */
  sync(): Promise<void>;
  /** DISCONNECT politely. */
  close(): Promise<void>;
  /** Die: the socket is cut without DISCONNECT. */
  kill(): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** [can send every, want to receive every] ms. */
  heartBeat?: [number, number];
}

export interface Driver {
  readonly name: string;
  connect(options: ConnectOptions): Promise<Peer>;
}

let counter = 0;
const nextId = (prefix: string): string => `${prefix}-${++counter}`;

// --- stompit ---------------------------------------------------------------------------------

type StompitClient = Client & {
  headers?: Record<string, string>;
  setImplicitSubscription(id: string, ack: 'auto', listener: Client.MessageCallback): unknown;
};

function stompitReceived(client: StompitClient, message: Client.Message, body: string): Received {
  const headers = (message as unknown as { headers: Record<string, string | number> }).headers;
  const text = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
  return {
    body,
    headers: text,
    ack: (transaction) => client.ack(message, transaction === undefined ? {} : { transaction }),
    nack: () => client.nack(message),
  };
}

class StompitPeer implements Peer {
  constructor(
    readonly client: StompitClient,
    readonly connected: Record<string, string>,
  ) {}

  send(destination: string, body: string, headers: Record<string, string> = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const frame = this.client.send({ destination, ...headers }, { onReceipt: () => resolve(), onError: reject } as Client.SendOptions);
      frame.end(body);
    });
  }

  #listener(inbox: Inbox): Client.MessageCallback {
    return (error, message) => {
      if (error) return;
      message.readString('utf8', (readError?: Error | null, body?: string) => {
        if (!readError) inbox.push(stompitReceived(this.client, message, body ?? ''));
      });
    };
  }

  async subscribe(destination: string, ack: AckMode = 'auto', headers: Record<string, string> = {}): Promise<Inbox> {
    const inbox = new Inbox();
    this.client.subscribe({ destination, ack, ...headers }, this.#listener(inbox));
    await this.sync();
    return inbox;
  }

  /** RabbitMQ style: no SUBSCRIBE; replies arrive on the implicit subscription `/temp-queue/<name>`. */
  async replies(name: string): Promise<Inbox> {
    const inbox = new Inbox();
    this.client.setImplicitSubscription(`/temp-queue/${name}`, 'auto', this.#listener(inbox));
    return inbox;
  }

  async begin(): Promise<string> {
    return (this.client.begin() as unknown as { id: string }).id;
  }

  #frame(command: string, headers: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.sendFrame(command, headers, { onReceipt: () => resolve(), onError: reject } as Client.SendOptions).end();
    });
  }

  commit(transaction: string): Promise<void> {
    return this.#frame('COMMIT', { transaction });
  }

  abort(transaction: string): Promise<void> {
    return this.#frame('ABORT', { transaction });
  }

  sync(): Promise<void> {
    return this.send('/topic/paygate.test.sync', '');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.client.disconnect(() => resolve()));
  }

  kill(): void {
    (this.client as unknown as { _transportSocket: { destroy(): void } })._transportSocket.destroy();
  }
}

export const stompitDriver: Driver = {
  name: 'stompit',
  connect: ({ host, port, heartBeat = [0, 0] }) =>
    new Promise((resolve, reject) => {
      const connectHeaders = { host: '/', login: 'guest', passcode: 'guest', 'heart-beat': heartBeat.join(',') };
      const client = stompit.connect({ host, port, connectHeaders }, (error, connected) => {
        if (error) return reject(error);
        const c = connected as StompitClient;
        resolve(new StompitPeer(c, { ...(c.headers ?? {}) }));
      }) as StompitClient;
      client.on('error', () => {}); // a killed peer's socket error is expected
    }),
};

// --- @stomp/stompjs over @stomp/tcp-wrapper ----------------------------------------------------

function stompJsReceived(message: IMessage): Received {
  return {
    body: message.body,
    headers: { ...message.headers } as Record<string, string>,
    ack: (transaction) => message.ack(transaction === undefined ? {} : { transaction }),
    nack: () => message.nack(),
  };
}

class StompJsPeer implements Peer {
  constructor(
    readonly client: StompJsClient,
    readonly connected: Record<string, string>,
    readonly socket: () => TCPWrapper | undefined,
  ) {}

  #withReceipt(send: (receipt: string) => void): Promise<void> {
    return new Promise((resolve) => {
      const receipt = nextId('rcpt');
      this.client.watchForReceipt(receipt, () => resolve());
      send(receipt);
    });
  }

  send(destination: string, body: string, headers: Record<string, string> = {}): Promise<void> {
    return this.#withReceipt((receipt) => this.client.publish({ destination, body, headers: { ...headers, receipt } }));
  }

  async subscribe(destination: string, ack: AckMode = 'auto', headers: Record<string, string> = {}): Promise<Inbox> {
    const inbox = new Inbox();
    await this.#withReceipt((receipt) =>
      this.client.subscribe(destination, (message) => inbox.push(stompJsReceived(message)), { ack, ...headers, receipt } as StompJsHeaders),
    );
    return inbox;
  }

  /** ActiveMQ style: stompjs has no implicit subscriptions, so it SUBSCRIBEs to the temp queue. */
  replies(name: string): Promise<Inbox> {
    return this.subscribe(`/temp-queue/${name}`);
  }

  async begin(): Promise<string> {
    const id = nextId('tx');
    this.client.begin(id);
    await this.sync();
    return id;
  }

  commit(transaction: string): Promise<void> {
    this.client.commit(transaction);
    return this.sync();
  }

  abort(transaction: string): Promise<void> {
    this.client.abort(transaction);
    return this.sync();
  }

  sync(): Promise<void> {
    return this.send('/topic/paygate.test.sync', '');
  }

  close(): Promise<void> {
    return this.client.deactivate();
  }

  kill(): void {
    this.client.reconnectDelay = 0;
    this.socket()?.terminate();
  }
}

export const stompJsDriver: Driver = {
  name: '@stomp/stompjs',
  connect: ({ host, port, heartBeat = [0, 0] }) =>
    new Promise((resolve, reject) => {
      let socket: TCPWrapper | undefined;
      const client = new StompJsClient({
        webSocketFactory: () => (socket = new TCPWrapper(host, port)),
        connectHeaders: { host: '/', login: 'guest', passcode: 'guest' },
        heartbeatOutgoing: heartBeat[0],
        heartbeatIncoming: heartBeat[1],
        reconnectDelay: 0,
        onConnect: (frame: IFrame) => resolve(new StompJsPeer(client, { ...frame.headers } as Record<string, string>, () => socket)),
        onStompError: (frame: IFrame) => reject(new Error(frame.headers.message)),
        onWebSocketError: () => reject(new Error('socket error')),
      });
      client.activate();
    }),
};

export const DRIVERS: readonly Driver[] = [stompitDriver, stompJsDriver];
