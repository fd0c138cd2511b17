/**
 * A sandbox's failure knobs: a plain mutable object, read on every call, so a test sets
 * `sandbox.knobs.failStatus = 503` and the next call sees it. `reset()` restores the defaults.
 *
 * They act in this order, the first that applies deciding: `latencyMs` (a delay, then on),
 * `failStatus`, `hangUp`/`hang` 'before-charge', the call itself, `hangUp`/`hang`
 * 'after-charge', `malformed`. The rates (`failRate`, `hangRate`, `seed`; rates.ts) draw a
 * `failStatus` or a `hang: 'after-charge'` for some calls, when the fixed knob is not set.
 */
import { defaultRates, type FaultRates } from './rates.ts';

/** Where a hang-up or a hang happens: before the call is processed, or after (the movement is recorded). */
export type HangPoint = 'before-charge' | 'after-charge';

/** The knobs; `Malformed` is the sandbox's own set of broken answers. */
export interface SandboxKnobs<Malformed extends string> extends FaultRates {
  /** Delay before each call is processed, in ms (the call is processed even if the client gave up). Default 0. */
  latencyMs: number;
  /** Answer every call with this HTTP status and an HTML error page, processing nothing (e.g. 503). Default null. */
  failStatus: number | null;
  /** Destroy the connection without answering: before processing (nothing recorded) or after (recorded). Default null. */
  hangUp: HangPoint | null;
  /** Never answer (the connection stays open until the client gives up or the sandbox closes). Default null. */
  hang: HangPoint | null;
  /** Process the call, then answer with broken bytes of this kind instead of the answer. Default null. */
  malformed: Malformed | null;
}

/** Fresh default knobs: everything off. */
export function defaultKnobs<Malformed extends string>(): SandboxKnobs<Malformed> {
  return { latencyMs: 0, failStatus: null, hangUp: null, hang: null, malformed: null, ...defaultRates() };
}
