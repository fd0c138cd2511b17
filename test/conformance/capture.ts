/**
 * Everything a conformance run can observe, collected for the leak scan: the worker's transcript
 * hook (bodies already passed through the plugin's `scrub`), every worker log line, every reply
 * and every error the SDK threw.
 */
import { inspect } from 'node:util';
import type { ActionLogger, TranscriptEntry } from '../../src/providers/index.ts';

/** A labelled text the leak scan reads. */
export interface Captured {
  readonly where: string;
  readonly text: string;
}

/** The collector and the hooks to give the worker. */
export class Capture {
  readonly transcript: TranscriptEntry[] = [];
  readonly #texts: Captured[] = [];

  /** The worker's `transcript` option. */
  readonly transcriptHook = (entry: TranscriptEntry): void => {
    this.transcript.push(entry);
    this.#texts.push({ where: `transcript ${entry.direction} ${entry.endpoint}`, text: entry.body });
  };

  /** The worker's `log` option: every line, with its fields written out in full. */
  readonly log: ActionLogger = {
    info: (message, fields) => this.#line('info', message, fields),
    warn: (message, fields) => this.#line('warn', message, fields),
    error: (message, fields) => this.#line('error', message, fields),
  };

  #line(level: string, message: string, fields: unknown): void {
    this.#texts.push({ where: `log ${level}`, text: `${message} ${inspect(fields, { depth: 8, breakLength: Infinity })}` });
  }

  /** Records a reply the SDK resolved with (its outcome, not the signer certificate). */
  reply(label: string, reply: { status: string; result?: unknown; error?: unknown; requestId: string; idempotencyKey: string }): void {
    const { status, result, error, requestId, idempotencyKey } = reply;
    this.#texts.push({ where: `reply ${label}`, text: JSON.stringify({ status, result, error, requestId, idempotencyKey }) });
  }

  /** Records an error the SDK threw: its message, its string form and its inspect output. */
  error(label: string, error: unknown): void {
    const text = error instanceof Error ? `${error.message}\n${String(error)}\n${inspect(error, { depth: 4 })}` : inspect(error);
    this.#texts.push({ where: `error ${label}`, text });
  }

  /** Everything captured so far. */
  get texts(): readonly Captured[] {
    return this.#texts;
  }
}
