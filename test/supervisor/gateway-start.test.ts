/**
 * `paygate gateway` while it starts. A plugin that crashes on load makes
 * every worker fail at start; the supervisor restarts them with backoff until restart intensity
 * is exceeded, then stops and exits non-zero with a message that says why — it does not loop.
 * And signals that arrive before the pool is up: HUP ignored, TERM drains and exits 0; and a
 * supervisor killed outright leaves no orphan worker behind.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../integration/request-path-support.ts';
import { parseTestBrokers, type BrokerDescriptor } from '../helpers/brokers.ts';
import { GatewayProcess, poolPids, startWorld, type GatewayWorld } from './support.ts';

const CRASHING = join(ROOT, 'test', 'fixtures', 'crashing-provider.ts');
let world: GatewayWorld;

beforeAll(async () => {
  world = await startWorld(parseTestBrokers('embedded')[0] as BrokerDescriptor);
}, 60_000);
afterAll(async () => {
  await world?.close();
});

describe('paygate gateway: restart intensity', () => {
  it('gives up on a plugin that crashes on load: exit 3, the reason on stderr, no more restarts', async () => {
    world.writeConfig(
      ['workers: 2', 'http: false', 'drain_grace: 2s', 'restart: {backoff_initial: 50ms, backoff_max: 400ms, max_restarts: 4, within: 60s}'].join('\n'),
      { providers: [`{name: crashing, module: "${CRASHING}"}`] },
    );
    const gateway = new GatewayProcess(world.configPath);
    const exit = await gateway.exited;
    expect(exit).toEqual({ code: 3, signal: null });
    expect(gateway.stderr).toMatch(/^paygate: SUPERVISOR_GAVE_UP: restart intensity exceeded: 5 restarts within 60 s \(gateway\.restart\.max_restarts is 4\); last: worker \d \(pid \d+\) ended with exit code 3 — PROVIDER_INVALID: .*crashing-provider/m);
    // Two at start, then four restarts; the fifth death trips the limit: six forks, never more.
    const forks = gateway.lines.filter((l) => l.msg === 'worker process forked').length;
    expect(forks).toBe(6);
    // The stderr line above says the restarts fell within the 60 s window (the supervisor's own
    // clock decides it): no wall-clock bound of the test's own is needed.
    expect(gateway.lines.some((l) => l.msg === 'gateway gave up')).toBe(true);
  }, 90_000);

  it('signals while the workers start: SIGHUP is ignored (said on stderr), SIGTERM drains them and exits 0', async () => {
    world.writeConfig(['workers: 2', 'http: false', 'drain_grace: 5s'].join('\n'));
    const gateway = new GatewayProcess(world.configPath);
    await gateway.waitFor((l) => l.msg === 'worker process forked', 30_000, 'a fork');
    gateway.signal('SIGHUP');
    await expect.poll(() => gateway.stderr, { timeout: 5_000 }).toContain('paygate: reload not applied: the gateway is still starting');
    gateway.signal('SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(gateway.lines.some((l) => l.msg === 'gateway running')).toBe(false);
    expect(gateway.lines.some((l) => l.msg === 'gateway stopped' && l.code === 0)).toBe(true);
  }, 60_000);

  it('a supervisor killed with SIGKILL leaves no orphan: its workers see the IPC channel close, drain and exit', async () => {
    world.writeConfig(['workers: 2', 'http: {port: 0}', 'drain_grace: 5s'].join('\n'));
    const gateway = new GatewayProcess(world.configPath);
    const pids = await poolPids(await gateway.running());
    expect(pids).toHaveLength(2);
    gateway.signal('SIGKILL');
    await gateway.exited;
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(() => pids.filter(alive), { timeout: 20_000, interval: 200 }).toEqual([]);
  }, 90_000);
});
