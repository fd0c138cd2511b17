/**
 * GatewayMetrics through the real status server: events in, `GET /metrics` over HTTP, parsed by
 * parse-prometheus-text-format (a parser we did not write), exact values out.
 */
import parsePrometheusTextFormat, { type PrometheusMetric, type PrometheusMetricFamily } from 'parse-prometheus-text-format';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { BreakerSnapshot, BreakerState } from '../../src/providers/index.ts';
import {
  DURATION_BUCKETS,
  GatewayMetrics,
  MAX_LABEL_LENGTH,
  MetricsError,
  labelValue,
  type GatewayMetricsOptions,
} from '../../src/supervisor/metrics.ts';
import { startStatusServer, type StatusServer } from '../../src/supervisor/status-server.ts';
import type { ProcessedEvent } from '../../src/worker/events.ts';

const PAN = '4111111111111111';
const MASKED_PAN = '411111******1111';

let server: StatusServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Fixture {
  readonly metrics: GatewayMetrics;
  /** `GET /metrics`, the body as text. */
  readonly scrapeText: () => Promise<string>;
  /** `GET /metrics`, parsed. */
  readonly scrape: () => Promise<PrometheusMetricFamily[]>;
}

/** A fresh GatewayMetrics behind a status server on an ephemeral port. */
async function setUp(options: GatewayMetricsOptions = { processMetrics: false }): Promise<Fixture> {
  const metrics = new GatewayMetrics(options);
  server = await startStatusServer({ port: 0, metrics, health: () => ({ status: 'ok' }) });
  const url = `${server.url}/metrics`;
  const scrapeText = async (): Promise<string> => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    return res.text();
  };
  return { metrics, scrapeText, scrape: async () => parsePrometheusTextFormat(await scrapeText()) };
}

function family(families: PrometheusMetricFamily[], name: string): PrometheusMetricFamily {
  const found = families.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no metric ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}

/** The series of `name` whose labels are exactly `labels`, or undefined. */
function series(families: PrometheusMetricFamily[], name: string, labels: Record<string, string> = {}): PrometheusMetric | undefined {
  return family(families, name).metrics.find((m) => sameLabels(m.labels ?? {}, labels));
}

/** The numeric value of one counter or gauge series; fails the test if the series is missing. */
function value(families: PrometheusMetricFamily[], name: string, labels: Record<string, string> = {}): number {
  const found = series(families, name, labels);
  if (found?.value === undefined) throw new Error(`no series ${name}${JSON.stringify(labels)}`);
  return Number(found.value);
}

function sameLabels(have: Readonly<Record<string, string>>, want: Record<string, string>): boolean {
  return Object.keys(have).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => have[k] === v);
}

/** One labelled histogram series: cumulative bucket counts by `le`, count and sum. */
interface HistogramSeries {
  readonly buckets: Record<string, number>;
  readonly count: number | undefined;
  readonly sum: number | undefined;
}

/**
 * Reads one labelled histogram series out of an exposition. parse-prometheus-text-format 1.1
 * only understands histograms without labels (it merges every series' buckets into one and drops
 * labelled `_sum` and `_count`), so each sample line of the family is parsed on its own by it
 * (as an untyped sample: name, labels, value) and the series is assembled here.
 */
function histogram(text: string, name: string, labels: Record<string, string>): HistogramSeries {
  const buckets: Record<string, number> = {};
  let count: number | undefined;
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (![`${name}_bucket{`, `${name}_sum`, `${name}_count`].some((prefix) => line.startsWith(prefix))) continue;
    // The trailing newline matters: the parser writes a family out when it reaches the next line.
    const [parsed] = parsePrometheusTextFormat(`${line}\n`);
    const sample = parsed?.metrics[0];
    if (parsed === undefined || sample?.value === undefined) throw new Error(`unparsed line ${line}`);
    const { le, ...rest } = sample.labels ?? {};
    if (!sameLabels(rest, labels)) continue;
    if (parsed.name === `${name}_bucket` && le !== undefined) buckets[le] = Number(sample.value);
    else if (parsed.name === `${name}_sum`) sum = Number(sample.value);
    else if (parsed.name === `${name}_count`) count = Number(sample.value);
  }
  return { buckets, count, sum };
}

function processed(overrides: Partial<ProcessedEvent> = {}): ProcessedEvent {
  return { provider: 'card', type: 'authorize', status: 'approved', durationMs: 10, replayedFromStore: false, ...overrides };
}

function breaker(provider: string, endpoint: string, state: BreakerState): BreakerSnapshot {
  return { provider, endpoint, state, successes: 5, failures: 1, ignored: 0, rejects: 2, bulkheadRejects: 0, timeouts: 0, inFlight: 0 };
}

describe('GatewayMetrics: request events', () => {
  it('counts requests by provider, type and status, and error codes in their own counter', async () => {
    const { metrics, scrape } = await setUp();
    for (let i = 0; i < 3; i++) metrics.recordProcessed(processed());
    metrics.recordProcessed(processed({ status: 'declined', code: 'CARD_DECLINED' }));
    metrics.recordProcessed(processed({ provider: 'paypal', type: 'capture', status: 'error', code: 'STALE_REQUEST' }));
    metrics.recordProcessed(processed({ provider: 'paypal', type: 'capture', status: 'error', code: 'STALE_REQUEST' }));

    const f = await scrape();
    expect(family(f, 'paygate_requests_total').type).toBe('COUNTER');
    expect(value(f, 'paygate_requests_total', { provider: 'card', type: 'authorize', status: 'approved' })).toBe(3);
    expect(value(f, 'paygate_requests_total', { provider: 'card', type: 'authorize', status: 'declined' })).toBe(1);
    expect(value(f, 'paygate_requests_total', { provider: 'paypal', type: 'capture', status: 'error' })).toBe(2);
    expect(family(f, 'paygate_requests_total').metrics).toHaveLength(3);
    // No `code` label on the request counter: it would multiply its series.
    for (const m of family(f, 'paygate_requests_total').metrics) expect(Object.keys(m.labels ?? {}).sort()).toEqual(['provider', 'status', 'type']);

    expect(value(f, 'paygate_request_errors_total', { provider: 'card', type: 'authorize', code: 'CARD_DECLINED' })).toBe(1);
    expect(value(f, 'paygate_request_errors_total', { provider: 'paypal', type: 'capture', code: 'STALE_REQUEST' })).toBe(2);
    expect(family(f, 'paygate_request_errors_total').metrics).toHaveLength(2);
  });

  it('observes durations in seconds into buckets from 1 ms to 30 s', async () => {
    const { metrics, scrapeText } = await setUp();
    for (const durationMs of [0.5, 12, 2000, 45_000]) metrics.recordProcessed(processed({ durationMs }));
    // A nonsense duration is counted as a request but not observed (it would poison the sum).
    metrics.recordProcessed(processed({ durationMs: Number.NaN }));
    metrics.recordProcessed(processed({ durationMs: -1 }));
    metrics.recordProcessed(processed({ provider: 'paypal', durationMs: 100 }));

    const text = await scrapeText();
    const f = parsePrometheusTextFormat(text);
    expect(family(f, 'paygate_request_duration_seconds').type).toBe('HISTOGRAM');
    const h = histogram(text, 'paygate_request_duration_seconds', { provider: 'card', type: 'authorize' });
    expect(h.count).toBe(4);
    expect(h.sum).toBeCloseTo(0.0005 + 0.012 + 2 + 45, 9);
    const { buckets } = h;
    const bounds = Object.keys(buckets).map((le) => (le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le)));
    expect(bounds.sort((x, y) => x - y)).toEqual([...DURATION_BUCKETS, Number.POSITIVE_INFINITY]);
    expect(DURATION_BUCKETS[0]).toBe(0.001);
    expect(DURATION_BUCKETS.at(-1)).toBe(30);
    expect(Number(buckets['0.001'])).toBe(1);
    expect(Number(buckets['0.01'])).toBe(1);
    expect(Number(buckets['0.025'])).toBe(2);
    expect(Number(buckets['1'])).toBe(2);
    expect(Number(buckets['2.5'])).toBe(3);
    expect(Number(buckets['30'])).toBe(3);
    expect(Number(buckets['+Inf'])).toBe(4);
    expect(value(f, 'paygate_requests_total', { provider: 'card', type: 'authorize', status: 'approved' })).toBe(6);
    const paypal = histogram(text, 'paygate_request_duration_seconds', { provider: 'paypal', type: 'authorize' });
    expect([paypal.count, paypal.sum, paypal.buckets['0.05'], paypal.buckets['0.1']]).toEqual([1, 0.1, 0, 1]);
  });

  it('counts replies served from the idempotency store per provider', async () => {
    const { metrics, scrape } = await setUp();
    metrics.recordProcessed(processed({ replayedFromStore: true }));
    metrics.recordProcessed(processed({ replayedFromStore: true, type: 'capture' }));
    metrics.recordProcessed(processed({ replayedFromStore: false }));
    metrics.recordProcessed(processed({ provider: 'giftcard', replayedFromStore: false }));

    const f = await scrape();
    expect(value(f, 'paygate_replayed_total', { provider: 'card' })).toBe(2);
    expect(series(f, 'paygate_replayed_total', { provider: 'giftcard' })).toBeUndefined();
  });

  it('counts dead letters by reason and handler errors by hook', async () => {
    const { metrics, scrape } = await setUp();
    metrics.recordDeadLetter({ provider: 'card', reason: 'BAD_SIGNATURE' });
    metrics.recordDeadLetter({ provider: 'card', reason: 'BAD_SIGNATURE' });
    metrics.recordDeadLetter({ provider: 'card', reason: 'REQUEST_EXPIRED' });
    metrics.recordHandlerError({ provider: 'paypal', type: 'capture', hook: 'handler', code: 'TypeError', message: 'x is undefined' });
    metrics.recordHandlerError({ provider: 'paypal', type: 'capture', hook: 'status', code: 'TypeError', message: 'y' });
    metrics.recordHandlerError({ provider: 'paypal', type: 'capture', hook: 'status', code: 'Error', message: 'z' });

    const f = await scrape();
    expect(value(f, 'paygate_dead_letters_total', { provider: 'card', reason: 'BAD_SIGNATURE' })).toBe(2);
    expect(value(f, 'paygate_dead_letters_total', { provider: 'card', reason: 'REQUEST_EXPIRED' })).toBe(1);
    expect(value(f, 'paygate_handler_errors_total', { provider: 'paypal', type: 'capture', hook: 'handler' })).toBe(1);
    expect(value(f, 'paygate_handler_errors_total', { provider: 'paypal', type: 'capture', hook: 'status' })).toBe(2);
  });
});

describe('GatewayMetrics: supervisor events', () => {
  it('counts restarts by cause and reloads by outcome, every series present from the start', async () => {
    const { metrics, scrape } = await setUp();
    let f = await scrape();
    for (const cause of ['crashed', 'killed', 'start-failed', 'stopped-itself']) expect(value(f, 'paygate_worker_restarts_total', { cause })).toBe(0);
    for (const outcome of ['applied', 'rejected', 'failed']) expect(value(f, 'paygate_reloads_total', { outcome })).toBe(0);

    metrics.recordRestart('crashed');
    metrics.recordRestart('crashed');
    metrics.recordRestart('start-failed');
    metrics.recordReload('applied');
    metrics.recordReload('rejected');
    metrics.recordReload('applied');
    f = await scrape();
    expect(value(f, 'paygate_worker_restarts_total', { cause: 'crashed' })).toBe(2);
    expect(value(f, 'paygate_worker_restarts_total', { cause: 'start-failed' })).toBe(1);
    expect(value(f, 'paygate_worker_restarts_total', { cause: 'killed' })).toBe(0);
    expect(value(f, 'paygate_reloads_total', { outcome: 'applied' })).toBe(2);
    expect(value(f, 'paygate_reloads_total', { outcome: 'rejected' })).toBe(1);
    expect(value(f, 'paygate_reloads_total', { outcome: 'failed' })).toBe(0);
  });

  it('reports the pool size', async () => {
    const { metrics, scrape } = await setUp();
    let f = await scrape();
    expect(value(f, 'paygate_pool_desired_workers')).toBe(0);
    metrics.setPool({ desired: 4, ready: 3 });
    f = await scrape();
    expect(family(f, 'paygate_pool_desired_workers').type).toBe('GAUGE');
    expect(value(f, 'paygate_pool_desired_workers')).toBe(4);
    expect(value(f, 'paygate_pool_ready_workers')).toBe(3);
  });
});

describe('GatewayMetrics: worker state', () => {
  it('sums in-flight requests and counts workers by broker connection, following setWorker and removeWorker', async () => {
    const { metrics, scrape } = await setUp();
    let f = await scrape();
    expect(value(f, 'paygate_in_flight')).toBe(0);
    expect(value(f, 'paygate_workers', { state: 'connected' })).toBe(0);
    expect(value(f, 'paygate_workers', { state: 'disconnected' })).toBe(0);

    metrics.setWorker('w1', { inFlight: 3, brokerConnected: true, breakers: [] });
    metrics.setWorker('w2', { inFlight: 5, brokerConnected: true, breakers: [] });
    metrics.setWorker('w3', { inFlight: 1, brokerConnected: false, breakers: [] });
    f = await scrape();
    expect(value(f, 'paygate_in_flight')).toBe(9);
    expect(value(f, 'paygate_workers', { state: 'connected' })).toBe(2);
    expect(value(f, 'paygate_workers', { state: 'disconnected' })).toBe(1);

    // A new report replaces the worker's previous one.
    metrics.setWorker('w2', { inFlight: 0, brokerConnected: false, breakers: [] });
    metrics.removeWorker('w1');
    metrics.removeWorker('never-there');
    f = await scrape();
    expect(value(f, 'paygate_in_flight')).toBe(1);
    expect(value(f, 'paygate_workers', { state: 'connected' })).toBe(0);
    expect(value(f, 'paygate_workers', { state: 'disconnected' })).toBe(2);
  });

  it('ignores a nonsense in-flight count instead of breaking the scrape', async () => {
    const { metrics, scrape } = await setUp();
    metrics.setWorker('w1', { inFlight: Number.NaN, brokerConnected: true, breakers: [] });
    metrics.setWorker('w2', { inFlight: 2, brokerConnected: true, breakers: [] });
    expect(value(await scrape(), 'paygate_in_flight')).toBe(2);
  });

  it('counts the workers in each breaker state per provider endpoint, all three states listed', async () => {
    const { metrics, scrape } = await setUp();
    const A = 'https://card.example:8443';
    const B = 'https://card-backup.example';
    const C = 'https://paypal.example';
    metrics.setWorker('w1', { inFlight: 0, brokerConnected: true, breakers: [breaker('card', A, 'open'), breaker('card', B, 'closed')] });
    metrics.setWorker('w2', { inFlight: 0, brokerConnected: true, breakers: [breaker('card', A, 'half-open'), breaker('paypal', C, 'closed')] });
    metrics.setWorker('w3', { inFlight: 0, brokerConnected: true, breakers: [breaker('card', A, 'open')] });

    let f = await scrape();
    const state = (provider: string, endpoint: string, s: BreakerState): number => value(f, 'paygate_breaker_state', { provider, endpoint, state: s });
    expect(family(f, 'paygate_breaker_state').type).toBe('GAUGE');
    expect(family(f, 'paygate_breaker_state').metrics).toHaveLength(9);
    expect([state('card', A, 'closed'), state('card', A, 'open'), state('card', A, 'half-open')]).toEqual([0, 2, 1]);
    expect([state('card', B, 'closed'), state('card', B, 'open'), state('card', B, 'half-open')]).toEqual([1, 0, 0]);
    expect([state('paypal', C, 'closed'), state('paypal', C, 'open'), state('paypal', C, 'half-open')]).toEqual([1, 0, 0]);
    // Breaker counts are not exported: they would reset when a worker dies.
    expect(f.some((x) => x.name.includes('reject'))).toBe(false);

    // w2 dies: paypal's endpoint is known to no worker any more, so its series go.
    metrics.removeWorker('w2');
    f = await scrape();
    expect(family(f, 'paygate_breaker_state').metrics).toHaveLength(6);
    expect(series(f, 'paygate_breaker_state', { provider: 'paypal', endpoint: C, state: 'closed' })).toBeUndefined();
    expect([state('card', A, 'closed'), state('card', A, 'open'), state('card', A, 'half-open')]).toEqual([0, 2, 0]);
  });

  it('keeps the counters when the worker that produced them is removed', async () => {
    const { metrics, scrape } = await setUp();
    metrics.setWorker('w1', { inFlight: 1, brokerConnected: true, breakers: [] });
    metrics.recordProcessed(processed());
    metrics.recordDeadLetter({ provider: 'card', reason: 'NO_REPLY_TO' });
    metrics.removeWorker('w1');
    const f = await scrape();
    expect(value(f, 'paygate_requests_total', { provider: 'card', type: 'authorize', status: 'approved' })).toBe(1);
    expect(value(f, 'paygate_dead_letters_total', { provider: 'card', reason: 'NO_REPLY_TO' })).toBe(1);
    expect(value(f, 'paygate_in_flight')).toBe(0);
  });
});

describe('GatewayMetrics: label values', () => {
  it('masks card numbers in every label value', async () => {
    const { metrics } = await setUp();
    metrics.recordProcessed(processed({ provider: PAN, type: `pay ${PAN}`, code: `X${PAN}`, replayedFromStore: true }));
    metrics.recordDeadLetter({ provider: PAN, reason: PAN });
    metrics.setWorker('w1', { inFlight: 0, brokerConnected: true, breakers: [breaker(PAN, `https://${PAN}.example`, 'open')] });

    const res = await fetch(`${server?.url}/metrics`);
    const text = await res.text();
    expect(text).not.toContain(PAN);
    const f = parsePrometheusTextFormat(text);
    expect(value(f, 'paygate_requests_total', { provider: MASKED_PAN, type: `pay ${MASKED_PAN}`, status: 'approved' })).toBe(1);
    expect(value(f, 'paygate_replayed_total', { provider: MASKED_PAN })).toBe(1);
    expect(value(f, 'paygate_dead_letters_total', { provider: MASKED_PAN, reason: MASKED_PAN })).toBe(1);
    expect(value(f, 'paygate_breaker_state', { provider: MASKED_PAN, endpoint: `https://${MASKED_PAN}.example`, state: 'open' })).toBe(1);
    // Glued to a letter the run is still one PAN: masked too.
    const codes = family(f, 'paygate_request_errors_total').metrics.map((m) => m.labels?.code);
    expect(codes).toEqual([`X${MASKED_PAN}`]);
  });

  it(`cuts label values at ${MAX_LABEL_LENGTH} characters, after masking`, async () => {
    const { metrics, scrape } = await setUp();
    const long = 'p'.repeat(200);
    metrics.recordProcessed(processed({ provider: long }));
    const f = await scrape();
    expect(value(f, 'paygate_requests_total', { provider: 'p'.repeat(64), type: 'authorize', status: 'approved' })).toBe(1);
    // A PAN straddling the cut is masked before it is cut: the kept part shows no more than 6 digits.
    const straddling = labelValue(`${'a'.repeat(55)}${PAN}`);
    expect(straddling).toBe(`${'a'.repeat(55)}411111***`);
    expect(Array.from(labelValue('é'.repeat(100)))).toHaveLength(64);
    expect(labelValue('😀'.repeat(100))).toBe('😀'.repeat(64));
  });
});

describe('GatewayMetrics: registry and options', () => {
  it('exports the supervisor process metrics under paygate_supervisor_ by default', async () => {
    const { scrape } = await setUp({});
    // The CPU counter counts what the process used since the metric was registered: use some
    // first (an idle, fast machine scraped at once can have used none yet at the clock's grain).
    const before = process.cpuUsage().user;
    while (process.cpuUsage().user - before < 20_000);
    const f = await scrape();
    expect(value(f, 'paygate_supervisor_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(f, 'paygate_supervisor_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('leaves them out with processMetrics: false, and every name starts with paygate_', async () => {
    const { scrape } = await setUp({ processMetrics: false });
    const names = (await scrape()).map((x) => x.name);
    expect(names.filter((n) => n.startsWith('paygate_supervisor_'))).toEqual([]);
    expect(names.every((n) => n.startsWith('paygate_'))).toBe(true);
    expect(names.sort()).toEqual(
      [
        'paygate_breaker_state', 'paygate_dead_letters_total', 'paygate_handler_errors_total', 'paygate_in_flight',
        'paygate_pool_desired_workers', 'paygate_pool_ready_workers', 'paygate_reloads_total', 'paygate_replayed_total',
        'paygate_request_duration_seconds', 'paygate_request_errors_total', 'paygate_requests_total', 'paygate_worker_restarts_total',
        'paygate_workers',
      ],
    );
  });

  it('uses a registry of its own: two instances never share series, the global registry stays empty', async () => {
    const a = new GatewayMetrics({ processMetrics: false });
    const b = new GatewayMetrics({ processMetrics: false });
    a.recordRestart('killed');
    const fb = parsePrometheusTextFormat(await b.text());
    expect(value(fb, 'paygate_worker_restarts_total', { cause: 'killed' })).toBe(0);
    const fa = parsePrometheusTextFormat(await a.text());
    expect(value(fa, 'paygate_worker_restarts_total', { cause: 'killed' })).toBe(1);
    expect(globalRegistry.getMetricsAsArray().filter((m) => m.name.startsWith('paygate_'))).toEqual([]);
    expect(a.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('refuses unknown or mistyped options with METRICS_BAD_OPTIONS', () => {
    const bad = (options: unknown): unknown => {
      try {
        new GatewayMetrics(options as GatewayMetricsOptions);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const typo = bad({ proccessMetrics: false });
    expect(typo).toBeInstanceOf(MetricsError);
    expect((typo as MetricsError).code).toBe('METRICS_BAD_OPTIONS');
    expect((typo as MetricsError).message).toContain('proccessMetrics');
    expect((bad({ processMetrics: 'yes' }) as MetricsError).code).toBe('METRICS_BAD_OPTIONS');
  });
});
