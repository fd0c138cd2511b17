/**
 * The options of {@link scanTraffic} (scan.ts), validated, with their defaults in this one place.
 */
import { tmpdir } from 'node:os';
import { z } from 'zod';
import { AuditError } from '../errors.ts';
import type { ChainSource } from '../sources.ts';

/** Default of {@link ScanOptions.windowLeadMs}: requests queued before the capture began have reached a worker by then. */
export const DEFAULT_WINDOW_LEAD_MS = 30_000;
/** Default of {@link ScanOptions.windowTailMs}: clock skew between the capturing host and the workers. */
export const DEFAULT_WINDOW_TAIL_MS = 2_000;

/**
 * Default of {@link ScanOptions.maxRepliesByCorrelation}: a request redelivered a couple of times
 * (a worker lost its connection between its reply and its ACK) is answered that many times more.
 */
export const DEFAULT_MAX_REPLIES_BY_CORRELATION = 3;

const chainSource = z.custom<ChainSource>(
  (v) => typeof (v as ChainSource | undefined)?.entries === 'function' && typeof (v as ChainSource).where === 'string',
  'a ChainSource (openSqliteSource or openHttpSource)',
);

/** The validated options of a scan. */
export const scanOptionsSchema = z.strictObject({
  /** A capture folder or one segment file. */
  capture: z.string().min(1),
  /** The audit trail (src/audit/sources.ts); its checkpoint entries are skipped. */
  trail: chainSource.optional(),
  /** PEM texts (one or more certificates each): the known recipients and the certificate inventory. */
  certificates: z.array(z.union([z.string(), z.instanceof(Buffer)])).readonly().default([]),
  /** AES-CBC is `unauthenticated_cipher` (paygate writes GCM unless told otherwise). */
  requireGcm: z.boolean().default(true),
  /** RSA recipient keys under this many bits are `short_rsa_key`. */
  minRsaBits: z.number().int().min(512).max(16384).default(2048),
  /** Provider queues are `<requestPrefix><provider>`. */
  requestPrefix: z.string().min(1).max(256).default('/queue/paygate.'),
  /** The events queue. */
  eventsQueue: z.string().min(1).max(256).default('/queue/paygate.feed.events'),
  /** The dead-letter suffix of provider queues. */
  dlqSuffix: z.string().regex(/^\S+$/).max(64).default('.dlq'),
  /** Where the temporary matching database goes (deleted after). */
  workDir: z.string().min(1).default(() => tmpdir()),
  /** The clock for days to expiry and `generated_at`. */
  now: z.date().optional(),
  /** Called with the number of messages scanned so far, every {@link progressEvery} messages and at the end. */
  onProgress: z.custom<(messages: number) => void>((v) => typeof v === 'function', 'a function').optional(),
  progressEvery: z.number().int().positive().default(10_000),
  /**
   * Trail records the capture must hold: those whose request reached the worker at least this
   * long after the capture's first message (an earlier one may have been sent before the capture
   * began)…
   */
  windowLeadMs: z.number().int().nonnegative().default(DEFAULT_WINDOW_LEAD_MS),
  /** …and whose time is at most this long after the capture's last message. */
  windowTailMs: z.number().int().nonnegative().default(DEFAULT_WINDOW_TAIL_MS),
  /**
   * Captured replies no record names by digest are tied to a recorded request by their
   * `correlation-id` (a header any client sets, so weaker evidence) only when that request was
   * captured before them, and at most this many per correlation id; every further one is
   * `unrecorded_message`. 0: none is tied that way.
   */
  maxRepliesByCorrelation: z.number().int().nonnegative().max(1000).default(DEFAULT_MAX_REPLIES_BY_CORRELATION),
});

/** Options of {@link scanTraffic}, as given. */
export type ScanOptions = z.input<typeof scanOptionsSchema>;
/** Options with their defaults applied. */
export type ResolvedScanOptions = z.output<typeof scanOptionsSchema>;

/** Validates `options`; fails with AUDIT_BAD_OPTION naming each bad field. */
export function resolveScanOptions(options: ScanOptions): ResolvedScanOptions {
  const parsed = scanOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new AuditError('AUDIT_BAD_OPTION', `invalid scan options: ${where}`);
  }
  return parsed.data;
}
