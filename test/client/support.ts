/**
 * Shared set-up of the gateway suites: per test file, an embedded broker, the dev PKI, a test
 * responder on the counting queue and one gateway; helpers to await rejections and hold answers.
 */
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/client/index.ts';
import type { StompOptions } from '../../src/stomp/index.ts';
import { counter, counting } from '../fixtures/counting-provider.ts';
import { asRole, parseTestBrokers, startTestBroker, type TestBroker, type TestRole } from '../helpers/brokers.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { deferred } from '../helpers/timing.ts';
import { nodeOf } from '../integration/support.ts';
import { runCounting, TestResponder, type Answer, type ReceivedRequest } from './responder.ts';

export const PAN = '4111111111111111';
export const CARD = { number: PAN, exp_month: 12, exp_year: 2030, cvc: '737' };
export const EUR = (value: number) => ({ value, currency: 'EUR' });
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type CountingGateway = Gateway<readonly [typeof counting]>;
export type CountingOptions = GatewayOptions<readonly [typeof counting]>;

/** What a suite gets from {@link useGatewayFixture}; filled in by its `beforeAll`. */
export interface GatewayFixture {
  broker: TestBroker;
  pki: TestPki;
  responder: TestResponder;
  /** The file's shared gateway. */
  gateway: CountingGateway;
  /**
   * A node of the fixture's broker logging in as `role` (`storefront` for gateways, `worker` for
   * responders), at another host/port when given (a proxy).
   */
  node(role: TestRole, at?: { host: string; port: number }): StompOptions['nodes'][number];
  /** Gateway options for the fixture's broker and PKI; the gateway logs in as `storefront`. */
  options(overrides?: Partial<CountingOptions>): CountingOptions;
  /** A gateway of its own for one test (or one made elsewhere), closed after the file. */
  ownGateway(overrides?: Partial<CountingOptions>): Promise<CountingGateway>;
  adopt(gateway: { close(deadlineMs?: number): Promise<void> }): void;
}

/**
 * Registers the file's hooks: start everything before the first test, reset the responder and
 * the counting plugin before each, expect no responder failure after each, close all at the end.
 */
export function useGatewayFixture(): GatewayFixture {
  const closeLater: { close(deadlineMs?: number): Promise<void> }[] = [];
  const fixture = {
    node(role: TestRole, at?: { host: string; port: number }): StompOptions['nodes'][number] {
      return nodeOf(asRole(fixture.broker.descriptor, role), at);
    },
    options(overrides: Partial<CountingOptions> = {}): CountingOptions {
      return {
        brokers: { nodes: [fixture.node('storefront')], connectTimeoutMs: 3_000 },
        identity: { cert: fixture.pki.client.certPem, key: fixture.pki.client.keyPem },
        gatewayCertificates: [fixture.pki.gateway.certPem],
        trust: fixture.pki.ca.certPem,
        providers: [counting] as const,
        defaultTimeoutMs: 5_000,
        ...overrides,
      };
    },
    async ownGateway(overrides: Partial<CountingOptions> = {}): Promise<CountingGateway> {
      const made = await createGateway(fixture.options(overrides));
      closeLater.push(made);
      return made;
    },
    adopt(gateway: { close(deadlineMs?: number): Promise<void> }): void {
      closeLater.push(gateway);
    },
  } as GatewayFixture;

  beforeAll(async () => {
    const [embedded] = parseTestBrokers('embedded');
    if (embedded === undefined) throw new Error('no embedded broker descriptor');
    [fixture.broker, fixture.pki] = await Promise.all([startTestBroker(embedded), makeTestPki()]);
    fixture.responder = await TestResponder.start({
      brokers: { nodes: [fixture.node('worker')] },
      gateway: fixture.pki.gateway,
      caPem: fixture.pki.ca.certPem,
    });
    fixture.gateway = await fixture.ownGateway();
  });
  afterAll(async () => {
    await Promise.all(closeLater.map((g) => g.close(1_000)));
    await fixture.responder?.close();
    await fixture.broker?.stop();
  });
  beforeEach(() => {
    fixture.responder.reset();
    counter.reset();
  });
  afterEach(() => {
    expect(fixture.responder.failures).toEqual([]);
  });
  return fixture;
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${inspect(value)}`);
    },
    (error: unknown) => error,
  );
}

/**
 * A slow worker the test controls: a request whose idempotency key is held gets its answer (what
 * the counting plugin does) only once the test releases that key; any other is answered at once.
 */
export class HeldAnswers {
  readonly #gates = new Map<string, { promise: Promise<void>; resolve: (value: void) => void }>();

  /** Holds the answers to the requests carrying these keys. */
  hold(...keys: string[]): this {
    for (const key of keys) this.#gates.set(key, deferred());
    return this;
  }

  /** Lets the answer to `key` go. */
  release(key: string): void {
    const gate = this.#gates.get(key);
    if (gate === undefined) throw new Error(`no answer held for ${key}`);
    gate.resolve();
  }

  /** Pass as the responder's `answer`. */
  readonly answer = async (request: ReceivedRequest): Promise<Answer> => {
    await this.#gates.get(String(request.document.idempotency_key))?.promise;
    return runCounting(request);
  };
}
