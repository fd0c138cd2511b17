import * as z from 'zod';
import { findCardNumber, shownKey } from './card-text.ts';
import { WireError } from './errors.ts';
import { maskPan } from './secret.ts';

/**
 * The request and reply documents of wire contract version 1.
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
    // zod runs this even when keys are unknown; compare only two real timestamps. Same fixed
    // format, so string order is time order.
    if (isTimestamp(doc.sent_at) && isTimestamp(doc.expires_at) && doc.expires_at <= doc.sent_at) {
      ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'must be after sent_at' });
    }
    // For users of the bare schema; parseRequestDocument checks first and answers CARD_DATA_IN_TEXT.
    const field = cardNumberOutsidePayload(doc);
    if (field !== undefined) ctx.addIssue({ code: 'custom', path: [], message: `${field} ${HOLDS_A_CARD_NUMBER}` });
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

/** The end of every card-data refusal: what is wrong and where card numbers go instead. */
const HOLDS_A_CARD_NUMBER = "holds a card number: card numbers belong only in the payload's card fields";

/**
 * Where a request document holds a card number outside its payload (`idempotency_key`, `type`,
 * an unknown key…), as a path, or undefined. The payload is left to the provider's schema
 * (`validateRequest`), which alone knows its card fields.
 */
export function cardNumberOutsidePayload(document: unknown): string | undefined {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return undefined;
  const { payload: _payload, ...rest } = document as Record<string, unknown>;
  return findCardNumber(rest);
}

/**
 * `WireError('CARD_DATA_IN_TEXT')` for a card number found at `path` of `what`: names the field,
 * never the value (the path's keys are shown only when they are plain names, see {@link shownKey}).
 */
export function cardDataInText(what: string, path: string): WireError {
  return new WireError('CARD_DATA_IN_TEXT', maskPan(`${what}: ${path} ${HOLDS_A_CARD_NUMBER}`));
}

/** One schema problem, ready to show: a dotted path and zod's description, which names expectations, never values. */
export interface ShownIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A zod issue as a path and a problem that are safe to show: keys through {@link shownKey} (zod's
 * own message for unknown keys quotes them raw), everything through `maskPan`.
 *
 * @param prefix prepended to the issue's path; @param root the path shown for the whole input.
 */
export function shownIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = [], root = '(document)'): ShownIssue {
  const path = [...prefix, ...issue.path];
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
  const message =
    keys === undefined ? issue.message : `Unrecognized key${keys.length === 1 ? '' : 's'}: ${keys.map((k) => `"${shownKey(k)}"`).join(', ')}`;
  return { path: maskPan(path.length === 0 ? root : path.map(shownKey).join('.')), message: maskPan(message) };
}

/**
 * Turns a zod error into `WireError('SCHEMA_INVALID')`. The message lists each issue's path
 * and problem as {@link shownIssue} shows them. The zod error is not attached as `cause`,
 * because its issues can carry input keys.
 */
export function schemaInvalid(what: string, error: z.ZodError): WireError {
  const listed = error.issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    const shown = shownIssue(issue);
    return `${shown.path}: ${shown.message}`;
  });
  const more = error.issues.length - listed.length;
  if (more > 0) listed.push(`and ${more} more`);
  return new WireError('SCHEMA_INVALID', maskPan(`${what} does not match the schema: ${listed.join('; ')}`));
}

/**
 * Validates a decoded request document.
 *
 * A card number anywhere outside the payload is refused first, whatever else is wrong, so that
 * the worker and the SDK can tell card data from an ordinary schema error.
 *
 * @throws WireError `CARD_DATA_IN_TEXT` naming the field; `SCHEMA_INVALID` naming paths and problems.
 */
export function parseRequestDocument(value: unknown): RequestDocument {
  const field = cardNumberOutsidePayload(value);
  if (field !== undefined) throw cardDataInText('request document', field);
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
