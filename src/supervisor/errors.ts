/** Errors of the supervisor (`paygate gateway`), with stable codes. */
import { PaygateError } from '../errors.ts';

/** Stable codes of supervisor failures. */
export const SUPERVISOR_ERROR_CODES = [
  /** A worker process exited, reported a failure, or was not subscribed in time while starting. */
  'WORKER_START_FAILED',
  /** Restart intensity exceeded: more than `max_restarts` restarts within `within`; the pool was stopped. */
  'SUPERVISOR_GAVE_UP',
  /** The supervisor was stopped (its `signal` aborted: SIGTERM/SIGINT) before every worker was ready; the pool was drained. */
  'SUPERVISOR_STOPPED',
] as const;

/** One of {@link SUPERVISOR_ERROR_CODES}. */
export type SupervisorErrorCode = (typeof SUPERVISOR_ERROR_CODES)[number];

export class SupervisorError extends PaygateError {
  declare readonly code: SupervisorErrorCode;

  constructor(code: SupervisorErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
