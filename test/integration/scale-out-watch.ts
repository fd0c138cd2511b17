/**
 * Watching gateways from outside, as an operator does: `/healthz` sampled through a run (when did
 * the store fail, when did every worker serve again), and waiting until no worker holds a request
 * any more before the sandboxes' ledgers are read (a request still being worked on could move
 * money after the count). Waits are for events, with deadlines for failures.
 */
import { readFileSync } from 'node:fs';
import type { GatewayChild, GatewayHealth } from '../../bench/chaos/gateway.ts';
import { sumBy } from '../../bench/chaos/metrics.ts';

/** One `/healthz` reading. */
export interface HealthSample {
  /** performance.now() when it was read. */
  readonly at: number;
  readonly health: GatewayHealth | undefined;
}

/** `/healthz` read every `everyMs` until stopped. */
export class HealthWatch {
  readonly samples: HealthSample[] = [];
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(gateway: GatewayChild, everyMs = 200) {
    this.#done = (async () => {
      while (!this.#stopped) {
        const health = await gateway.health().catch(() => undefined);
        this.samples.push({ at: performance.now(), health });
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    })();
  }

  /** The first sample at or after `since` that satisfies `test`. */
  first(since: number, test: (health: GatewayHealth) => boolean): HealthSample | undefined {
    return this.samples.find((sample) => sample.at >= since && sample.health !== undefined && test(sample.health));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/** Every slot serves and the store is fine. */
export const serving = (health: GatewayHealth): boolean => health.status === 'ok' && health.store === 'ok';

/** Worker pids by slot, from `/healthz`. */
export async function poolPids(gateway: GatewayChild): Promise<Record<number, number>> {
  return Object.fromEntries((await gateway.processes()).map((p) => [p.slot, p.pid]));
}

/**
 * Resolves once every worker of every gateway serves and holds no request, in two readings 250 ms
 * apart (a redelivered request may be picked up between them); throws after `timeoutMs` with the
 * last readings.
 */
export async function waitIdle(gateways: readonly GatewayChild[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let quiet = 0;
  let last: (GatewayHealth | undefined)[] = [];
  while (quiet < 2) {
    if (performance.now() > deadline) throw new Error(`the gateways were not idle within ${timeoutMs} ms; last /healthz: ${JSON.stringify(last).slice(0, 1_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await Promise.all(gateways.map((g) => g.health().catch(() => undefined)));
    const idle = last.every((h) => h !== undefined && serving(h) && (h.workers?.processes ?? []).every((p) => p.inFlight === 0));
    quiet = idle ? quiet + 1 : 0;
  }
}

/** Requests the gateway's workers answered and acknowledged, from `/metrics` (since its last start). */
export async function answeredBy(gateway: GatewayChild): Promise<number> {
  return Object.values(sumBy(await gateway.metrics(), 'paygate_requests_total', [])).reduce((a, b) => a + b, 0);
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * The gateway log's lines at warn or above (supervisor and workers: pino JSON, the level as a
 * number or a name), counted by level, message and code: what went wrong, for the figures.
 */
export function logSummary(path: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    const level = typeof line.level === 'number' ? line.level : (LEVELS[String(line.level)] ?? 0);
    if (level < 40) continue;
    const key = `${level >= 60 ? 'fatal' : level >= 50 ? 'error' : 'warn'}: ${String(line.msg ?? '?')}${typeof line.code === 'string' ? ` (${line.code})` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
