/**
 * Signals (HUP reload, TERM drain, SIGUSR1) and restarts: `paygate gateway` as a real process under load.
 * - SIGHUP with a changed, valid file: a rolling restart (every worker replaced) while requests
 *   flow; none is lost or answered twice (no late duplicate reply at all, and one charge per key).
 *   SIGHUP with an invalid file: refused, the same workers keep serving.
 * - /metrics parses as Prometheus text (with a parser we did not write) and its counters equal
 *   what the run did.
 * - SIGUSR1 to one worker: it finishes the request it holds, exits 0 and is replaced.
 * - SIGTERM under load (once per test broker): what workers hold is finished and acknowledged,
 *   the rest stays in the broker and is served after the next start; exit code 0.
 */
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTestBrokers, type BrokerDescriptor } from '../helpers/brokers.ts';
import { ROOT } from '../integration/request-path-support.ts';
import { APPROVE, chargesByKey, GatewayProcess, newTag, poolPids, runLoad, startWorld, type GatewayWorld } from './support.ts';

const CRASHING = join(ROOT, 'test', 'fixtures', 'crashing-provider.ts');
const POOL = ['workers: 2', 'http: {port: 0}', 'drain_grace: 20s', 'restart: {backoff_initial: 100ms, backoff_max: 1s, max_restarts: 20, within: 60s}'];
const EXP = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };

/** The value of one sample of a parsed metric family (labels must match exactly those given). */
function sample(families: ReturnType<typeof parsePrometheusTextFormat>, name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const metric = family?.metrics.find((m) => JSON.stringify(Object.entries(m.labels ?? {}).sort()) === JSON.stringify(Object.entries(labels).sort()));
  if (metric === undefined || !('value' in metric)) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return Number(metric.value);
}

describe('paygate gateway: SIGHUP, SIGUSR1 and /metrics (embedded broker)', () => {
  let world: GatewayWorld;
  let gateway: GatewayProcess;
  let statusUrl: string;
  /** What the suite's requests got, for the /metrics test. */
  const counted = { approved: 0, declined: 0 };

  beforeAll(async () => {
    world = await startWorld(parseTestBrokers('embedded')[0] as BrokerDescriptor);
    world.writeConfig([...POOL, ''].join('\n'), { top: ['prefetch: 8'] });
    gateway = new GatewayProcess(world.configPath);
    statusUrl = await gateway.running();
  }, 120_000);
  afterAll(async () => {
    gateway?.signal('SIGKILL');
    await world?.close();
  });

  it('reloads on SIGHUP during load: every worker replaced, nothing lost or answered twice; an invalid file leaves the pool running', async () => {
    const client = await world.client();
    let late = 0;
    client.on('late-reply', () => (late += 1));
    const before = await poolPids(statusUrl);
    expect(before).toHaveLength(2);
    const tag = newTag('hup');
    let hupSent = false;
    // Load runs from before the HUP until 100 answers after the rolling restart completed.
    let answered = 0;
    let appliedAt: number | undefined;
    void gateway.waitFor((l) => l.msg === 'reload applied', 120_000, '"reload applied"').then(() => (appliedAt = answered), () => undefined);
    const result = await runLoad(client, {
      count: 20_000,
      concurrency: 16,
      tag,
      declineEvery: 10,
      stop: () => appliedAt !== undefined && answered >= appliedAt + 100,
      onAnswered: (n) => {
        answered = n;
        if (n === 100 && !hupSent) {
          hupSent = true;
          world.writeConfig([...POOL, ''].join('\n'), { top: ['prefetch: 4'] });
          gateway.signal('SIGHUP');
        }
      },
    });
    expect(appliedAt).toBeGreaterThan(100);
    expect(result.failures).toEqual([]);
    const total = result.outcomes.size;
    expect(total).toBeLessThan(20_000);
    const declined = [...result.outcomes.keys()].filter((k) => Number(k.slice(tag.length + 1)) % 10 === 0).length;
    expect([...result.outcomes.values()].filter((s) => s === 'declined')).toHaveLength(declined);
    expect([...result.outcomes.values()].filter((s) => s === 'approved')).toHaveLength(total - declined);
    counted.approved += total - declined;
    counted.declined += declined;
    const charges = chargesByKey(world.sandbox, tag);
    expect(charges.size).toBe(total);
    expect([...charges.values()].every((n) => n === 1)).toBe(true);
    expect(late).toBe(0);
    const after = await poolPids(statusUrl);
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);

    // An invalid file: refused, logged with its problem, the same workers keep serving.
    const linesBefore = gateway.lines.length;
    world.writeConfig(['workers: none', 'http: {port: 0}'].join('\n'));
    gateway.signal('SIGHUP');
    const refused = await gateway.waitFor((l) => l.msg?.startsWith('reload refused') === true, 30_000, '"reload refused"');
    expect(JSON.stringify(refused.problems)).toContain('gateway.workers');
    await expect.poll(() => gateway.stderr, { timeout: 5_000 }).toContain('paygate: reload not applied: invalid worker configuration');
    expect(await poolPids(statusUrl)).toEqual(after);
    expect(gateway.count('worker process forked', linesBefore)).toBe(0);
    const more = await runLoad(client, { count: 50, concurrency: 8, tag: newTag('after-refused') });
    expect(more.failures).toEqual([]);
    expect([...more.outcomes.values()].every((s) => s === 'approved')).toBe(true);
    counted.approved += 50;
    world.writeConfig([...POOL, ''].join('\n'), { top: ['prefetch: 4'] });
  }, 180_000);

  it('a valid file whose new workers cannot start: the new pool is drained, the old one keeps serving', async () => {
    const before = await poolPids(statusUrl);
    const from = gateway.lines.length;
    world.writeConfig([...POOL, ''].join('\n'), { top: ['prefetch: 4'], providers: [`{name: crashing, module: "${CRASHING}"}`] });
    gateway.signal('SIGHUP');
    const failed = await gateway.waitFor((l) => l.msg?.startsWith('reload failed') === true && gateway.lines.indexOf(l) >= from, 60_000, '"reload failed"');
    expect(String(failed.reason)).toMatch(/WORKER_START_FAILED|exited before it was ready|PROVIDER_INVALID/);
    expect(await poolPids(statusUrl)).toEqual(before);
    const client = await world.client();
    const more = await runLoad(client, { count: 20, concurrency: 4, tag: newTag('after-failed') });
    expect(more.failures).toEqual([]);
    expect([...more.outcomes.values()].every((s) => s === 'approved')).toBe(true);
    counted.approved += 20;
    world.writeConfig([...POOL, ''].join('\n'), { top: ['prefetch: 4'] });
  }, 90_000);

  it('serves /metrics as Prometheus text whose counters match the run', async () => {
    // Workers report each answer after its ACK, so the last reports may trail the last replies by
    // a few milliseconds: scrape until the pool is idle, then every counter must be exact.
    let families: ReturnType<typeof parsePrometheusTextFormat> = [];
    await expect
      .poll(
        async () => {
          const response = await fetch(`${statusUrl}/metrics`);
          expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
          families = parsePrometheusTextFormat(await response.text());
          return sample(families, 'paygate_in_flight') === 0 && sample(families, 'paygate_requests_total', { provider: 'card', type: 'authorize', status: 'approved' }) >= counted.approved;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    // Exactly the approved and declined authorizations of the previous test, nothing else.
    expect(counted.approved).toBeGreaterThan(150);
    expect(sample(families, 'paygate_requests_total', { provider: 'card', type: 'authorize', status: 'approved' })).toBe(counted.approved);
    expect(sample(families, 'paygate_requests_total', { provider: 'card', type: 'authorize', status: 'declined' })).toBe(counted.declined);
    expect(sample(families, 'paygate_request_errors_total', { provider: 'card', type: 'authorize', code: 'DO_NOT_HONOR' })).toBe(counted.declined);
    const duration = families.find((f) => f.name === 'paygate_request_duration_seconds');
    expect(duration?.type).toBe('HISTOGRAM');
    expect(sample(families, 'paygate_reloads_total', { outcome: 'applied' })).toBe(1);
    expect(sample(families, 'paygate_reloads_total', { outcome: 'rejected' })).toBe(1);
    expect(sample(families, 'paygate_reloads_total', { outcome: 'failed' })).toBe(1);
    expect(sample(families, 'paygate_worker_restarts_total', { cause: 'killed' })).toBe(0);
    expect(sample(families, 'paygate_pool_ready_workers')).toBe(2);
    expect(sample(families, 'paygate_workers', { state: 'connected' })).toBe(2);
    expect(sample(families, 'paygate_in_flight')).toBe(0);
    const health = (await (await fetch(`${statusUrl}/healthz`)).json()) as { status: string; broker: string };
    expect(health).toMatchObject({ status: 'ok', broker: 'connected' });
  }, 60_000);

  it('SIGUSR1 to a worker: it finishes the request it holds, exits 0 and is replaced', async () => {
    const client = await world.client();
    world.sandbox.knobs.latencyMs = 1_500;
    try {
      const key = `${newTag('usr1')}-0`;
      const reply = client.request('card', 'authorize', { amount: { value: 777, currency: 'EUR' }, card: { number: APPROVE, ...EXP } }, { idempotencyKey: key });
      let holder: number | undefined;
      for (let i = 0; i < 100 && holder === undefined; i += 1) {
        const health = (await (await fetch(`${statusUrl}/healthz`)).json()) as { workers: { processes: { pid: number; inFlight: number }[] } };
        holder = health.workers.processes.find((p) => p.inFlight > 0)?.pid;
        if (holder === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(holder).toBeDefined();
      const from = gateway.lines.length;
      process.kill(holder as number, 'SIGUSR1');
      expect((await reply).status).toBe('approved');
      await gateway.waitFor((l) => l.msg === 'worker process forked' && gateway.lines.indexOf(l) >= from, 30_000, 'the replacement');
      const exited = gateway.lines.slice(from).find((l) => l.msg === 'worker stopped itself; starting its replacement');
      expect(exited?.workerPid).toBe(holder);
      expect(chargesByKey(world.sandbox, key.slice(0, -2)).get(key)).toBe(1);
    } finally {
      world.sandbox.knobs.latencyMs = 0;
    }
    await expect.poll(async () => (await poolPids(statusUrl)).length, { timeout: 30_000 }).toBe(2);
  }, 60_000);

  it('SIGTERM while a replacement worker is still starting: it stops at once and the gateway exits 0', async () => {
    const [victim] = await poolPids(statusUrl);
    const from = gateway.lines.length;
    process.kill(victim as number, 'SIGKILL');
    await gateway.waitFor((l) => l.msg === 'worker process forked' && gateway.lines.indexOf(l) >= from, 30_000, 'the replacement fork');
    const started = Date.now();
    gateway.signal('SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    // Far below the 20 s drain grace: the starting worker did not have to be killed.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(gateway.lines.some((l) => l.msg === 'gateway stopped' && l.reason === 'drained')).toBe(true);
  }, 60_000);
});

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('paygate gateway: SIGTERM under load ($name)', (descriptor) => {
  let world: GatewayWorld;

  beforeAll(async () => {
    world = await startWorld(descriptor);
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  it('finishes and acknowledges what it holds, exits 0; the rest is served after the next start', async () => {
    world.writeConfig([...POOL, ''].join('\n'), { top: ['prefetch: 4'] });
    let gateway = new GatewayProcess(world.configPath);
    await gateway.running();
    const client = await world.client(120_000);
    let late = 0;
    client.on('late-reply', () => (late += 1));
    world.sandbox.knobs.latencyMs = 150;
    const tag = newTag('term');
    let termSent = false;
    let answered = 0;
    const load = runLoad(client, {
      count: 200,
      concurrency: 200,
      tag,
      onAnswered: (n) => {
        answered = n;
        if (n === 30 && !termSent) {
          termSent = true;
          gateway.signal('SIGTERM');
        }
      },
    });
    const exit = await gateway.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(gateway.lines.some((l) => l.msg === 'gateway stopped' && l.reason === 'drained')).toBe(true);
    // Replies already sent may still be on their way to us: give them a moment, then compare.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Everything a worker started was finished: each charge at the sandbox has its answer, and
    // nothing is charged without one; the rest was never started.
    const charged = chargesByKey(world.sandbox, tag).size;
    expect(charged).toBe(answered);
    expect(answered).toBeGreaterThanOrEqual(30);
    expect(answered).toBeLessThan(200);
    world.sandbox.knobs.latencyMs = 0;
    gateway = new GatewayProcess(world.configPath);
    await gateway.running();
    const result = await load;
    expect(result.failures).toEqual([]);
    expect(result.outcomes.size).toBe(200);
    expect([...result.outcomes.values()].every((s) => s === 'approved')).toBe(true);
    const charges = chargesByKey(world.sandbox, tag);
    expect(charges.size).toBe(200);
    expect([...charges.values()].every((n) => n === 1)).toBe(true);
    expect(late).toBe(0);
    gateway.signal('SIGTERM');
    expect((await gateway.exited).code).toBe(0);
  }, 240_000);
});
