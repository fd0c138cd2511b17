/**
 * Fault rates: a fraction of calls answered with a 5xx, a fraction accepted, processed and then
 * never answered, drawn from a seeded generator so that a run with the same seed and the same
 * order of calls meets the same faults. The fixed knobs (`failStatus`, `hang`) act on every call;
 * the rates on some. A fixed knob that is set wins over a drawn fault.
 */

/** The rate knobs every sandbox has (fractions of calls, 0 to 1). */
export interface FaultRates {
  /** Fraction of calls answered with a 5xx (500, 502, 503 or 504, drawn) and not processed. Default 0. */
  failRate: number;
  /** Fraction of calls processed (the movement is recorded) and then never answered. Default 0. */
  hangRate: number;
  /** Seed of the draws; a new value, or the sandbox's `reset()`, restarts the sequence. Default 1. */
  seed: number;
}

/** The rate knobs of a fresh sandbox: no drawn faults. */
export function defaultRates(): FaultRates {
  return { failRate: 0, hangRate: 0, seed: 1 };
}

/** What one call meets: nothing, a 5xx instead of processing, or a hang after processing. */
export type DrawnFault = { readonly kind: 'none' } | { readonly kind: 'fail'; readonly status: number } | { readonly kind: 'hang' };

/** The statuses a drawn failure answers with. */
export const DRAWN_FAIL_STATUSES = [500, 502, 503, 504] as const;

const NONE: DrawnFault = Object.freeze({ kind: 'none' });

/** mulberry32: small, fast, good enough to spread faults; not for anything secret. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draws one fault per call from the rates it is handed. The sequence restarts whenever the
 * rates' `seed` differs from the last draw's, and on {@link restart}. With both rates at 0
 * nothing is drawn, so calls without rates do not move the sequence.
 */
export class FaultDice {
  #seed: number | undefined;
  #next: () => number = () => 0;

  /** The next draw starts the sequence of its seed afresh. */
  restart(): void {
    this.#seed = undefined;
  }

  /** The fault of the next call under `rates`. */
  draw(rates: FaultRates): DrawnFault {
    const failRate = clampRate(rates.failRate);
    const hangRate = clampRate(rates.hangRate);
    if (failRate === 0 && hangRate === 0) return NONE;
    if (this.#seed !== rates.seed) {
      this.#seed = rates.seed;
      this.#next = mulberry32(rates.seed);
    }
    const roll = this.#next();
    if (roll < failRate) {
      const status = DRAWN_FAIL_STATUSES[Math.floor((roll / failRate) * DRAWN_FAIL_STATUSES.length)] ?? 503;
      return { kind: 'fail', status };
    }
    return roll < failRate + hangRate ? { kind: 'hang' } : NONE;
  }
}

/** A rate as a fraction in [0, 1]; anything else (NaN, negative) counts as 0, above 1 as 1. */
function clampRate(rate: number): number {
  return Number.isFinite(rate) && rate > 0 ? Math.min(rate, 1) : 0;
}
