/**
 * Reading the gateway's /metrics from the tour: the outage step confirms from the supervisor's
 * own numbers (`paygate_breaker_state`) that every worker's breaker opened, instead of inferring
 * it from the answers alone. A tiny reader of the Prometheus text format, enough for one gauge.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** One sample: its labels and value. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** The samples of `metric` in a Prometheus text exposition. */
export function samplesOf(text: string, metric: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const close = line.lastIndexOf('}');
    const labelText = close > 0 ? line.slice(metric.length + 1, close) : '';
    const labels = Object.fromEntries([...labelText.matchAll(LABEL)].map((m) => [m[1] as string, m[2] as string]));
    const value = Number(line.slice(close > 0 ? close + 1 : metric.length).trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) samples.push({ labels, value });
  }
  return samples;
}

/** How many workers report `provider`'s breaker in `state`, from `/metrics` at `metricsUrl`. */
export async function breakersIn(metricsUrl: string, provider: string, state: 'open' | 'closed' | 'half-open'): Promise<number> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(2_000) });
  const text = await response.text();
  return samplesOf(text, 'paygate_breaker_state')
    .filter((sample) => sample.labels.provider === provider && sample.labels.state === state)
    .reduce((sum, sample) => sum + sample.value, 0);
}

/**
 * Polls until at least `count` workers report `provider`'s breaker `state` (the workers report
 * every 250 ms), or `withinMs` passed; resolves with the last count seen (-1: /metrics unreadable).
 */
export async function waitForBreakers(metricsUrl: string, provider: string, state: 'open' | 'closed' | 'half-open', count: number, withinMs: number): Promise<number> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const seen = await breakersIn(metricsUrl, provider, state).catch(() => -1);
    if (seen >= count || performance.now() >= deadline) return seen;
    await delay(100);
  }
}
