/**
 * `paygate demo` from start to exit: set the world up, run the tour, show the table (or the JSON
 * summary), optionally serve until Ctrl-C, and always tear everything down.
 *
 * Exit codes: 0 when every step had its expected outcome (and after a `--serve` stopped by
 * Ctrl-C); 1 when a step did not (named under the table); 2 with one line `paygate: CODE:
 * message` when the demo could not be set up; 130 when interrupted before the tour finished.
 */
import { randomBytes } from 'node:crypto';
import { PaygateError } from '../../errors.ts';
import { REFUSED_EXIT_CODE } from '../io.ts';
import { DemoEnvironment, type DemoParts } from './environment.ts';
import { DemoError, setupFailure } from './errors.ts';
import { renderFeed, settleFeed, type FeedSummary } from './feed.ts';
import { DEMO_SETTINGS, demoOptionsSchema, type DemoOptions, type DemoOptionsInput } from './options.ts';
import { outageSteps } from './outage.ts';
import { paymentSteps } from './payments.ts';
import { Output, Progress, renderNextSteps, renderSummaryJson, renderTable, renderVerdict, type StepResult } from './report.ts';
import { serve } from './serve.ts';
import { runTour, type TourContext, type TourStep } from './tour.ts';
import { workerKillStep } from './worker-kill.ts';

/** The exit code of a run interrupted by a signal before it was done (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;
/** The exit code when a tour step did not have its expected outcome. */
export const TOUR_FAILED_EXIT_CODE = 1;
/** Once everything is torn down the process should exit by itself; if a stray handle keeps it alive, this long. */
const EXIT_FALLBACK_MS = 3_000;

/** Every step of the tour, in order. */
export function tourSteps(context: TourContext): TourStep[] {
  return [...paymentSteps(context), ...outageSteps(context), workerKillStep(context)];
}

/** How many steps the tour has (for the `[n/N]` progress counter). */
const TOUR_LENGTH = 10;

/** Signals: the first one stops the demo cleanly; a second one exits at once. */
function onSignals(first: () => void): () => void {
  let count = 0;
  const handler = (): void => {
    count += 1;
    if (count === 1) first();
    // A second Ctrl-C: the user wants out now. Workers drain by themselves when their parent goes.
    else process.exit(INTERRUPTED_EXIT_CODE);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Runs the demo; sets `process.exitCode`. A setup failure is thrown as a PaygateError after teardown. */
export async function runDemo(input: DemoOptionsInput): Promise<void> {
  const options = demoOptionsSchema.parse(input);
  const started = performance.now();
  // With --json, stdout carries the summary only: everything for people goes to stderr.
  const human = new Output(options.json ? process.stderr : process.stdout);
  const progress = new Progress(human, options.tour ? TOUR_LENGTH : 0);
  const environment = new DemoEnvironment(options, progress);
  const interrupt = new AbortController();
  let phase: 'setup' | 'tour' | 'serve' = 'setup';
  const stopSignals = onSignals(() => {
    if (phase !== 'serve') progress.note('interrupted: tearing everything down…');
    environment.abort();
    interrupt.abort();
  });
  let failure: unknown;
  try {
    const parts = await environment.start();
    phase = 'tour';
    const steps = options.tour ? await tour(parts, progress, interrupt.signal) : [];
    const feed = await settleFeed(parts.feed, parts.statusUrl === undefined ? undefined : `${parts.statusUrl}/metrics`, DEMO_SETTINGS.feedSettleMs);
    report(options, human, parts, steps, performance.now() - started, feed);
    process.exitCode = steps.every((step) => step.ok) ? 0 : TOUR_FAILED_EXIT_CODE;
    if (options.serve) {
      phase = 'serve';
      await serve(parts, human, interrupt.signal);
    }
  } catch (error) {
    failure = error;
  } finally {
    const problems = await environment.close({ keepDir: options.keep || options.serve });
    for (const problem of problems) progress.note(`teardown: ${problem}`);
    if (options.serve && environment.dir !== undefined && failure === undefined) human.lines(`paygate demo: stopped; ${environment.dir} is kept.`);
    stopSignals();
    setTimeout(() => process.exit(), EXIT_FALLBACK_MS).unref();
  }
  if (failure !== undefined) settleFailure(failure, progress);
}

/** Runs the tour against the started parts. */
async function tour(parts: DemoParts, progress: Progress, signal: AbortSignal): Promise<StepResult[]> {
  progress.heading('tour:');
  const context: TourContext = {
    gateway: parts.gateway,
    sandboxes: parts.sandboxes,
    supervisor: parts.supervisor,
    metricsUrl: parts.statusUrl === undefined ? undefined : `${parts.statusUrl}/metrics`,
    runId: randomBytes(4).toString('hex'),
    signal,
  };
  return runTour(tourSteps(context), progress, signal);
}

/** The table and next steps, or the JSON summary on stdout. */
function report(options: DemoOptions, human: Output, parts: DemoParts, steps: StepResult[], totalMs: number, feed: FeedSummary): void {
  const metricsUrl = parts.statusUrl === undefined ? undefined : `${parts.statusUrl}/metrics`;
  const ok = steps.every((step) => step.ok);
  const feedCounts = { auditRecords: feed.auditRecords, payments: feed.payments, ...(feed.requests === undefined ? {} : { requests: feed.requests }) };
  if (options.json) {
    process.stdout.write(`${renderSummaryJson({ ok, steps, totalMs, feed: feedCounts, ...(metricsUrl === undefined ? {} : { metricsUrl }) })}\n`);
  } else if (steps.length > 0) {
    human.lines('', ...renderTable(steps), '', ...renderVerdict(steps, totalMs), '', ...renderFeed(feed, parts.feed, options.serve));
  }
  const keptDir = options.keep || options.serve ? parts.layout.dir : undefined;
  human.lines('', ...renderNextSteps({ serving: options.serve, ...(metricsUrl === undefined ? {} : { metricsUrl }), ...(keptDir === undefined ? {} : { keptDir }) }), '');
}

/**
 * An interruption exits 130 with one line; a typed failure is rethrown for the CLI's `guarded`
 * (one line `paygate: CODE: message`, exit 2); anything else is reported the same way rather
 * than as a stack trace, because a first-time user's demo must end with a line they can read.
 */
function settleFailure(error: unknown, progress: Progress): void {
  if (error instanceof DemoError && error.code === 'DEMO_INTERRUPTED') {
    progress.note(`paygate demo: ${error.message}; everything was torn down.`);
    process.exitCode = INTERRUPTED_EXIT_CODE;
    return;
  }
  if (error instanceof PaygateError) throw error;
  const wrapped = setupFailure('unexpected failure', error);
  process.stderr.write(`paygate: ${wrapped.code}: ${wrapped.message}\n`);
  process.exitCode = REFUSED_EXIT_CODE;
}
