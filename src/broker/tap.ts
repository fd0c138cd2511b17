/**
 * The tap: an observer of the SENDs the broker accepted, for the traffic auditor
 * (`paygate broker --tap DIR`, docs/broker.md#tap).
 *
 * The broker knows nothing of the capture format (it may import only the frame codec): it hands
 * each accepted SEND to a sink, as the client sent it, and the CLI writes it to a capture folder.
 * The tap must not disturb the consumers: it sees a SEND only after the broker has routed it (so
 * a refused SEND, an aborted transaction or a SEND past a limit never reaches it), it never
 * changes a frame, and a sink that throws is counted, never propagated into the broker.
 */
import { z } from 'zod';
import type { Frame } from '../stomp/frame.ts';
import { PatternSet, patternProblem } from './patterns.ts';
import { REMOTE_TEMP_QUEUE_PREFIX, TEMP_QUEUE_PREFIX } from './temp-queues.ts';

/** One SEND the broker accepted, as its client sent it. */
export interface TappedMessage {
  /** The destination the client named (`/remote-temp-queue/…` for a reply, as the requester's `reply-to` said). */
  readonly destination: string;
  /**
   * The SEND's headers as the client sent them, unescaped, before the broker removed or added any
   * (`transaction`, `receipt`, `content-length`, and a `reply-to` of `/temp-queue/…` as sent), in
   * arrival order, a repeated header as many times as it was sent: only its first value reaches
   * a consumer (STOMP 1.2), but every copy crossed the broker.
   */
  readonly headers: readonly (readonly [string, string])[];
  /** The body exactly as received. Shared with the message being delivered: read it, never modify it. */
  readonly body: Buffer;
  /** When the broker routed it: the SEND's arrival, or its transaction's COMMIT. */
  readonly time: Date;
}

/** Receives every tapped message, synchronously: it must only queue the work (or throw, which is counted). */
export type TapSink = (message: TappedMessage) => void;

/**
 * What is recorded without `destinations`: every SEND to a paygate queue (requests, the events
 * queue, dead-letter queues) and every reply (SENDs to temporary queues, under either name).
 */
export const DEFAULT_TAP_DESTINATIONS: readonly string[] = ['/queue/paygate.>', `${TEMP_QUEUE_PREFIX}>`, `${REMOTE_TEMP_QUEUE_PREFIX}>`];

const TEMP_PREFIXES = [TEMP_QUEUE_PREFIX, REMOTE_TEMP_QUEUE_PREFIX] as const;

/**
 * Why `pattern` is not a tap pattern, or undefined when it is. The users file's syntax
 * (patterns.ts: `*` one segment, a trailing `>` the rest), and temporary queues may be named too.
 */
export function tapPatternProblem(pattern: string): string | undefined {
  const temp = TEMP_PREFIXES.find((prefix) => pattern.startsWith(prefix));
  if (temp === undefined && !pattern.startsWith('/queue/') && !pattern.startsWith('/topic/')) {
    return `must start with /queue/, /topic/, ${TEMP_QUEUE_PREFIX} or ${REMOTE_TEMP_QUEUE_PREFIX}`;
  }
  // The part after a temporary prefix follows the same rules as the part after /queue/.
  return patternProblem(temp === undefined ? pattern : `/queue/${pattern.slice(temp.length)}`);
}

/** The broker's `tap` option. */
export const tapOptionsSchema = z
  .object({
    /** Destination patterns whose accepted SENDs are handed to `sink`. */
    destinations: z
      .array(z.string())
      .min(1)
      .default([...DEFAULT_TAP_DESTINATIONS])
      .superRefine((patterns, ctx) => {
        for (const [i, pattern] of patterns.entries()) {
          const problem = tapPatternProblem(pattern);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: `${JSON.stringify(pattern)} ${problem}` });
        }
      }),
    sink: z.custom<TapSink>((value) => typeof value === 'function', { message: 'must be a function (message) => void' }),
  })
  .strict();
export type TapOptions = z.input<typeof tapOptionsSchema>;

/** Counters of the tap (`broker.stats.tap`). */
export interface TapStats {
  /** SENDs handed to the sink. */
  recorded: number;
  /** SENDs the sink refused (it threw): they are missing from the capture. */
  failed: number;
}

/**
 * Hands matching SENDs to the sink. `onFailure` is called when the sink starts failing (the
 * first failure after a success, or ever), not for each failed message: a full disk must not
 * flood the log; the count says how many were lost.
 */
export class Tap {
  readonly #patterns: PatternSet;
  readonly #sink: TapSink;
  readonly #onFailure: (error: unknown) => void;
  readonly #stats: TapStats = { recorded: 0, failed: 0 };
  #failing = false;

  constructor(options: z.output<typeof tapOptionsSchema>, onFailure: (error: unknown) => void) {
    this.#patterns = new PatternSet(options.destinations);
    this.#sink = options.sink;
    this.#onFailure = onFailure;
  }

  get stats(): TapStats {
    return { ...this.#stats };
  }

  /** Called by the broker once a SEND to `destination` was routed. Never throws. */
  record(destination: string, frame: Frame): void {
    if (!this.#patterns.matches(destination)) return;
    try {
      // A fresh list: the sink may keep it, and the frame's own headers stay untouched.
      this.#sink({ destination, headers: frame.headerList ?? Object.entries(frame.headers), body: frame.body, time: new Date() });
      this.#stats.recorded++;
      this.#failing = false;
    } catch (error) {
      this.#stats.failed++;
      if (this.#failing) return;
      this.#failing = true;
      try {
        this.#onFailure(error);
      } catch {
        // A listener's mistake must not reach the broker either.
      }
    }
  }
}
