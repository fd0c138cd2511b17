// Shared pieces of the STOMP integration suites: connecting to a test broker through the
// connection layer under test, unique destinations, and an inbox to await messages.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { StompConnection } from '../../src/stomp/index.ts';
import type { StompEvents, StompMessage, StompOptions } from '../../src/stomp/index.ts';
import { asRole, STOMP_TEST_PREFIX, type BrokerDescriptor, type TestRole } from '../helpers/brokers.ts';

export const WAIT_MS = 5_000;

/**
 * A node of the connection layer's options for a broker (at another host/port when given, e.g. a
 * proxy), with the descriptor's login (`stomp-test` unless chosen with `asRole`).
 */
export function nodeOf(broker: BrokerDescriptor & { port: number }, at?: { host: string; port: number }): StompOptions['nodes'][number] {
  return {
    host: at?.host ?? broker.host,
    port: at?.port ?? broker.port,
    login: broker.login,
    passcode: broker.passcode,
    vhost: broker.vhost,
  };
}

/** A node that logs in as one of the test roles (docs/broker-access.md). */
export const roleNode = (broker: BrokerDescriptor & { port: number }, role: TestRole): StompOptions['nodes'][number] => nodeOf(asRole(broker, role));

/** Connections opened by a test, closed after it. */
export class Connections {
  readonly #open: StompConnection[] = [];

  async open(options: StompOptions): Promise<StompConnection> {
    const connection = await StompConnection.connect({ connectTimeoutMs: 3_000, ...options });
    this.#open.push(connection);
    return connection;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((c) => c.close()));
  }
}

/**
 * A fresh destination name for the tests of the STOMP layer, under `stomptest.`: the names the
 * `stomp-test` login may use, none of paygate's. RabbitMQ declares `/queue/X` durable and never
 * deletes it, so its queues get `x-expires` (deleted 60 s after their last use); every SEND and
 * SUBSCRIBE of a queue must then carry the same header ({@link queueHeaders}). Other brokers
 * ignore it.
 */
export const unique = (kind: 'queue' | 'topic', what: string): string => `/${kind}/${STOMP_TEST_PREFIX}${what}.${randomUUID()}`;

/** Headers every SEND and SUBSCRIBE of a test queue carries (see {@link unique}). */
export const queueHeaders = (): Record<string, string> => ({ 'x-expires': '60000' });

/** Collects the messages of one or more subscriptions, in arrival order. */
export class Inbox {
  readonly messages: StompMessage[] = [];
  readonly #waiters: (() => void)[] = [];
  #taken = 0;

  /** Pass as a subscription handler. */
  readonly handler = (message: StompMessage): void => {
    this.messages.push(message);
    for (const wake of this.#waiters.splice(0)) wake();
  };

  /** The next message not taken yet; rejects after `timeoutMs`. */
  async next(timeoutMs = WAIT_MS): Promise<StompMessage> {
    await this.waitFor(this.#taken + 1, timeoutMs);
    return this.messages[this.#taken++] as StompMessage;
  }

  /** Waits until `count` messages arrived in total. */
  async waitFor(count: number, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.messages.length} of ${count} messages within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the next `name` event of `connection`; rejects after `timeoutMs`. */
export async function nextEvent<K extends keyof StompEvents>(
  connection: StompConnection,
  name: K,
  timeoutMs = WAIT_MS,
): Promise<StompEvents[K][0]> {
  const emitter = connection as unknown as EventEmitter; // events.once is typed for the untyped emitter
  const [event] = (await once(emitter, name, { signal: AbortSignal.timeout(timeoutMs) })) as StompEvents[K];
  return event;
}
