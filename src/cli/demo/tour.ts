/**
 * The scripted tour: a list of steps run one after another through the typed SDK, each ending
 * as a row of the final table. A step never throws its way out of the tour: an unexpected
 * error becomes that step's outcome (its code), so one broken step does not hide the others.
 *
 * The steps themselves live in payments.ts (the happy paths and the decline), outage.ts (the
 * breaker opens and recovers) and worker-kill.ts (a worker dies mid-request).
 */
import type giftcard from '../../../providers/giftcard/index.ts';
import type { GiftcardSandbox } from '../../../providers/giftcard/sandbox/index.ts';
import type card from '../../../providers/card/index.ts';
import type { CardSandbox } from '../../../providers/card/sandbox/index.ts';
import type paypal from '../../../providers/paypal/index.ts';
import type { PaypalSandbox } from '../../../providers/paypal/sandbox/index.ts';
import { RemoteError, type Gateway } from '../../client/index.ts';
import { PaygateError } from '../../errors.ts';
import { maskPan } from '../../wire/index.ts';
import { DemoError } from './errors.ts';
import type { Progress, StepResult } from './report.ts';

/** The plugins the tour's SDK gateway is made with: `request()` is typed by them. */
export type DemoPlugins = readonly [typeof card, typeof paypal, typeof giftcard];

/**
 * One worker as the supervisor reports it (`Supervisor.workers()`). Only what the tour reads, so
 * that the supervisor may report more without the tour noticing.
 */
export interface WorkerView {
  readonly slot: number;
  readonly pid: number;
  readonly state: 'starting' | 'ready' | 'draining';
  readonly inFlight: number;
}

/** A worker process ended (the supervisor's `worker-exit`; the fields the tour reads). */
export interface WorkerExitEvent {
  readonly slot: number;
  readonly signal: string | null;
}

/** A worker process is subscribed and serving (the supervisor's `worker-ready`; the fields the tour reads). */
export interface WorkerReadyEvent {
  readonly slot: number;
}

/** What the tour needs of the supervisor (src/supervisor's `Supervisor` has it). */
export interface TourSupervisor {
  workers(): ReadonlyArray<WorkerView>;
  on(event: 'worker-exit', listener: (event: WorkerExitEvent) => void): unknown;
  on(event: 'worker-ready', listener: (event: WorkerReadyEvent) => void): unknown;
  off(event: 'worker-exit', listener: (event: WorkerExitEvent) => void): unknown;
  off(event: 'worker-ready', listener: (event: WorkerReadyEvent) => void): unknown;
}

/** Everything a step may use. */
export interface TourContext {
  readonly gateway: Gateway<DemoPlugins>;
  readonly sandboxes: { readonly card: CardSandbox; readonly paypal: PaypalSandbox; readonly giftcard: GiftcardSandbox };
  readonly supervisor: TourSupervisor;
  /** The gateway's `/metrics` URL, when its status endpoint runs. */
  readonly metricsUrl: string | undefined;
  /** Makes this run's idempotency keys unique (`demo-<run>-<what>`). */
  readonly runId: string;
  /** Aborted on Ctrl-C: the tour stops between steps. */
  readonly signal: AbortSignal;
}

/** How a step ended. `ok` defaults to `outcome === expected`. */
export interface StepOutcome {
  readonly outcome: string;
  readonly ok?: boolean;
  readonly detail?: string;
  /** The latency to report (e.g. of the one request that settled the step); default the step's duration. */
  readonly latencyMs?: number;
}

/** One step of the tour. */
export interface TourStep {
  readonly name: string;
  readonly expected: string;
  run(): Promise<StepOutcome>;
}

/** A step's idempotency key: stable within the run, unique across runs. */
export function keyOf(context: TourContext, what: string): string {
  return `demo-${context.runId}-${what}`;
}

/**
 * The outcome vocabulary of an error: an error reply's remote code (`PROVIDER_UNAVAILABLE`), a
 * typed error's code (`TIMEOUT`, `NOT_SENT`), else `ERROR`.
 */
export function outcomeOfError(error: unknown): string {
  if (error instanceof RemoteError) return error.remoteCode;
  if (error instanceof PaygateError) return error.code;
  return 'ERROR';
}

/** An error's message for a detail column: masked, one line, not too long. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return maskPan(text.replace(/\s+/g, ' ')).slice(0, 300);
}

/** Runs one step, timing it; an error becomes the step's outcome. */
async function runStep(step: TourStep): Promise<StepResult> {
  const started = performance.now();
  try {
    const ended = await step.run();
    return {
      name: step.name,
      expected: step.expected,
      outcome: ended.outcome,
      latencyMs: ended.latencyMs ?? performance.now() - started,
      ok: ended.ok ?? ended.outcome === step.expected,
      ...(ended.detail === undefined ? {} : { detail: ended.detail }),
    };
  } catch (error) {
    return { name: step.name, expected: step.expected, outcome: outcomeOfError(error), latencyMs: performance.now() - started, ok: false, detail: messageOf(error) };
  }
}

/**
 * Runs `steps` in order, reporting each on `progress`.
 *
 * @throws DemoError `DEMO_INTERRUPTED` when `signal` aborts (checked before and after each step).
 */
export async function runTour(steps: readonly TourStep[], progress: Progress, signal: AbortSignal): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) {
    if (signal.aborted) throw new DemoError('DEMO_INTERRUPTED', `interrupted before "${step.name}"`);
    progress.stepStart(step.name, step.expected);
    const result = await runStep(step);
    // A step cut short by Ctrl-C says nothing about the product: no row for it.
    if (signal.aborted) throw new DemoError('DEMO_INTERRUPTED', `interrupted during "${step.name}"`);
    progress.stepDone(result);
    results.push(result);
  }
  return results;
}

/** A timed request: its value or its error, and how long it took. */
export type Timed<T> = { readonly ok: true; readonly value: T; readonly ms: number } | { readonly ok: false; readonly error: unknown; readonly ms: number };

/** Times one request. */
export async function timed<T>(request: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  try {
    const value = await request();
    return { ok: true, value, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - started };
  }
}
