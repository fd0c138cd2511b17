/**
 * `paygate broker --tap DIR`: the broker's tap (src/broker/tap.ts) written to a capture folder
 * (src/audit/capture), source `embedded`.
 *
 * The capture must never hold the broker up, so a failure (a full disk, a queue that outgrew the
 * writer's bound) is reported once, as one stderr line naming the folder and the reason (never a
 * body nor a header value: they may hold card data), and counted; the broker keeps serving. The
 * count is exact: SENDs the writer refused plus records it accepted that never reached the disk.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TapSink } from '../broker/index.ts';
import type { CaptureWriter } from '../audit/capture/index.ts';
import { PaygateError } from '../errors.ts';

/** Written records are fsynced at least this often, so a crash loses at most this much capture. */
const FLUSH_INTERVAL_MS = 1000;

/** An open capture fed by the broker's tap. */
export interface TapCapture {
  /** The broker's `tap.sink`. */
  readonly sink: TapSink;
  /** The broker's `tapFailed` listener. */
  readonly failed: (error: unknown) => void;
  /**
   * Flushes and closes the capture; resolves with the messages missing from it: `refused` (the
   * broker's `stats.tap.failed`) plus those the writer accepted but could not write. Prints one
   * line when that is not 0.
   */
  close(refused: number): Promise<number>;
}

/**
 * Opens (or continues) the capture folder `dir`. `log` prints one stderr line.
 * @throws AuditError when the folder holds a damaged capture that cannot be continued.
 */
export async function openTapCapture(dir: string, log: (line: string) => void): Promise<TapCapture> {
  const { openCaptureWriter, segmentNumber } = await import('../audit/capture/index.ts');
  // The writer starts a new segment after the last one: what this run writes is from there on.
  const firstSegment = Math.max(0, ...readdirSync(dir).map((name) => segmentNumber(name) ?? 0)) + 1;
  const writer = await openCaptureWriter(dir);
  let reported = false;
  const failed = (error: unknown): void => {
    if (reported) return;
    reported = true;
    log(`tap: ${describe(error)}; the broker keeps serving, these messages are not recorded (counted at exit)`);
  };
  let flushing = false;
  const timer = setInterval(() => {
    if (flushing) return;
    flushing = true;
    writer
      .flush()
      .catch(failed)
      .finally(() => (flushing = false));
  }, FLUSH_INTERVAL_MS).unref();
  const sink: TapSink = (message) => {
    try {
      writer.write({ source: 'embedded', destination: message.destination, headers: message.headers, body: message.body, time: message.time });
    } catch (error) {
      writer.noteLost(); // the capture shows a gap where this message belongs
      throw error;
    }
  };
  const close = async (refused: number): Promise<number> => {
    clearInterval(timer);
    let lost = 0;
    try {
      await writer.close();
    } catch (error) {
      failed(error);
      // A folder that cannot even be read back any more: count every record of this run as missing.
      const onDisk = await recordsOnDisk(writer, firstSegment).catch(() => 0);
      lost = Math.max(0, writer.count - onDisk);
    }
    const missed = refused + lost;
    if (missed > 0) log(`tap: ${missed} message(s) were not recorded in the capture ${dir}`);
    return missed;
  };
  return { sink, failed, close };
}

/** The reason, from our own error types only: anything else might quote what the sink was given. */
function describe(error: unknown): string {
  return error instanceof PaygateError ? `${error.code}: ${error.message}` : 'the capture failed (an unexpected error in the sink)';
}

/** Complete records (lines with their newline) in the segments this writer wrote. */
async function recordsOnDisk(writer: CaptureWriter, firstSegment: number): Promise<number> {
  const { segmentNumber } = await import('../audit/capture/index.ts');
  let lines = 0;
  for (const name of readdirSync(writer.dir)) {
    const path = join(writer.dir, name);
    // Only files: a segment name that leads to a device (the failure itself, maybe) holds no record.
    if ((segmentNumber(name) ?? 0) < firstSegment || !statSync(path).isFile()) continue;
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    }
  }
  return lines;
}
