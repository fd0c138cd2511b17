/**
 * What `paygate demo` shows: progress lines while it sets up and tours, the final table of
 * step outcomes, where to look next, and the `--json` summary. Every line goes through
 * `maskPan` on its way out: the demo handles test card numbers, and nothing it prints may ever
 * hold one in clear, whatever a message from deeper down contains.
 */
import { maskPan } from '../../wire/index.ts';

/** One row of the tour. */
export interface StepResult {
  readonly name: string;
  /** What the step should end with: a reply status (`approved`, `declined`) or an error code. */
  readonly expected: string;
  /** What it ended with, in the same vocabulary (or `skipped`, `ERROR`). */
  readonly outcome: string;
  readonly latencyMs: number;
  readonly ok: boolean;
  /** One line on what happened (ids, counts, why it failed). */
  readonly detail?: string;
}

/** The `--json` summary (stdout). */
export interface DemoSummary {
  readonly ok: boolean;
  readonly steps: readonly StepResult[];
  readonly totalMs: number;
  readonly metricsUrl?: string;
  /** What the feed server holds after the tour. */
  readonly feed?: { readonly auditRecords: number; readonly payments: number; readonly requests?: number };
}

/** A place to write lines (stdout, stderr, or a test's buffer). */
export interface LineSink {
  write(text: string): unknown;
}

const OK = '✓';
const FAILED = '✗';
const WORKING = '…';

/** Writes masked lines to a sink. */
export class Output {
  readonly #sink: LineSink;

  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  /** Writes each line (masked), each ended by a newline. */
  lines(...lines: string[]): void {
    this.#sink.write(lines.map((line) => `${maskPan(line)}\n`).join(''));
  }
}

/** Progress lines while the demo works: one when a part or step starts, one when it ends. */
export class Progress {
  readonly #out: Output;
  #index = 0;

  constructor(out: Output, readonly totalSteps: number) {
    this.#out = out;
  }

  /** A heading line (`paygate demo: …`, `tour:`). */
  heading(text: string): void {
    this.#out.lines(text);
  }

  /** A set-up part has started. */
  partStart(part: string): void {
    this.#out.lines(`  ${WORKING} ${part}`);
  }

  /** A set-up part is ready, with what the user may want to know about it. */
  partDone(part: string, what: string, ms: number): void {
    this.#out.lines(`  ${OK} ${part.padEnd(12)} ${what} (${formatMs(ms)})`);
  }

  /** A tour step has started. */
  stepStart(name: string, expected: string): void {
    this.#index += 1;
    this.#out.lines(`  ${WORKING} [${this.#index}/${this.totalSteps}] ${name}: expecting ${expected}`);
  }

  /** A tour step has ended. */
  stepDone(result: StepResult): void {
    const mark = result.ok ? OK : FAILED;
    const detail = result.detail === undefined ? '' : ` — ${result.detail}`;
    this.#out.lines(`  ${mark} [${this.#index}/${this.totalSteps}] ${result.name}: ${result.outcome} in ${formatMs(result.latencyMs)}${detail}`);
  }

  /** A line of its own (a warning during teardown, the interrupted notice). */
  note(text: string): void {
    this.#out.lines(`  ${text}`);
  }
}

/** `45 ms`, `1.6 s`. */
export function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/** The final table: each step's expected and actual outcome, latency and ✓/✗. */
export function renderTable(steps: readonly StepResult[]): string[] {
  const header = ['#', 'step', 'expected', 'outcome', 'latency', 'ok'];
  const rows = steps.map((step, i) => [String(i + 1), step.name, step.expected, step.outcome, formatMs(step.latencyMs), step.ok ? OK : FAILED]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const render = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === 0 || column === 4 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '─'.repeat(width)).join('  ');
  return [render(header), rule, ...rows.map(render)];
}

/** The verdict lines under the table: all good, or which steps failed and why. */
export function renderVerdict(steps: readonly StepResult[], totalMs: number): string[] {
  const failed = steps.filter((step) => !step.ok);
  if (failed.length === 0) return [`All ${steps.length} steps had their expected outcome (${formatMs(totalMs)} in all).`];
  return [
    `${failed.length} of ${steps.length} steps did not have their expected outcome:`,
    ...failed.map((step) => `  ${FAILED} ${step.name}: expected ${step.expected}, got ${step.outcome}${step.detail === undefined ? '' : ` — ${step.detail}`}`),
  ];
}

/** What the "where to look next" block needs. */
export interface NextSteps {
  /** `http://127.0.0.1:PORT/metrics`. */
  readonly metricsUrl?: string;
  /** The demo folder, when it is kept. */
  readonly keptDir?: string;
  /** Whether the demo keeps running (`--serve`): then the metrics URL is live. */
  readonly serving: boolean;
}

/** Where to look next: the docs, `--serve`, the metrics, the folder. */
export function renderNextSteps(next: NextSteps): string[] {
  const lines = [
    'Where to look next:',
    '  docs/sdk.md             the typed SDK the tour used: createGateway, request, errors, idempotency keys',
    '  docs/architecture.md    how one payment travels: SDK → broker → worker → provider → reply',
    '  docs/operations.md      brokers, workers, the gateway config and its supervisor',
    '  docs/providers.md       provider plugins, breakers, and writing your own from providers/_template',
    '  docs/feed-server.md     the feed server: the audit trail and the payment events as Atom feeds',
  ];
  if (!next.serving) lines.push('  npx paygate demo --serve   keep it all running and send your own payment with `paygate request`');
  if (next.metricsUrl !== undefined) {
    lines.push(`  ${next.metricsUrl}   the gateway's metrics${next.serving ? '' : ' (live while the demo runs: use --serve)'}`);
  }
  if (next.keptDir !== undefined) lines.push(`  ${next.keptDir}   this run's certificates, configs and gateway.log (kept)`);
  return lines;
}

/** The `--json` summary, one JSON document and a newline; masked like every other output. */
export function renderSummaryJson(summary: DemoSummary): string {
  const steps = summary.steps.map((step) => ({
    name: step.name,
    expected: step.expected,
    outcome: step.outcome,
    latencyMs: Math.round(step.latencyMs),
    ok: step.ok,
    ...(step.detail === undefined ? {} : { detail: step.detail }),
  }));
  const document = {
    ok: summary.ok,
    steps,
    totalMs: Math.round(summary.totalMs),
    ...(summary.metricsUrl === undefined ? {} : { metricsUrl: summary.metricsUrl }),
    ...(summary.feed === undefined ? {} : { feed: summary.feed }),
  };
  return maskPan(JSON.stringify(document, null, 2));
}
