/**
 * The capture format: what the traffic auditor records of every message that crossed a broker,
 * whichever broker it was (the embedded broker's tap, RabbitMQ's firehose, ActiveMQ's mirrored
 * queues), so that one scanner reads them all.
 *
 * A capture is a folder of segment files `segment-000001.jsonl`, `segment-000002.jsonl`, … read
 * in name order. Each line is one JSON object, one message, with the STOMP headers as the
 * sender set them (in order, repeats kept) and the body exactly as sent, in base64:
 *
 * ```json
 * {"capture":1,"seq":1,"time":"2026-12-07T12:00:00.123Z","source":"embedded",
 *  "destination":"/queue/paygate.card","headers":[["destination","/queue/paygate.card"],…],
 *  "body_bytes":4711,"body_sha256":"9f2c…","body":"TUlNRS1WZXJzaW9uOi…"}
 * ```
 *
 * JSON lines, so that an auditor can read a capture with `jq` and no paygate; the body's length
 * and SHA-256 are written beside it, so that a damaged line is detected rather than scanned as a
 * different message, and so that a body can be matched to its audit record (which holds the same
 * digest) without decoding it. A line ends with `\n` only when complete: a segment whose last
 * line has none was cut mid-write.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AuditError } from '../errors.ts';

/** The `capture` version of a record. */
export const CAPTURE_VERSION = 1;

/** Where a message was captured: the embedded broker's tap, RabbitMQ's firehose, ActiveMQ's mirrored queues. */
export const CAPTURE_SOURCES = ['embedded', 'rabbitmq', 'activemq'] as const;
export type CaptureSource = (typeof CAPTURE_SOURCES)[number];

/** One captured message. */
export interface CapturedMessage {
  /** Position in the capture, from 1, without gaps (a gap means a record is missing). */
  readonly seq: number;
  /** When the capturing side saw the message (ISO 8601 UTC, milliseconds). */
  readonly time: string;
  readonly source: CaptureSource;
  /** The destination the sender gave (the queue it was sent to). */
  readonly destination: string;
  /** The STOMP headers as sent, in order, repeats kept. */
  readonly headers: readonly (readonly [string, string])[];
  /** The body exactly as sent. */
  readonly body: Buffer;
  /** SHA-256 of the body, lower-case hex (the audit record's `request_body_sha256` / `reply_body_sha256`). */
  readonly bodySha256: string;
}

/** What a capturing side hands to the writer: the record without its position and digest. */
export interface CaptureInput {
  readonly time?: Date;
  readonly source: CaptureSource;
  readonly destination: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

const lineSchema = z.strictObject({
  capture: z.literal(CAPTURE_VERSION),
  seq: z.number().int().positive(),
  time: z.iso.datetime({ offset: false, precision: 3 }),
  source: z.enum(CAPTURE_SOURCES),
  // No caps beyond the line's own (MAX_RECORD_LINE_BYTES): the capturing side records whatever a
  // broker accepted, and a reader stricter than the brokers would let one SEND blind the audit.
  destination: z.string().min(1),
  headers: z.array(z.tuple([z.string(), z.string()])),
  body_bytes: z.number().int().nonnegative(),
  body_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  body: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
});

/** SHA-256 of a body as the capture and the audit trail write it. */
export function bodyDigest(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** One record as its line (with the trailing newline). */
export function encodeRecord(seq: number, input: CaptureInput): string {
  const record = {
    capture: CAPTURE_VERSION,
    seq,
    time: (input.time ?? new Date()).toISOString(),
    source: input.source,
    destination: input.destination,
    headers: input.headers,
    body_bytes: input.body.length,
    body_sha256: bodyDigest(input.body),
    body: input.body.toString('base64'),
  };
  return `${JSON.stringify(record)}\n`;
}

/**
 * Reads one line (without its newline) back into a message. `where` names the segment and line
 * for the error. Fails with AUDIT_CAPTURE_CORRUPT; the message never quotes the line (it may
 * hold a card number in clear: finding those is what the scan is for).
 */
export function decodeRecord(line: string, where: string): CapturedMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new AuditError('AUDIT_CAPTURE_CORRUPT', `${where}: not a JSON capture record`);
  }
  const parsed = lineSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(record)';
    throw new AuditError('AUDIT_CAPTURE_CORRUPT', `${where}: not a capture record (${path}: ${issue?.code ?? 'invalid'})`);
  }
  const r = parsed.data;
  const body = Buffer.from(r.body, 'base64');
  if (body.length !== r.body_bytes) {
    throw new AuditError('AUDIT_CAPTURE_CORRUPT', `${where}: the body has ${body.length} bytes, the record says ${r.body_bytes}`);
  }
  const digest = bodyDigest(body);
  if (digest !== r.body_sha256) throw new AuditError('AUDIT_CAPTURE_CORRUPT', `${where}: the body does not match its SHA-256`);
  return { seq: r.seq, time: r.time, source: r.source, destination: r.destination, headers: r.headers, body, bodySha256: digest };
}

/** The file name of segment `n` (from 1). */
export function segmentName(n: number): string {
  return `segment-${String(n).padStart(6, '0')}.jsonl`;
}

/** The segment number of a file name, or undefined when it is not a segment. */
export function segmentNumber(name: string): number | undefined {
  const match = /^segment-(\d{6,})\.jsonl$/.exec(name);
  return match ? Number(match[1]) : undefined;
}
