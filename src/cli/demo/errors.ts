/**
 * The typed errors of `paygate demo`. A setup failure must reach the user as one line,
 * `paygate: CODE: message`, never as a stack trace; these codes name what could not be set up.
 */
import { PaygateError } from '../../errors.ts';
import { maskPan } from '../../wire/index.ts';

/** Stable codes of the demo's own failures (docs/errors.md, "Demo"). */
export const DEMO_ERROR_CODES = [
  /** `--dir` names a folder that already holds files: the demo writes keys there and removes it afterwards. */
  'DEMO_DIR_NOT_EMPTY',
  /** A part of the demo (certificates, broker, a sandbox, the gateway, the SDK) could not be started; the message names it. */
  'DEMO_SETUP_FAILED',
  /** The demo was interrupted (Ctrl-C, SIGTERM) before the tour finished; everything was torn down. */
  'DEMO_INTERRUPTED',
] as const;

/** One of {@link DEMO_ERROR_CODES}. */
export type DemoErrorCode = (typeof DEMO_ERROR_CODES)[number];

/** A failure of `paygate demo` itself (not of a tour step: those are rows of the table). */
export class DemoError extends PaygateError {
  declare readonly code: DemoErrorCode;

  constructor(code: DemoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Wraps a failure while starting `part` into `DEMO_SETUP_FAILED`, keeping the original code in
 * the message (`broker: BROKER_LISTEN_FAILED: …`) so the one line still says what went wrong.
 */
export function setupFailure(part: string, cause: unknown): DemoError {
  if (cause instanceof DemoError) return cause;
  const code = cause instanceof PaygateError ? `${cause.code}: ` : '';
  const message = cause instanceof Error ? cause.message : String(cause);
  // Masked anyway: a setup message should never hold card data, but this line reaches the terminal.
  return new DemoError('DEMO_SETUP_FAILED', maskPan(`${part}: ${code}${message}`), { cause });
}
