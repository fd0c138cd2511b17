/**
 * `paygate gateway` started before its broker: an unreachable broker is waited for, not a start
 * failure. The workers keep retrying with backoff past their ready timeout, /healthz says the
 * broker is unreachable (and why), nothing is restarted or counted toward restart intensity,
 * and the gateway serves as soon as a broker listens on the configured port.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../integration/request-path-support.ts';
import { parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor, type EmbeddedBrokerHandle } from '../helpers/brokers.ts';
import { APPROVE, GatewayProcess, startWorld, type GatewayWorld } from './support.ts';

let world: GatewayWorld;
let lateBroker: EmbeddedBrokerHandle | undefined;

beforeAll(async () => {
  world = await startWorld(parseTestBrokers('embedded')[0] as BrokerDescriptor);
}, 60_000);
afterAll(async () => {
  await lateBroker?.stop();
  await world?.close();
});

describe('paygate gateway: a broker that comes up after the gateway', () => {
  it('waits for it (no restart, /healthz down with the reason), then serves', async () => {
    const { port } = world.broker.descriptor;
    // The config names the world's broker; stopping it leaves nothing listening on that port.
    world.writeConfig(['workers: 2', 'http: {port: 0}', 'drain_grace: 2s', 'ready_timeout: 4s', 'restart: {backoff_initial: 50ms, backoff_max: 200ms, max_restarts: 1, within: 60s}'].join('\n'));
    await world.broker.stop();
    const gateway = new GatewayProcess(world.configPath);
    try {
      const statusUrl = String((await gateway.waitFor((l) => l.msg === 'status endpoint listening', 30_000, 'the status endpoint')).statusUrl);
      // Each worker outlives its ready timeout while it waits: the supervisor says so and keeps it.
      await gateway.waitFor((l) => l.msg === 'worker still waiting for the broker; not restarted' && l.slot === 0, 60_000, "slot 0's ready timeout");
      await gateway.waitFor((l) => l.msg === 'worker still waiting for the broker; not restarted' && l.slot === 1, 60_000, "slot 1's ready timeout");
      const response = await fetch(`${statusUrl}/healthz`);
      const health = (await response.json()) as { status: string; phase: string; broker: string; brokerError?: string; restartsInWindow: number };
      expect(response.status).toBe(503);
      expect(health).toMatchObject({ status: 'down', phase: 'starting', broker: 'unreachable', restartsInWindow: 0 });
      expect(health.brokerError).toMatch(/ECONNREFUSED/);
      expect(gateway.count('worker process forked')).toBe(2);
      expect(gateway.count('worker process died; restarting')).toBe(0);

      lateBroker = await startEmbeddedBroker({ port });
      await gateway.running(60_000);
      expect(gateway.lines.some((l) => l.msg === 'broker reached')).toBe(true);
      expect(gateway.count('worker process forked')).toBe(2);
      const client = await world.client(30_000);
      const answer = await client.request('card', 'authorize', { amount: { value: 1_234, currency: 'EUR' }, card: { number: APPROVE, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 } });
      expect(answer.status).toBe('approved');
      gateway.signal('SIGTERM');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
    } finally {
      gateway.signal('SIGKILL');
    }
  }, 120_000);

  it('a lone `paygate worker` waits for its broker the same way, then serves', async () => {
    await lateBroker?.stop();
    lateBroker = undefined;
    const worker = spawn(process.execPath, [BIN, 'worker', '--config', world.configPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { out: '', err: '' };
    const checks = new Set<() => void>();
    worker.stdout.setEncoding('utf8').on('data', (chunk: string) => ((output.out += chunk), checks.forEach((check) => check())));
    worker.stderr.setEncoding('utf8').on('data', (chunk: string) => ((output.err += chunk), checks.forEach((check) => check())));
    const seen = (test: () => boolean, what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!test()) return;
          checks.delete(check);
          resolve();
        };
        checks.add(check);
        check();
        worker.once('exit', (code) => reject(new Error(`paygate worker exited (${String(code)}) before ${what}: ${output.err.slice(-2_000)}`)));
      });
    try {
      await seen(() => output.err.includes('broker unreachable; retrying'), 'a failed attempt');
      lateBroker = await startEmbeddedBroker({ port: world.broker.descriptor.port });
      await seen(() => / serving card/.test(output.out), 'serving');
      const exited = new Promise((resolve) => worker.once('exit', (code) => resolve(code)));
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      worker.kill('SIGKILL');
    }
  }, 60_000);

  it('a SIGTERM while the workers wait for the broker drains them and exits 0 at once', async () => {
    await lateBroker?.stop();
    lateBroker = undefined;
    const gateway = new GatewayProcess(world.configPath);
    try {
      await gateway.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('broker unreachable; retrying'), 30_000, 'a failed attempt');
      gateway.signal('SIGTERM');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(gateway.lines.some((l) => l.msg === 'gateway stopped' && l.code === 0)).toBe(true);
    } finally {
      gateway.signal('SIGKILL');
    }
  }, 60_000);
});
