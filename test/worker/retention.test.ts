/**
 * Retention (docs/idempotency.md): a running worker purges idempotency entries and request ids
 * past their retention, at start-up and then every `purgeIntervalMs`; recent ones stay.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyStore, Worker } from '../../src/worker/index.ts';
import { counting } from '../fixtures/counting-provider.ts';
import { asRole, parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki } from '../helpers/pki.ts';
import { nodeOf } from '../integration/support.ts';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker(parseTestBrokers('embedded')[0] as NonNullable<ReturnType<typeof parseTestBrokers>[0]>);
});
afterAll(async () => {
  await broker?.stop();
});

const HOUR = 3_600_000;
const claim = (key: string, now: number) => ({ provider: 'counting', idempotencyKey: key, requestId: `r-${key}`, payloadDigest: 'd', workerId: 'w-old', now });

describe('retention', () => {
  it('purges what is past retention at start-up and on its interval, and keeps the rest', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const path = join(makeTempDir('retention'), 'store.sqlite');
    const seed = IdempotencyStore.open({ path });
    const now = Date.now();
    seed.begin(claim('old', now - 3 * HOUR));
    seed.complete({ provider: 'counting', idempotencyKey: 'old', reply: 'old reply', now: now - 3 * HOUR });
    seed.begin(claim('recent', now - 1_000));
    seed.complete({ provider: 'counting', idempotencyKey: 'recent', reply: 'recent reply', now: now - 1_000 });
    seed.close();

    const worker = await Worker.start({
      stomp: { nodes: [nodeOf(asRole(broker.descriptor, 'worker'))] },
      identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
      trust: [pki.ca.certPem],
      providers: [counting],
      idempotency: { path, retentionMs: 2 * HOUR },
      queuePrefix: '/queue/paygate.pgret-',
      purgeIntervalMs: 100,
    });
    const check = IdempotencyStore.open({ path });
    try {
      // At start-up: the 3-hour-old entry is gone (a new begin finds nothing), the recent one stays.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(check.begin({ ...claim('old', Date.now()), workerId: 'w-check' })).toEqual({ kind: 'new' });
      expect(check.begin({ ...claim('recent', Date.now()), workerId: 'w-check' })).toMatchObject({ kind: 'completed' });
      // On the interval: an entry that becomes old is purged without a restart.
      check.begin(claim('later', Date.now() - 3 * HOUR));
      check.complete({ provider: 'counting', idempotencyKey: 'later', reply: 'x', now: Date.now() - 3 * HOUR });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(check.begin({ ...claim('later', Date.now()), workerId: 'w-check' })).toEqual({ kind: 'new' });
    } finally {
      check.close();
      await worker.stop({ graceMs: 500 });
    }
  });
});
