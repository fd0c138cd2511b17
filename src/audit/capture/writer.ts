/**
 * Writes a capture folder (record.ts): appends records to the current segment and starts a new
 * one past a size. Capturing must not disturb the consumers: `write()` only queues the line and
 * returns; the file is written behind, in order, and `flush()`/`close()` wait for it.
 *
 * A folder that already holds segments is continued: the next record takes the next sequence
 * number in a new segment, so a restarted capture never rewrites what was captured before.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AuditError } from '../errors.ts';
import { lastSeqOf } from './reader.ts';
import { encodeRecord, segmentName, segmentNumber, type CaptureInput } from './record.ts';

/** Options of {@link openCaptureWriter}. */
export const captureWriterOptionsSchema = z.strictObject({
  /** Start a new segment once the current one holds this many bytes. */
  segmentBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** Queued bytes past which `write()` refuses (AUDIT_CAPTURE_FAILED) rather than grow without bound. */
  maxQueuedBytes: z.number().int().min(1024).default(256 * 1024 * 1024),
});
export type CaptureWriterOptions = z.input<typeof captureWriterOptionsSchema>;

/** A capture folder being written. */
export interface CaptureWriter {
  readonly dir: string;
  /** Queues one record; returns its sequence number. Throws AUDIT_CAPTURE_FAILED after a write failed or when the queue is full. */
  write(input: CaptureInput): number;
  /**
   * Notes a message the capturing side had to record and could not (the writer refused it): its
   * sequence number is skipped, so that a reader of the capture reports the gap instead of a
   * capture that looks complete.
   */
  noteLost(): void;
  /** Resolves when everything queued so far is on disk (fsynced). */
  flush(): Promise<void>;
  /** Flushes and closes; later writes throw. */
  close(): Promise<void>;
  /** Records written to the folder by this writer so far (queued ones included). */
  readonly count: number;
}

/** Opens (creating it when needed) a capture folder for writing. */
export async function openCaptureWriter(dir: string, options: CaptureWriterOptions = {}): Promise<CaptureWriter> {
  const o = captureWriterOptionsSchema.parse(options);
  let segments: number[];
  try {
    mkdirSync(dir, { recursive: true });
    segments = readdirSync(dir).map(segmentNumber).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
  } catch (error) {
    throw failed(dir, error);
  }
  const lastSeq = segments.length === 0 ? 0 : await lastSeqOf(dir);
  return new SegmentWriter(dir, o.segmentBytes, o.maxQueuedBytes, (segments.at(-1) ?? 0) + 1, lastSeq);
}

class SegmentWriter implements CaptureWriter {
  readonly dir: string;
  #segmentBytes: number;
  #maxQueued: number;
  #segment: number;
  #fd: number | undefined;
  #written = 0;
  #seq: number;
  #count = 0;
  #queue: string[] = [];
  #queuedBytes = 0;
  #draining: Promise<void> = Promise.resolve();
  #failure: AuditError | undefined;
  #closed = false;

  constructor(dir: string, segmentBytes: number, maxQueued: number, firstSegment: number, lastSeq: number) {
    this.dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#maxQueued = maxQueued;
    this.#segment = firstSegment;
    this.#seq = lastSeq;
  }

  get count(): number {
    return this.#count;
  }

  write(input: CaptureInput): number {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new AuditError('AUDIT_CAPTURE_FAILED', `the capture ${this.dir} is closed`);
    if (this.#queuedBytes > this.#maxQueued) {
      throw new AuditError('AUDIT_CAPTURE_FAILED', `the capture ${this.dir} cannot keep up: ${this.#queuedBytes} bytes wait to be written`);
    }
    const line = encodeRecord(++this.#seq, input);
    this.#count++;
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    if (this.#queue.length === 1) this.#draining = this.#draining.then(() => new Promise<void>((resolve) => setImmediate(() => (this.#drain(), resolve()))));
    return this.#seq;
  }

  noteLost(): void {
    this.#seq++;
  }

  /** Writes out what is queued, in order; a failure is kept and reported by every later call. */
  #drain(): void {
    const lines = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#failure) return;
    try {
      for (const line of lines) {
        if (this.#fd !== undefined && this.#written >= this.#segmentBytes) this.#rotate();
        this.#fd ??= openSync(join(this.dir, segmentName(this.#segment)), 'a');
        const bytes = Buffer.from(line);
        // A short write (a disk nearly full) must not leave half a line for the next one to follow.
        for (let done = 0; done < bytes.length; ) done += writeSync(this.#fd, bytes, done);
        this.#written += bytes.length;
      }
    } catch (error) {
      this.#failure = failed(this.dir, error);
    }
  }

  #rotate(): void {
    if (this.#fd === undefined) return;
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = undefined;
    this.#segment++;
    this.#written = 0;
  }

  async flush(): Promise<void> {
    await this.#draining;
    if (this.#queue.length > 0) this.#drain();
    if (this.#failure) throw this.#failure;
    try {
      if (this.#fd !== undefined) fsyncSync(this.#fd);
    } catch (error) {
      throw failed(this.dir, error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      if (this.#fd !== undefined) closeSync(this.#fd);
      this.#fd = undefined;
    }
  }
}

function failed(dir: string, error: unknown): AuditError {
  const reason = error instanceof Error ? error.message : String(error);
  return new AuditError('AUDIT_CAPTURE_FAILED', `cannot write the capture ${dir}: ${reason}`, { cause: error });
}
