/**
 * `paygate gateway` and a damaged idempotency store, on real files: a store with garbage pages
 * or emptied behind its marker stops the gateway at start with the store's named error (exit 3:
 * a restart cannot fix it), never a gateway that starts and times out every request; a store on
 * a full disk (a small tmpfs mounted for this file) shows on /healthz and makes requests fail at
 * once with a retryable STORE_FAILED, and the gateway serves again once space is freed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/client/index.ts';
import { IdempotencyStore } from '../../src/worker/idempotency-store.ts';
import { parseTestBrokers, type BrokerDescriptor } from '../helpers/brokers.ts';
import { APPROVE, GatewayProcess, startWorld, type GatewayWorld } from './support.ts';

const GATEWAY = ['workers: 2', 'http: {port: 0}', 'drain_grace: 2s', 'restart: {backoff_initial: 50ms, backoff_max: 200ms, max_restarts: 2, within: 60s}'].join('\n');
const PAYLOAD = { amount: { value: 1_500, currency: 'EUR' }, card: { number: APPROVE, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 } };
let world: GatewayWorld;
let mountPoint: string | undefined;

beforeAll(async () => {
  world = await startWorld(parseTestBrokers('embedded')[0] as BrokerDescriptor);
}, 60_000);
afterAll(async () => {
  if (mountPoint !== undefined) execFileSync('umount', [mountPoint]);
  await world?.close();
});

/** A store at `path` with `entries` completed keys, closed. */
function makeStore(path: string, entries: number): void {
  const store = IdempotencyStore.open({ path });
  for (let i = 0; i < entries; i += 1) {
    const key = { provider: 'card', idempotencyKey: `old-${i}` };
    store.begin({ ...key, requestId: `r-${i}`, payloadDigest: 'd', workerId: 'w', now: Date.now() });
    store.complete({ ...key, reply: `reply ${i} ${'x'.repeat(1_000)}` });
  }
  store.close();
}

async function health(statusUrl: string): Promise<{ status: string; store: string; storeError?: string }> {
  return (await (await fetch(`${statusUrl}/healthz`)).json()) as { status: string; store: string; storeError?: string };
}

describe('paygate gateway: a damaged idempotency store', () => {
  it('garbage pages: exit 3 with STORE_CORRUPT, before serving anything', async () => {
    const storePath = join(world.dir, 'corrupt', 'idempotency.sqlite');
    makeStore(storePath, 200);
    const fd = openSync(storePath, 'r+');
    writeSync(fd, randomBytes(8 * 4_096), 0, 8 * 4_096, 2 * 4_096);
    closeSync(fd);
    world.writeConfig(GATEWAY, { storePath });
    const gateway = new GatewayProcess(world.configPath);
    expect(await gateway.exited).toEqual({ code: 3, signal: null });
    expect(gateway.stderr).toMatch(/^paygate: SUPERVISOR_GAVE_UP: .* STORE_CORRUPT: the idempotency store .* is damaged/m);
    expect(gateway.lines.some((l) => l.msg === 'gateway running')).toBe(false);
  }, 90_000);

  it('emptied behind its marker: exit 3 with STORE_MISSING, the file left as it is', async () => {
    const storePath = join(world.dir, 'emptied', 'idempotency.sqlite');
    makeStore(storePath, 3);
    truncateSync(storePath, 0);
    world.writeConfig(GATEWAY, { storePath });
    const gateway = new GatewayProcess(world.configPath);
    expect(await gateway.exited).toEqual({ code: 3, signal: null });
    expect(gateway.stderr).toMatch(/STORE_MISSING: the idempotency store .* is empty \(0 bytes\)/);
    expect(statSync(storePath).size).toBe(0);
  }, 90_000);

  it('a full disk: /healthz says the store is failing, requests fail at once (retryable), and it serves again once space is freed', async () => {
    mountPoint = join(world.dir, 'small-disk');
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mountPoint]);
    world.writeConfig(GATEWAY, { storePath: join(mountPoint, 'idempotency.sqlite') });
    const gateway = new GatewayProcess(world.configPath);
    try {
      const statusUrl = await gateway.running();
      const client = await world.client(20_000);
      expect((await client.request('card', 'authorize', PAYLOAD, { idempotencyKey: 'disk-before' })).status).toBe('approved');
      expect(await health(statusUrl)).toMatchObject({ status: 'ok', store: 'ok' });

      const filler = join(mountPoint, 'filler');
      const fd = openSync(filler, 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(64 * 1024, 1));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
      const refused = await client.request('card', 'authorize', PAYLOAD, { idempotencyKey: 'disk-full' }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RemoteError);
      expect(refused).toMatchObject({ remoteCode: 'STORE_FAILED', retryable: true });
      await expect.poll(async () => (await health(statusUrl)).store, { timeout: 10_000 }).toBe('failing');
      expect((await health(statusUrl)).storeError).toMatch(/STORE_FAILED: .*(full|disk)/);

      rmSync(filler);
      await expect.poll(async () => (await health(statusUrl)).status, { timeout: 15_000 }).toBe('ok');
      expect((await client.request('card', 'authorize', PAYLOAD, { idempotencyKey: 'disk-full' })).status).toBe('approved');
      expect(world.sandbox.ledger.entries.filter((e) => e.merchantRef === 'disk-full')).toHaveLength(1);
      gateway.signal('SIGTERM');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
    } finally {
      gateway.signal('SIGKILL');
    }
  }, 120_000);
});
