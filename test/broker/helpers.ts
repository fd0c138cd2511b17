/**
 * A raw STOMP client for broker tests, on the codec the broker uses (so escapes, binary bodies
 * and content-length are exercised both ways), plus broker start/stop helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { EmbeddedBroker, hashPassword } from '../../src/broker/index.ts';
import type { BrokerOptions, BrokerRole, UsersConfig } from '../../src/broker/index.ts';
import { encodeFrame, FrameParser, SERVER_COMMANDS } from '../../src/stomp/frame.ts';
import type { Frame, StompHeaders, StompVersion } from '../../src/stomp/frame.ts';

const started: EmbeddedBroker[] = [];
const clients: RawClient[] = [];
const dirs: string[] = [];

/** An embedded broker on an ephemeral port, stopped after the test. */
export async function startBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const broker = await EmbeddedBroker.start({ port: 0, heartBeat: [0, 0], ...options });
  started.push(broker);
  return broker;
}

/** A temporary folder removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-broker-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(started.splice(0).map((broker) => broker.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export const DEFAULT_TIMEOUT = 2000;

/** Frames in arrival order; `next()` waits for one. ERROR frames are returned, not thrown. */
export class RawClient {
  readonly socket: Socket;
  readonly parser = new FrameParser({}, SERVER_COMMANDS);
  version: StompVersion = '1.2';
  connected: StompHeaders = {};
  readonly #frames: Frame[] = [];
  #waiter: (() => void) | undefined;
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    clients.push(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) =>
      this.parser.push(chunk, (frame) => {
        this.#frames.push(frame);
        this.#wake();
      }),
    );
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#closed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  /** A TCP connection and nothing else (for garbage and half-frames). */
  static async open(broker: { host: string; port: number }): Promise<RawClient> {
    const socket = connect({ host: broker.host, port: broker.port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  /** A TLS connection (handshake done) and nothing else. */
  static async openTls(broker: { host: string; port: number }, options: ConnectionOptions): Promise<RawClient> {
    const socket = tlsConnect({ host: broker.host, port: broker.port, ...options });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  /** CONNECT and wait for CONNECTED (throws with the ERROR message otherwise); over TLS when `tls` is given. */
  static async connect(broker: { host: string; port: number }, headers: StompHeaders = {}, tls?: ConnectionOptions): Promise<RawClient> {
    const client = tls === undefined ? await RawClient.open(broker) : await RawClient.openTls(broker, tls);
    client.send('CONNECT', { 'accept-version': '1.2', host: '/', ...headers });
    const frame = await client.next();
    if (frame.command !== 'CONNECTED') throw new Error(`CONNECT answered with ${frame.command}: ${frame.headers.message}`);
    client.connected = frame.headers;
    client.version = (frame.headers.version ?? '1.0') as StompVersion;
    client.parser.version = client.version;
    return client;
  }

  send(command: string, headers: StompHeaders = {}, body: string | Buffer = ''): void {
    this.socket.write(encodeFrame(command, headers, body, this.version));
  }

  /** Raw bytes, for malformed input. */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame; rejects on timeout or when the connection closed first. */
  async next(timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    // The monotonic clock: tests that fake `Date` to expire messages still get their timeouts.
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const frame = this.#frames.shift();
      if (frame) return frame;
      if (this.#closed) throw new Error('connection closed');
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The next frame, which must be `command`. */
  async expect(command: string, timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    const frame = await this.next(timeoutMs);
    if (frame.command !== command) {
      throw new Error(`expected ${command}, got ${frame.command} ${JSON.stringify(frame.headers)} ${frame.body.toString()}`);
    }
    return frame;
  }

  /** SEND with a receipt and wait for it; frames that arrive before it stay queued, in order. */
  async sendAndConfirm(headers: StompHeaders, body: string | Buffer = ''): Promise<void> {
    const receipt = `r-${Math.random().toString(36).slice(2)}`;
    this.send('SEND', { ...headers, receipt }, body);
    await this.waitReceipt(receipt);
  }

  /** Wait for RECEIPT `receiptId`, leaving other frames queued in order. */
  async waitReceipt(receiptId: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const others: Frame[] = [];
    try {
      for (;;) {
        const frame = await this.next(timeoutMs);
        if (frame.command === 'RECEIPT' && frame.headers['receipt-id'] === receiptId) return;
        if (frame.command === 'ERROR') throw new Error(`ERROR instead of receipt: ${frame.headers.message}`);
        others.push(frame);
      }
    } finally {
      this.#frames.unshift(...others);
    }
  }

  /** Resolves true when no frame arrives within `ms`. */
  async quiet(ms = 150): Promise<boolean> {
    try {
      const frame = await this.next(ms);
      this.#frames.unshift(frame);
      return false;
    } catch {
      return true;
    }
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}

/** The text bodies of `count` MESSAGE frames. */
export async function bodies(client: RawClient, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push((await client.expect('MESSAGE')).body.toString());
  return out;
}

/** A login for {@link usersWith}: its clear password and what the users file gives it. */
export interface TestLogin {
  readonly password: string;
  readonly role?: BrokerRole;
  readonly read?: string[];
  readonly write?: string[];
  readonly reply?: boolean;
}

/**
 * A users configuration in memory, with cheap scrypt hashes (ln=4: tests check the rules, not
 * the cost; the cost lives in each hash, so this weakens nothing else).
 */
export async function usersWith(logins: Record<string, TestLogin>, prefix?: string): Promise<UsersConfig> {
  const users: UsersConfig['users'] = {};
  for (const [login, { password, ...rights }] of Object.entries(logins)) {
    users[login] = { password: await hashPassword(password, { ln: 4 }), ...rights };
  }
  return prefix === undefined ? { users } : { prefix, users };
}
