/**
 * The events document: what a worker sends to the events queue for each request it took off a
 * provider queue, and what `paygate feed` stores as entries of its `audit` and `payments` feeds.
 *
 * One message per processed request carries its audit record and, for an answered payment
 * operation, its payment event, so both are stored or neither is. The document is YAML, signed
 * with the gateway's identity and encrypted to the feed server's certificate (the same S/MIME
 * as requests and replies): nothing crosses the broker in clear, and only a gateway-role signer
 * can put a record into the trail.
 *
 * Records are metadata only: never a payload, a full card number, a CVV, a PIN or a key. The
 * schemas below are strict, and the feed server also scans every record for card numbers before
 * storing it.
 *
 * Every event has a `key`: the same request processed twice (a redelivery after a worker died
 * between its reply and its ACK) gives the same key, and the feed stores it once.
 */
import { z } from 'zod';
import { maskCardNumbers } from '../wire/card-text.ts';
import { moneySchema, nameSchema, REPLY_STATUSES, timestampSchema } from '../wire/index.ts';

/** The `paygate_event` version of this document. */
export const EVENTS_DOCUMENT_VERSION = 1;

/** The feeds the events are stored in. */
export const AUDIT_FEED = 'audit';
export const PAYMENTS_FEED = 'payments';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 as 64 lower-case hex digits');
/** A card number as an audit record may show it: first 6 and last 4 at most, the rest masked. */
const maskedCard = z.string().regex(/^[0-9]{0,6}[*•x]{2,}[0-9]{0,4}$/, 'a masked card number (first 6 / last 4 at most)');
const code = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/);
const shortText = z.string().max(512);
/**
 * Set by the feed server only: the paths (`correlation_id`, `requester.subject`) of fields it
 * masked because they read as a card number, so the record is stored rather than lost.
 */
const redacted = z.array(z.string().max(128)).min(1).max(32).optional();

/** A character outside XML 1.0's Char production (a lone surrogate too: the `u` flag sees code points). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Whether every character of `text` is one XML 1.0 can carry (the feed is Atom: it stores nothing else). */
export function isXmlText(text: string): boolean {
  return !new RegExp(NOT_XML_CHAR.source, 'u').test(text);
}

/**
 * Text a client set (a header), as a record holds it: card numbers masked so the feed's scan finds
 * none (`maskCardNumbers`), every character XML 1.0 cannot carry (controls, U+FFFE/U+FFFF, lone
 * surrogates) replaced by U+FFFD, then cut to `maxLength` UTF-16 units without splitting a
 * surrogate pair. Masked before it is cut, so a cut never leaves part of a card number in clear.
 */
export function recordText(value: string, maxLength: number): string {
  const text = maskCardNumbers(value.replace(NOT_XML_CHAR, '\uFFFD'));
  if (text.length <= maxLength) return text;
  const cut = text.slice(0, maxLength);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** What became of a request: a reply status, or `dead_lettered` (nobody could be answered). */
export const OUTCOME_STATUSES = [...REPLY_STATUSES, 'dead_lettered'] as const;

/** The requester's certificate, as verified (present once the message was opened). */
export const requesterSchema = z.strictObject({
  subject: shortText,
  serial: z.string().regex(/^[0-9a-f]{1,64}$/),
  sha256: sha256Hex,
});

/** The crypto profile a request used, as `open()` found it. */
export const cryptoSeenSchema = z.strictObject({
  content_encryption: z.string().max(64),
  key_management: z.string().max(64),
  signature: z.string().max(64),
  digest: z.string().max(16),
  signed_form: z.string().max(32),
});

/** One request taken off a provider queue: answered, refused or dead-lettered. */
export const auditRecordSchema = z.strictObject({
  /** When the worker finished with it (ISO 8601 UTC, milliseconds). */
  time: timestampSchema,
  /** The request document's id; null when the message never opened (dead-lettered unread). */
  request_id: z.uuid().nullable(),
  /** The frame's `correlation-id` header as received (a client may put anything there: {@link recordText}, cut to 256). */
  correlation_id: z.string().max(256).nullable(),
  provider: nameSchema,
  /** The request type; null when unknown. */
  type: nameSchema.nullable(),
  outcome: z.strictObject({ status: z.enum(OUTCOME_STATUSES), code: code.optional() }),
  /** The answer was an earlier one sent again (a replay or a redelivery); the provider was not called. */
  replayed_from_store: z.boolean(),
  amount: moneySchema.optional(),
  /** HMAC-SHA-256 of the idempotency key under the gateway's audit key: records of one key match, the key is not shown. */
  idempotency_key_hmac: sha256Hex.optional(),
  requester: requesterSchema.optional(),
  crypto: cryptoSeenSchema.optional(),
  /** SHA-256 of the STOMP body as received: matches a captured frame to this record. */
  request_body_sha256: sha256Hex,
  /** SHA-256 of the reply body as sent; absent when nothing was sent back. */
  reply_body_sha256: sha256Hex.optional(),
  /** The dead-letter reason (a wire or worker code), for `dead_lettered`. */
  dead_letter_reason: code.optional(),
  worker: shortText,
  duration_ms: z.number().nonnegative(),
  card: maskedCard.optional(),
  redacted,
});
export type AuditRecord = z.output<typeof auditRecordSchema>;

/** One answered payment operation, for the services that follow payments (orders, accounting). */
export const paymentEventSchema = z.strictObject({
  time: timestampSchema,
  request_id: z.uuid(),
  provider: nameSchema,
  type: nameSchema,
  status: z.enum(REPLY_STATUSES),
  code: code.optional(),
  amount: moneySchema.optional(),
  /** The provider's identifiers from the result (transaction, authorization…), by field name. */
  provider_ids: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.string().max(128)),
  idempotency_key: z.string().max(128),
  card: maskedCard.optional(),
  /** SHA-256 fingerprint of the requester's certificate: which shop. */
  requester_sha256: sha256Hex,
  redacted,
});
export type PaymentEvent = z.output<typeof paymentEventSchema>;

/** An event with its de-duplication key (the feed stores one entry per key). */
export const eventSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('audit'), key: sha256Hex, record: auditRecordSchema }),
  z.strictObject({ kind: z.literal('payment'), key: sha256Hex, record: paymentEventSchema }),
]);
export type PaygateEvent = z.output<typeof eventSchema>;

/** The document of one events message: the audit record first, then the payment event if any. */
export const eventsDocumentSchema = z.strictObject({
  paygate_event: z.literal(EVENTS_DOCUMENT_VERSION),
  events: z.array(eventSchema).min(1).max(2),
});
export type EventsDocument = z.output<typeof eventsDocumentSchema>;
