import { mulberry32 } from '../../providers/_sandbox-kit/rates.ts';

/** A seeded generator of the workload (mulberry32, as the sandboxes' fault draws): the same seed gives the same mix of payments. */
export class Random {
  readonly #draw: () => number;

  constructor(seed: number) {
    this.#draw = mulberry32(seed);
  }

  /** A number in [0, 1). */
  next(): number {
    return this.#draw();
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Whether an event of probability `p` happens. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
