/**
 * Waiting in tests without depending on the machine's speed: wait FOR a condition or an event,
 * never for time to pass, and tell whether a promise has settled yet.
 *
 * The real timer functions are captured when this module loads, so the helpers keep working
 * while a test has vitest's fake timers installed (polling must not stop when the clock does).
 */
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = globalThis.setImmediate;
const realNow = performance.now.bind(performance);

/** Generous: a condition that holds on a loaded 2-core machine holds long before this. */
export const WAIT_FOR_MS = 20_000;

/**
 * Resolves once `condition()` is true, polling every few milliseconds on the real clock; throws
 * naming `what` if it is still false after `timeoutMs` (a deadline for a failure, not a pace).
 */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = WAIT_FOR_MS): Promise<void> {
  const deadline = realNow() + timeoutMs;
  while (!condition()) {
    if (realNow() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
}

/** Lets pending I/O callbacks and microtasks run (one turn of the event loop, real). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/** Whether a promise has settled yet, without consuming its outcome. */
export interface Tracked {
  settled(): boolean;
}

/** Tracks `promise` (an unhandled rejection is not raised through the tracker). */
export function track(promise: Promise<unknown>): Tracked {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  return { settled: () => done };
}

/** A promise with its resolve function, to hold something until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

/**
 * A real timer of `ms`, started now. Node runs due timers in the order they fall due (timers of
 * one duration first in, first out), so anything in this process that waits on a timer of at
 * least `ms` started after this one finds it fired: asserting `fired()` then proves that wait
 * without measuring time, and cannot fail on a slow machine.
 */
export function controlTimer(ms: number): { fired(): boolean } {
  let fired = false;
  realSetTimeout(() => (fired = true), ms);
  return { fired: () => fired };
}
