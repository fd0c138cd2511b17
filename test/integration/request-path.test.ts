// On every broker of the matrix: the typed SDK and the worker,
// through a real broker, with real crypto. The worker of the second test is a real `paygate worker`
// process, killed with SIGKILL in the middle of the provider call.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, type GatewayReply } from '../../src/client/index.ts';
import { Certificate } from '../../src/wire/index.ts';
import { Worker } from '../../src/worker/index.ts';
import { counter, counting, readJournal } from '../fixtures/counting-provider.ts';
import { asRole, parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { roleNode } from './support.ts';
import { spawnWorker, uniquePrefix, until, writeWorkerConfig } from './request-path-support.ts';

const CARD = { number: '4111111111111111', exp_month: 12, exp_year: new Date().getFullYear() + 2, cvc: '123' };
const REQUESTS = 1_000;
const DISTINCT_KEYS = 800;
const IN_FLIGHT = 64;

type CountingGateway = Gateway<readonly [typeof counting]>;

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('request path on $name', (descriptor) => {
  let broker: TestBroker;
  let pki: TestPki;
  let dir: string;

  beforeAll(async () => {
    broker = await startTestBroker(descriptor);
    pki = await makeTestPki({ algo: 'ec' });
    dir = makeTempDir('request-path');
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const gatewayFor = (queuePrefix: string): Promise<CountingGateway> =>
    createGateway({
      brokers: { nodes: [roleNode(broker.descriptor, 'storefront')] },
      identity: { cert: pki.client.certPem, key: pki.client.keyPem },
      gatewayCertificates: [pki.gateway.certPem],
      trust: [pki.ca.certPem],
      providers: [counting] as const,
      queuePrefix,
      defaultTimeoutMs: 30_000,
    });

  it(`${REQUESTS} requests, ${IN_FLIGHT} in flight: all answered, matched, verified; one provider call per idempotency key`, async () => {
    counter.reset();
    const queuePrefix = uniquePrefix();
    const worker = await Worker.start({
      stomp: { nodes: [roleNode(broker.descriptor, 'worker')] },
      identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
      trust: [pki.ca.certPem],
      providers: [counting],
      idempotency: { path: join(dir, `load-${descriptor.name}.sqlite`) },
      prefetch: IN_FLIGHT,
      queuePrefix,
    });
    const gateway = await gatewayFor(queuePrefix);
    const replies = new Array<GatewayReply<unknown>>(REQUESTS);
    const gatewayCert = Certificate.from(pki.gateway.certPem);
    try {
      // A pool of IN_FLIGHT callers taking request numbers in order: request i + DISTINCT_KEYS
      // (same key as i) starts only after i was answered, so it must get i's stored reply.
      let next = 0;
      const caller = async (): Promise<void> => {
        for (let i = next++; i < REQUESTS; i = next++) {
          const key = `order-${i % DISTINCT_KEYS}`;
          const amount = { value: 1_000 + (i % DISTINCT_KEYS), currency: 'EUR' };
          replies[i] = await gateway.request('counting', 'authorize', { amount, card: CARD, order_id: key }, { idempotencyKey: key });
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, caller));
    } finally {
      await gateway.close(5_000);
      await worker.stop({ graceMs: 5_000 });
    }

    expect(replies.filter(Boolean)).toHaveLength(REQUESTS);
    expect(new Set(replies.map((r) => r.requestId)).size).toBe(REQUESTS);
    replies.forEach((reply, i) => {
      const key = `order-${i % DISTINCT_KEYS}`;
      expect(reply.idempotencyKey).toBe(key);
      expect(reply.signer.fingerprint).toBe(gatewayCert.fingerprint);
      expect(reply.status).toBe((1_000 + (i % DISTINCT_KEYS)) % 100 === 51 ? 'declined' : 'approved');
      expect(reply.result).toMatchObject({ amount: { value: 1_000 + (i % DISTINCT_KEYS), currency: 'EUR' } });
      if (i >= DISTINCT_KEYS) expect(reply.result).toEqual(replies[i - DISTINCT_KEYS]?.result);
    });
    expect(counter.total).toBe(DISTINCT_KEYS);
    expect(counter.distinctKeys).toBe(DISTINCT_KEYS);
    expect(counter.duplicates).toEqual([]);
  }, 120_000);

  it('a worker SIGKILLed during the provider call: the request is redelivered to a second worker, charged once, answered once', async () => {
    const queuePrefix = uniquePrefix();
    const journal = join(dir, `journal-${randomUUID()}.log`);
    const config = writeWorkerConfig(dir, asRole(broker.descriptor, 'worker'), pki, queuePrefix);
    const env = { PAYGATE_COUNTING_JOURNAL: journal, PAYGATE_COUNTING_DELAY_MS: '4000' };
    const first = spawnWorker(config, env);
    let second: ReturnType<typeof spawnWorker> | undefined;
    const gateway = await gatewayFor(queuePrefix);
    const answers: unknown[] = [];
    gateway.on('late-reply', (late) => answers.push(late));
    try {
      await first.ready;
      const key = `kill-${randomUUID()}`;
      const pending = gateway.request(
        'counting',
        'authorize',
        { amount: { value: 4_200, currency: 'EUR' }, card: CARD, order_id: key },
        { idempotencyKey: key, timeoutMs: 40_000 },
      );
      await until('the first worker to call the provider', () => readJournal(journal).get(key) === 1);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');

      second = spawnWorker(config, { ...env, PAYGATE_COUNTING_DELAY_MS: '0' });
      await second.ready;
      const reply = await pending;
      answers.push(reply);
      // The second worker finds the key in progress: it reconciles (the fixture's ledger died with
      // the first process, so the honest answer is `unknown`) and never calls the provider again.
      expect(reply.idempotencyKey).toBe(key);
      expect(['approved', 'unknown']).toContain(reply.status);
      if (reply.status === 'unknown') expect(reply.error?.code).toBe('OUTCOME_UNKNOWN');
      // The control: a later request on the same queue, answered by the same worker. A second
      // copy of the first would have been taken off the queue before it.
      const control = `${key}-control`;
      const controlReply = await gateway.request(
        'counting',
        'authorize',
        { amount: { value: 4_200, currency: 'EUR' }, card: CARD, order_id: control },
        { idempotencyKey: control, timeoutMs: 40_000 },
      );
      expect(controlReply.status).toBe('approved');
      expect(readJournal(journal).get(control)).toBe(1);
      expect(readJournal(journal).get(key)).toBe(1);
      expect(answers).toHaveLength(1);
    } finally {
      await gateway.close(1_000);
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      if (second) expect(await second.exited).toBe(0);
    }
  }, 60_000);
});
