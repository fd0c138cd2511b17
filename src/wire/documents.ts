import * as z from 'zod';
import { WireError } from './errors.ts';
import { maskPan } from './secret.ts';

/**
 * The request and reply documents of wire contract version 1 (DESIGN §2).
 *
 * Objects are strict (an unknown key is an error, so a typo such as `idempotency-key` is not
 * silently dropped) and their keys come out in schema order, which keeps `encodeYaml` output
 * deterministic. `payload` and `result` are only required to be mappings here; the provider's
 * action schemas validate their contents.
 */

/** Lower-case names used for providers and request types (they end up in queue names). */
export const nameSchema = z
  .string()
  .max(64, 'name is longer than 64 characters')
  .regex(/^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/, 'name must be lower-case letters and digits, words joined by _ or -');

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Whether `s` is a real instant written exactly as `Date#toISOString` writes it. */
function isTimestamp(s: unknown): s is string {
  if (typeof s !== 'string' || !TIMESTAMP.test(s)) return false;
  // The pattern admits 2026-02-30; a real date survives the round trip through Date unchanged.
  const date = new Date(s);
  return !Number.isNaN(date.getTime()) && date.toISOString() === s;
}

/** An ISO 8601 UTC timestamp with milliseconds, exactly as `Date#toISOString` writes it. */
export const timestampSchema = z
  .string()
  .regex(TIMESTAMP, { message: 'timestamp must look like 2026-11-23T13:00:00.000Z', abort: true })
  .refine(isTimestamp, 'timestamp is not a real date and time');

/** 1–128 printable ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x20-\x7e]{1,128}$/, 'idempotency key must be 1 to 128 printable ASCII characters');

const mapping = z.record(z.string(), z.unknown());

/** The statuses of a reply. */
export const REPLY_STATUSES = ['approved', 'declined', 'pending', 'action_required', 'unknown', 'error'] as const;
export type ReplyStatus = (typeof REPLY_STATUSES)[number];

/** The `error` of a reply: a stable code, a human message, and whether retrying may help. */
export const replyErrorSchema = z.strictObject({
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'error code must be UPPER_SNAKE_CASE, at most 64 characters'),
  message: z.string().max(1024, 'error message is longer than 1024 characters'),
  retryable: z.boolean(),
});

/** A request document. `idempotency_key` defaults to `id`; `expires_at` must follow `sent_at`. */
export const requestDocumentSchema = z
  .strictObject({
    paygate: z.literal(1),
    kind: z.literal('request'),
    id: z.uuid(),
    idempotency_key: idempotencyKeySchema.optional(),
    provider: nameSchema,
    type: nameSchema,
    sent_at: timestampSchema,
    expires_at: timestampSchema,
    payload: mapping,
  })
  .superRefine((doc, ctx) => {
    // zod runs this even when fields failed; compare only two real timestamps. Same fixed
    // format, so string order is time order.
    if (isTimestamp(doc.sent_at) && isTimestamp(doc.expires_at) && doc.expires_at <= doc.sent_at) {
      ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'must be after sent_at' });
    }
  })
  // Rebuilt key by key so the default lands in its schema position, not at the end.
  .transform((doc) => ({
    paygate: doc.paygate,
    kind: doc.kind,
    id: doc.id,
    idempotency_key: doc.idempotency_key ?? doc.id,
    provider: doc.provider,
    type: doc.type,
    sent_at: doc.sent_at,
    expires_at: doc.expires_at,
    payload: doc.payload,
  }));

/** A validated request document (`idempotency_key` always present). */
export type RequestDocument = z.output<typeof requestDocumentSchema>;
/** A request document as written by a client (`idempotency_key` optional). */
export type RequestDocumentInput = z.input<typeof requestDocumentSchema>;

/** A reply document. `status: error` requires `error`. */
export const replyDocumentSchema = z
  .strictObject({
    paygate: z.literal(1),
    kind: z.literal('reply'),
    id: z.uuid(),
    request_id: z.uuid(),
    provider: nameSchema,
    type: nameSchema,
    sent_at: timestampSchema,
    status: z.enum(REPLY_STATUSES),
    result: mapping.optional(),
    error: replyErrorSchema.optional(),
  })
  .superRefine((doc, ctx) => {
    if (doc.status === 'error' && doc.error === undefined) {
      ctx.addIssue({ code: 'custom', path: ['error'], message: 'required when status is error' });
    }
  });

/** A validated reply document. */
export type ReplyDocument = z.output<typeof replyDocumentSchema>;
/** A reply document before validation. */
export type ReplyDocumentInput = z.input<typeof replyDocumentSchema>;

/** How many issues a `SCHEMA_INVALID` message lists before summarising the rest. */
const MAX_LISTED_ISSUES = 10;

/**
 * Turns a zod error into `WireError('SCHEMA_INVALID')`. The message lists each issue's path
 * and zod's description of the problem (which names expectations, never the input value), and
 * is passed through `maskPan` in case a key itself holds a card number. The zod error is not
 * attached as `cause`, because its issues can carry input keys.
 */
export function schemaInvalid(what: string, error: z.ZodError): WireError {
  const listed = error.issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    const path = issue.path.length === 0 ? '(document)' : issue.path.map(String).join('.');
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length - listed.length;
  if (more > 0) listed.push(`and ${more} more`);
  return new WireError('SCHEMA_INVALID', maskPan(`${what} does not match the schema: ${listed.join('; ')}`));
}

/** Validates a decoded request document. @throws WireError `SCHEMA_INVALID` */
export function parseRequestDocument(value: unknown): RequestDocument {
  const result = requestDocumentSchema.safeParse(value);
  if (!result.success) throw schemaInvalid('request document', result.error);
  return result.data;
}

/** Validates a decoded reply document. @throws WireError `SCHEMA_INVALID` */
export function parseReplyDocument(value: unknown): ReplyDocument {
  const result = replyDocumentSchema.safeParse(value);
  if (!result.success) throw schemaInvalid('reply document', result.error);
  return result.data;
}
