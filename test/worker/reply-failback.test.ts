/**
 * A reply goes back through the broker its request came from, across a failback.
 *
 * Two independent embedded brokers, a worker and the SDK, both listing the primary first. The
 * primary is down at the start, so everyone sits on the backup, where a request is taken by a
 * handler that waits on a gate this test controls. The primary then comes back: the worker's two
 * connections and the SDK move there (failback) while the request is still in hand. Only then is
 * the handler released. Its reply must leave through the backup, where the request's reply queue
 * is (and where the SDK's old session still drains): the SDK gets the answer on its first and
 * only try. Sent on the primary instead, the reply would vanish and the request time out.
 *
 * Every wait is for an event (the handler entered, a failback logged or reported), never a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createGateway, type Gateway } from '../../src/client/index.ts';
import { defineProvider, scrubCardNumbers } from '../../src/providers/index.ts';
import type { StompOptions } from '../../src/stomp/index.ts';
import { Worker } from '../../src/worker/index.ts';
import { parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor, type EmbeddedBrokerHandle, type TestRole } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { roleNode } from '../integration/support.ts';

/** How often a connection on the backup tries the primary; drains outlast the test (they end by themselves). */
const PROBE_MS = 100;
const DRAIN_MS = 60_000;
const TIMEOUT_MS = 15_000;

/** A gate the handler waits on: `entered` resolves when a call arrives, `open()` lets it answer. */
class Gate {
  calls = 0;
  readonly entered: Promise<string>;
  readonly #opened: Promise<void>;
  #enter: (order: string) => void = () => undefined;
  #open: () => void = () => undefined;
  constructor() {
    this.entered = new Promise((resolve) => (this.#enter = resolve));
    this.#opened = new Promise((resolve) => (this.#open = resolve));
  }
  arrive(order: string): Promise<void> {
    this.calls += 1;
    this.#enter(order);
    return this.#opened;
  }
  open(): void {
    this.#open();
  }
}

const gate = new Gate();

const gated = defineProvider({
  name: 'gated',
  version: '1.0.0',
  actions: {
    charge: {
      request: z.strictObject({ order: z.string() }),
      result: z.strictObject({ order: z.string() }),
      handler: async (payload: { order: string }) => {
        await gate.arrive(payload.order);
        return { status: 'approved' as const, result: payload };
      },
    },
  },
  scrub: scrubCardNumbers,
});

/** Worker log lines, with a way to wait for one. */
class LogTap {
  readonly lines: { level: string; msg: string; fields: Readonly<Record<string, unknown>> }[] = [];
  readonly #waiters = new Set<() => void>();
  sink(level: string) {
    return (msg: string, fields: Readonly<Record<string, unknown>> = {}): void => {
      this.lines.push({ level, msg, fields });
      for (const wake of [...this.#waiters]) wake();
    };
  }
  /** Resolves once a line passes `test`. */
  waitFor(test: (line: LogTap['lines'][number]) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.lines.some(test)) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }
}

let pki: TestPki;
let backup: EmbeddedBrokerHandle;
let primary: EmbeddedBrokerHandle | undefined;
let primaryPort: number;
let worker: Worker | undefined;
let shop: Gateway<readonly [typeof gated]> | undefined;
const descriptor = parseTestBrokers('embedded')[0] as BrokerDescriptor;
const nameOf = (port: number): string => `127.0.0.1:${port}`;
const nodes = (role: TestRole): StompOptions['nodes'] => [
  roleNode({ ...descriptor, port: primaryPort }, role),
  roleNode({ ...descriptor, port: backup.port }, role),
];
const listed = { nodeOrder: 'listed', failback: { probeMs: PROBE_MS, drainMs: DRAIN_MS }, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } } as const;

beforeAll(async () => {
  pki = await makeTestPki();
  // The primary's port, free again: it is down while everyone connects, and comes back on it.
  const reserved = await startEmbeddedBroker();
  primaryPort = reserved.port;
  await reserved.stop();
  backup = await startEmbeddedBroker();
}, 60_000);

afterAll(async () => {
  gate.open();
  await shop?.close(2_000);
  await worker?.stop({ graceMs: 2_000 });
  await primary?.stop();
  await backup?.stop();
});

describe('a reply across a failback', () => {
  it('leaves through the node that delivered the request: the SDK is answered on its first try', async () => {
    const log = new LogTap();
    const queuePrefix = `/queue/paygate.rf${Date.now().toString(36)}-`;
    worker = await Worker.start({
      stomp: { nodes: nodes('worker'), ...listed, connectTimeoutMs: 2_000 },
      identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
      trust: [pki.ca.certPem],
      providers: [gated],
      idempotency: { path: `${makeTempDir('reply-failback')}/idempotency.sqlite` },
      queuePrefix,
      prefetch: 4,
      log: { info: log.sink('info'), warn: log.sink('warn'), error: log.sink('error') },
    });
    shop = await createGateway({
      brokers: { nodes: nodes('storefront'), ...listed, connectTimeoutMs: 2_000 },
      identity: { cert: pki.client.certPem, key: pki.client.keyPem },
      gatewayCertificates: [pki.gateway.certPem],
      trust: [pki.ca.certPem],
      providers: [gated] as const,
      queuePrefix,
      defaultTimeoutMs: TIMEOUT_MS,
    });
    const lateReplies: string[] = [];
    shop.on('late-reply', ({ correlationId }) => lateReplies.push(correlationId));
    const shopMovedBack = new Promise<string>((resolve) => shop?.on('reconnected', ({ node }) => node === nameOf(primaryPort) && resolve(node)));

    // Taken on the backup (the primary is down), and held there by the gate.
    const answer = shop.request('gated', 'charge', { order: 'held-on-backup' }, { idempotencyKey: 'held-on-backup' });
    expect(await gate.entered).toBe('held-on-backup');

    // The primary comes back: both worker connections and the SDK move there while the request is in hand.
    primary = await startEmbeddedBroker({ port: primaryPort });
    const movedBack = (stage: string) => (line: LogTap['lines'][number]): boolean =>
      line.msg === 'moving back to a broker listed earlier' && line.fields.stage === stage && line.fields.to === nameOf(primaryPort);
    await Promise.all([log.waitFor(movedBack('connection')), log.waitFor(movedBack('publisher')), shopMovedBack]);

    // Released now: the reply must go back through the backup, where the SDK's reply queue is.
    const processed = new Promise<string>((resolve) => worker?.once('processed', ({ status }) => resolve(status)));
    gate.open();
    const reply = await answer;
    expect(reply.status).toBe('approved');
    expect(reply.result).toEqual({ order: 'held-on-backup' });
    expect(gate.calls).toBe(1);
    expect(lateReplies).toEqual([]);
    // Then ACKed on the backup session, still draining: no STOMP_STALE_MESSAGE, no redelivery.
    expect(await processed).toBe('approved');
    expect(log.lines.filter((line) => line.fields.code === 'STOMP_STALE_MESSAGE')).toEqual([]);

    // And the pair goes on: a new request is taken and answered on the primary.
    const next = await shop.request('gated', 'charge', { order: 'on-primary' }, { idempotencyKey: 'on-primary' });
    expect(next.status).toBe('approved');
    expect(log.lines.filter((line) => line.level === 'error')).toEqual([]);
  }, 60_000);
});
