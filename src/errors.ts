/**
 * The root of paygate's typed errors.
 *
 * Every failure that crosses a module boundary is a `PaygateError` subclass with a stable,
 * documented `code` (see docs/errors.md). Codes are part of the public contract: callers and
 * replies switch on them, so they never change meaning once released.
 *
 * This file is a dependency-free leaf: every folder of `src/` may import it (the rule
 * that `src/wire` and `src/stomp` import nothing else of ours is kept for everything else).
 */
export class PaygateError extends Error {
  /** Stable machine-readable code, e.g. `BAD_SIGNATURE`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
