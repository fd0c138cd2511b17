/**
 * When to restart a worker that died, and when to give up (OTP's restart intensity, as
 * simplevisor and supervisord's `startretries` do it).
 *
 * Intensity is pool-wide: more than `maxRestarts` restarts within `withinMs` means something is
 * wrong with the deployment (a plugin that crashes on load, a broker refusing every worker), and
 * restarting harder would only hide it, so the supervisor stops and exits non-zero.
 * Backoff is per slot: a slot's n-th restart within the window waits
 * `backoffInitialMs · 2^(n-1)`, at most `backoffMaxMs`, so one unlucky worker does not slow the
 * others' restarts, and a slot that has been quiet for the whole window starts over at the
 * initial delay.
 */
import type { GatewaySettings } from '../worker/index.ts';

/** The decision for one dead worker. */
export type RestartDecision =
  | { readonly giveUp: false; readonly delayMs: number }
  | { readonly giveUp: true; readonly restarts: number; readonly withinMs: number };

export class RestartPolicy {
  #settings: GatewaySettings['restart'];
  readonly #clock: () => number;
  /** Times of the pool's restarts within the window, oldest first, with the slot of each. */
  #recent: { readonly at: number; readonly slot: number }[] = [];

  constructor(settings: GatewaySettings['restart'], clock: () => number = Date.now) {
    this.#settings = settings;
    this.#clock = clock;
  }

  /**
   * New limits (a reload): the history is kept, so that regular reloads cannot hide a crash loop
   * from the intensity limit.
   */
  configure(settings: GatewaySettings['restart']): void {
    this.#settings = settings;
  }

  /** Records that `slot`'s worker died unexpectedly and says how long to wait before restarting it, or to give up. */
  next(slot: number): RestartDecision {
    const now = this.#clock();
    const { withinMs, maxRestarts, backoffInitialMs, backoffMaxMs } = this.#settings;
    this.#recent = this.#recent.filter((restart) => now - restart.at < withinMs);
    this.#recent.push({ at: now, slot });
    if (this.#recent.length > maxRestarts) return { giveUp: true, restarts: this.#recent.length, withinMs };
    const ofSlot = this.#recent.filter((restart) => restart.slot === slot).length;
    return { giveUp: false, delayMs: Math.min(backoffMaxMs, backoffInitialMs * 2 ** (ofSlot - 1)) };
  }

  /** Restarts counted in the current window (for health reports). */
  get recentRestarts(): number {
    const now = this.#clock();
    return this.#recent.filter((restart) => now - restart.at < this.#settings.withinMs).length;
  }
}
