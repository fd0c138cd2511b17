// The audit trail end to end, on every broker of the matrix: a real `paygate gateway` (supervisor
// and a pool of worker processes) answers 1,000 SDK requests over the three plugins' sandboxes,
// approvals and declines, while bad messages are injected raw (a flipped byte, a signer of another
// CA) and one worker is SIGKILLed; every request must then be accounted for.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayChild } from '../../bench/chaos/gateway.ts';
import { parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeForeignPki, makeTestPki, type ForeignPki, type TestPki } from '../helpers/pki.ts';
import { killOneWorker, type WorkerKill } from './audit-trail-faults.ts';
import { EXPECTED_REASONS, injectAll, Injector, readDeadLetters, type DeadLetter } from './audit-trail-inject.ts';
import { runWorkload, type SentRequest } from './audit-trail-workload.ts';
import { freePort, startGateway, startSandboxes, startShop, trailQueues, writeGatewayConfig, type Shop, type TrailQueues } from './audit-trail-world.ts';

const REQUESTS = 1_000;
const IN_FLIGHT = 64;
/** Of each kind of bad message. */
const INJECTED_PER_KIND = 6;
/** For a condition that holds within seconds on an idle machine (a deadline for failures, not a pace). */
const SETTLE_MS = 90_000;

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('the audit trail through the gateway on $name', (descriptor) => {
  let broker: TestBroker;
  let pki: TestPki;
  let foreign: ForeignPki;
  let dir: string;
  let queues: TrailQueues;
  let gateway: GatewayChild;
  let shop: Shop;
  let injector: Injector;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'paygate-trail-'));
    [pki, foreign, broker] = await Promise.all([makeTestPki({ algo: 'ec' }), makeForeignPki({ algo: 'ec' }), startTestBroker(descriptor)]);
    stops.push(() => broker.stop());
    queues = trailQueues();
    const { endpoints } = await startSandboxes(pki, stops);
    const statusPort = await freePort();
    const config = writeGatewayConfig(dir, broker.descriptor, pki, endpoints, queues, statusPort, undefined);
    gateway = await startGateway(dir, config, statusPort);
    stops.push(() => gateway.stop());
    shop = await startShop(broker.descriptor, pki, queues);
    stops.push(() => shop.close(2_000));
    injector = await Injector.open(broker.descriptor, queues.prefix);
    stops.push(() => injector.close());
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('accounts for every request, every injected message and the faults', async () => {
    const faults: Promise<unknown>[] = [];
    let workerKill: WorkerKill | undefined;
    const onAnswered = (answered: number): void => {
      if (answered === Math.floor(REQUESTS * 0.2)) faults.push(injectAll(injector, pki, foreign, INJECTED_PER_KIND));
      if (answered === Math.floor(REQUESTS * 0.3)) faults.push(killOneWorker(gateway, SETTLE_MS).then((kill) => (workerKill = kill)));
    };
    const sent = await runWorkload(shop, { requests: REQUESTS, inFlight: IN_FLIGHT, seed: 7, keyPrefix: `trail-${queues.prefix.slice(-11, -1)}`, onAnswered });
    await Promise.all(faults);

    checkAnswers(sent);
    expect(workerKill?.newPid).not.toBe(workerKill?.killedPid);
    expect(injector.sent).toHaveLength(2 * INJECTED_PER_KIND);

    const letters = await readDeadLetters(broker.descriptor, 'operator', queues.prefix, ['card', 'paypal', 'giftcard'], (got) => injector.sent.every((i) => got.some((l) => l.correlationId === i.correlationId)), SETTLE_MS);
    checkDeadLetters(letters);
    expect(injector.replies).toHaveLength(0);
  }, 420_000);

  /** Every request was sent once and answered (a reply, or an error reply): none timed out. */
  function checkAnswers(sent: readonly SentRequest[]): void {
    expect(sent).toHaveLength(REQUESTS);
    expect(new Set(sent.map((s) => s.requestId)).size).toBe(REQUESTS);
    expect(sent.filter((s) => s.answer.kind === 'timeout').map((s) => `${s.provider} ${s.type} ${s.requestId}`)).toEqual([]);
    const statuses = new Set(sent.map((s) => (s.answer.kind === 'reply' ? s.answer.status : s.answer.kind)));
    // The mix must have produced both approvals and declines, or it tested less than it claims.
    expect(statuses).toContain('approved');
    expect(statuses).toContain('declined');
    for (const provider of ['card', 'paypal', 'giftcard']) expect(sent.filter((s) => s.provider === provider).length).toBeGreaterThan(REQUESTS / 10);
  }

  /**
   * Each injected message is in a dead-letter queue with a reason of its kind (twice is allowed
   * there: a worker killed between the dead letter and its ACK; the audit feed must hold it once).
   */
  function checkDeadLetters(letters: readonly DeadLetter[]): void {
    for (const injected of injector.sent) {
      const found = letters.filter((letter) => letter.correlationId === injected.correlationId);
      expect(found.length, `${injected.kind} on ${injected.provider}`).toBeGreaterThanOrEqual(1);
      for (const letter of found) expect(EXPECTED_REASONS[injected.kind]).toContain(letter.reason);
    }
  }
});
