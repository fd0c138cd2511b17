/**
 * Reads a capture (record.ts) back, one message at a time, in constant memory whatever its size:
 * segments in name order, each read in chunks and split into lines. Damage is reported, never
 * skipped: a line that is not a record is AUDIT_CAPTURE_CORRUPT, a gap in the sequence numbers
 * (a record removed) too, and a segment that ends inside a record AUDIT_CAPTURE_TRUNCATED, each
 * naming the segment, the line and the last good sequence number.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AuditError } from '../errors.ts';
import { decodeRecord, segmentNumber, type CapturedMessage } from './record.ts';

/** A line longer than this is not a record (the largest STOMP body in base64 is far shorter). */
export const MAX_RECORD_LINE_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** The segment files of a capture: a folder of segments, or one segment file. */
export async function captureSegments(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw failed(path, error);
  }
  if (info.isFile()) return [path];
  let names: string[];
  try {
    names = await readdir(path);
  } catch (error) {
    throw failed(path, error);
  }
  const segments = names
    .map((name) => ({ name, n: segmentNumber(name) }))
    .filter((s): s is { name: string; n: number } => s.n !== undefined)
    .sort((a, b) => a.n - b.n)
    .map((s) => join(path, s.name));
  if (segments.length === 0) throw new AuditError('AUDIT_CAPTURE_FAILED', `${path} holds no capture segment (segment-NNNNNN.jsonl)`);
  for (const segment of segments) {
    // A segment that is a device or a pipe (a link to /dev/zero, say) would be read for ever.
    const kind = await stat(segment).then((s) => s.isFile(), (error: unknown) => Promise.reject(failed(segment, error)));
    if (!kind) throw new AuditError('AUDIT_CAPTURE_FAILED', `${segment} is not a regular file`);
  }
  return segments;
}

/** Options of {@link readCapture}. */
export interface ReadCaptureOptions {
  /** Called once per segment as it is opened (progress for long scans). */
  onSegment?: (path: string) => void;
}

/**
 * Every message of a capture, in order. A folder must be whole from its start: its first record is
 * number 1 and its segments are numbered without gaps (a segment removed is reported, not skipped).
 */
export async function* readCapture(path: string, options: ReadCaptureOptions = {}): AsyncGenerator<CapturedMessage> {
  const segments = await captureSegments(path);
  const folder = !(await stat(path)).isFile();
  if (folder) checkSegmentNumbers(segments);
  // A folder's first record is number 1; one segment read alone may start anywhere.
  let lastSeq: number | undefined = folder ? 0 : undefined;
  for (const segment of segments) {
    options.onSegment?.(segment);
    for await (const { line, number } of segmentLines(segment, () => lastSeq)) {
      const where = `${basename(segment)} line ${number}`;
      const message = decodeRecord(line, where);
      if (lastSeq !== undefined && message.seq !== lastSeq + 1) {
        const after = lastSeq === 0 ? 'starts the capture (records before it are missing)' : `follows record ${lastSeq} (a record is missing or out of place)`;
        throw new AuditError('AUDIT_CAPTURE_CORRUPT', `${where}: record ${message.seq} ${after}`);
      }
      lastSeq = message.seq;
      yield message;
    }
  }
}

/** Refuses a folder whose segment numbers have a gap: a segment was removed. */
function checkSegmentNumbers(segments: readonly string[]): void {
  segments.forEach((segment, index) => {
    const n = segmentNumber(basename(segment));
    if (n !== index + 1) {
      throw new AuditError('AUDIT_CAPTURE_CORRUPT', `${basename(segment)} is segment ${n} but follows ${index} segment(s): segment ${index + 1} is missing`);
    }
  });
}

/** The last sequence number of a capture folder's last segment (0 when it is empty). */
export async function lastSeqOf(dir: string): Promise<number> {
  const segments = await captureSegments(dir);
  let last = 0;
  // Only the last non-empty segment matters; an empty one was opened and never written.
  for (const segment of segments.reverse()) {
    for await (const { line, number } of segmentLines(segment, () => undefined)) {
      last = decodeRecord(line, `${basename(segment)} line ${number}`).seq;
    }
    if (last > 0) return last;
  }
  return last;
}

/** The complete lines of one segment; a final line without its newline is AUDIT_CAPTURE_TRUNCATED. */
async function* segmentLines(segment: string, lastSeq: () => number | undefined): AsyncGenerator<{ line: string; number: number }> {
  let handle;
  try {
    handle = await open(segment, 'r');
  } catch (error) {
    throw failed(segment, error);
  }
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let number = 0;
    let offset = 0;
    for (;;) {
      let read: number;
      try {
        ({ bytesRead: read } = await handle.read(chunk, 0, CHUNK_BYTES, offset));
      } catch (error) {
        throw failed(segment, error);
      }
      if (read === 0) break;
      offset += read;
      let start = 0;
      for (let newline = chunk.indexOf(10, start); newline !== -1 && newline < read; newline = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, newline);
        const line = pending.length === 0 ? piece.toString('utf8') : Buffer.concat([...pending, piece]).toString('utf8');
        pending = [];
        pendingBytes = 0;
        start = newline + 1;
        number++;
        yield { line, number };
      }
      if (start < read) {
        pending.push(Buffer.from(chunk.subarray(start, read)));
        pendingBytes += read - start;
        if (pendingBytes > MAX_RECORD_LINE_BYTES) {
          throw new AuditError('AUDIT_CAPTURE_CORRUPT', `${basename(segment)} line ${number + 1}: longer than ${MAX_RECORD_LINE_BYTES} bytes, not a capture record`);
        }
      }
    }
    if (pendingBytes > 0) {
      const after = lastSeq();
      throw new AuditError(
        'AUDIT_CAPTURE_TRUNCATED',
        `${basename(segment)} ends inside line ${number + 1} (${pendingBytes} bytes without an end of line` +
          `${after === undefined ? '' : `, after record ${after}`}): the capture was cut mid-write`,
      );
    }
  } finally {
    await handle.close();
  }
}

function failed(path: string, error: unknown): AuditError {
  const reason = error instanceof Error ? error.message : String(error);
  return new AuditError('AUDIT_CAPTURE_FAILED', `cannot read the capture ${path} (in ${dirname(path)}): ${reason}`, { cause: error });
}
