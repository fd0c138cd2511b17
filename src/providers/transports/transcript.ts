import * as z from 'zod';

/**
 * The transcript hook: every transport can report the raw traffic of each call, so the
 * conformance suite can capture it and check that the plugin's `scrub` masks card data and
 * credentials before anything is logged or stored. Bodies reach the hook unmasked on purpose:
 * the hook is where scrubbing is tested, never a log sink by itself.
 */

/** One raw message of a provider call. */
export interface TranscriptEntry {
  readonly direction: 'request' | 'response';
  /** The URL called (origin and path; no query string is ever used by the transports). */
  readonly endpoint: string;
  /** The body exactly as sent or received (UTF-8 text). */
  readonly body: string;
}

/** Receives each request body before it is sent and each complete response body. */
export type TranscriptHook = (entry: TranscriptEntry) => void;

/** Schema of the optional hook in the transports' options. */
export const transcriptHookSchema = z.custom<TranscriptHook>((value) => typeof value === 'function', 'must be a function');

/**
 * Calls `hook` with `entry`, if there is a hook. A throwing hook does not break the call: the
 * transcript is an observer, and a provider call must not fail (or, worse, be reported as
 * failed after it was sent) because of it.
 */
export function recordTranscript(hook: TranscriptHook | undefined, entry: TranscriptEntry): void {
  if (hook === undefined) return;
  try {
    hook(entry);
  } catch {
    // Deliberately ignored, see above.
  }
}
