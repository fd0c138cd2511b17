import { PaygateError } from '../../src/errors.ts';

/** Why `npm run chaos` could not run (a run that ran and found faults exits 1 with its report instead). */
export type ChaosErrorCode = 'CHAOS_BAD_OPTION' | 'CHAOS_SETUP_FAILED';

/** A typed error of the chaos run. */
export class ChaosError extends PaygateError {
  constructor(
    override readonly code: ChaosErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
