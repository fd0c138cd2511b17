/**
 * The events a worker sends for each request it finished (docs/audit.md): the audit record of
 * every request taken off a queue, answered, refused or dead-lettered, and the payment event of
 * an answered payment operation, in ONE events document (src/audit/events.ts), sealed to the
 * feed server and SENT to the events queue after the reply or dead letter and before the ACK.
 *
 * Records hold metadata only. What could carry card data is reduced before it gets here: the
 * card number to its first 6 / last 4 (`CardNumber.masked`), the correlation id and the
 * requester's subject through `recordText` (card numbers masked by the same rule the feed's scan
 * refuses by, characters XML cannot carry replaced by U+FFFD: a client-set header can neither
 * make the feed refuse the record nor stall it), provider ids only when they hold no card number
 * and are XML text, the idempotency key as an HMAC.
 * The document is validated by the contract's schema before it is sealed, so a bug here fails
 * the send (the request is requeued) instead of putting something else into the trail.
 *
 * Keys make a redelivery one record: the audit key is over the request's bytes and its
 * outcome, the payment key over the request's answer key and its outcome.
 */
import { createHash, createHmac, hkdfSync, type KeyObject } from 'node:crypto';
import { PING_TYPE } from '../providers/index.ts';
import type { StompMessage } from '../stomp/index.ts';
import {
  CardNumber, containsCardNumber, encodeYaml, HEADER, maskPan, moneySchema, seal, sealedContentType, type Certificate, type Money, type OpenedMessage, type ReplyDocument,
  type RequestDocument,
} from '../wire/index.ts';
import {
  AUDIT_FEED, EVENTS_DOCUMENT_VERSION, eventsDocumentSchema, isXmlText, recordText, type AuditRecord, type EventsDocument, type PaygateEvent, type PaymentEvent,
} from '../audit/events.ts';
import type { WorkerContext } from './context.ts';
import { WorkerError } from './errors.ts';
import { answerKeyOf } from './answer-key.ts';
import { echoableType } from './reply.ts';

/** What the worker knew of a request when it finished with it. */
export interface Seen {
  /** `performance.now()` when the message arrived. */
  readonly receivedAt: number;
  /** Set once the message opened (decrypted, verified, trusted). */
  readonly opened?: OpenedMessage;
  /** Set once the request document validated. */
  readonly request?: RequestDocument;
}

/** How the request was finished: a reply sent (its body's SHA-256) or a dead letter. */
export type Ending =
  | { readonly kind: 'replied'; readonly document: ReplyDocument; readonly replyBodySha256: string; readonly fromStore: boolean }
  /** `requestId`: the id of a request answered but whose answer could not be delivered (it may have no valid document). */
  | { readonly kind: 'dead-lettered'; readonly reason: string; readonly requestId?: string };

/** Reply statuses of an answered payment operation (`error` and `unknown` are not: nothing is known to have happened). */
export const PAYMENT_STATUSES: ReadonlySet<string> = new Set(['approved', 'declined', 'pending', 'action_required']);

/** Request types that are never payment operations: `ping` (answered by the worker) and `status` (a query). */
const NOT_PAYMENTS: ReadonlySet<string> = new Set([PING_TYPE, 'status']);

/** The HKDF label of the key that hides idempotency keys in audit records (distinct from the other derived keys). */
const AUDIT_KEY_INFO = 'paygate audit idempotency key v1';

/** Derives the HMAC key of `idempotency_key_hmac` from the gateway's private key (32 bytes): every worker sharing the key agrees. */
export function deriveAuditKey(gatewayPrivateKey: KeyObject): Buffer {
  const der = gatewayPrivateKey.export({ type: 'pkcs8', format: 'der' });
  return Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), AUDIT_KEY_INFO, 32));
}

/** Where the events go, resolved from the worker's `events` option. */
export interface EventsTarget {
  readonly queue: string;
  /** The feed server's certificate: the events are encrypted to it. */
  readonly recipient: Certificate;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** SHA-256 (hex) of a body as it is sent: the S/MIME text's bytes. */
export function bodySha256(body: string | Buffer): string {
  return sha256(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
}

/**
 * Builds, seals and SENDs the events of a finished request (persistent, with a receipt, on the
 * publishing connection, through the node that delivered it). Does nothing when the worker has
 * no `events` option.
 *
 * @throws WorkerError `EVENTS_UNDELIVERABLE` when the document does not validate; whatever the
 *   SEND throws (the caller requeues the request).
 */
export async function publishEvents(context: WorkerContext, provider: string, message: StompMessage, seen: Seen, ending: Ending): Promise<void> {
  await prepareEvents(context, provider, message, seen, ending)?.send();
}

/** Events sealed and ready to go: `send()` SENDs them (persistent, receipt). */
export interface PreparedEvents {
  send(): Promise<void>;
}

/**
 * The first half of {@link publishEvents}: builds, validates and seals the events now (the CPU
 * part, which a caller can do while a reply's receipt is on its way); undefined without the
 * `events` option. @throws WorkerError `EVENTS_UNDELIVERABLE` when the document does not validate.
 */
export function prepareEvents(context: WorkerContext, provider: string, message: StompMessage, seen: Seen, ending: Ending): PreparedEvents | undefined {
  const target = context.events;
  if (target === undefined) return undefined;
  const document = eventsDocument(context, provider, message, seen, ending);
  const body = seal(encodeYaml(document), { recipients: [target.recipient], signer: context.identity, cipher: 'aes-256-gcm' });
  const headers = { [HEADER.persistent]: 'true', [HEADER.contentType]: sealedContentType('aes-256-gcm') };
  return { send: () => context.publisher.send(target.queue, body, headers, message.node) };
}

/** The events document of a finished request, validated by the contract's schema. */
export function eventsDocument(context: WorkerContext, provider: string, message: StompMessage, seen: Seen, ending: Ending): EventsDocument {
  const record = auditRecord(context, provider, message, seen, ending);
  const events: PaygateEvent[] = [{ kind: 'audit', key: auditKey(record), record }];
  const payment = paymentEvent(record, seen, ending);
  if (payment !== undefined) events.push({ kind: 'payment', key: paymentKey(payment), record: payment });
  const parsed = eventsDocumentSchema.safeParse({ paygate_event: EVENTS_DOCUMENT_VERSION, events });
  if (!parsed.success) {
    // Paths only: a value that failed may be exactly what must not leave.
    const paths = parsed.error.issues.map((issue) => issue.path.map(String).join('.')).join(', ');
    throw new WorkerError('EVENTS_UNDELIVERABLE', `the ${AUDIT_FEED} events of this request do not validate (${paths}): not sent`);
  }
  return parsed.data;
}

/** `audit|<provider>|<request_body_sha256>|<status>|<code or ''>`, hashed: one record per request bytes and outcome. */
export function auditKey(record: AuditRecord): string {
  return sha256(`audit|${record.provider}|${record.request_body_sha256}|${record.outcome.status}|${record.outcome.code ?? ''}`);
}

/** `payment|<answer key>|<status>|<code or ''>`, hashed: one event per request (id, provider, signer) and outcome. */
export function paymentKey(event: PaymentEvent): string {
  const answerKey = answerKeyOf(event.requester_sha256, event.provider, event.request_id);
  return sha256(`payment|${answerKey}|${event.status}|${event.code ?? ''}`);
}

function auditRecord(context: WorkerContext, provider: string, message: StompMessage, seen: Seen, ending: Ending): AuditRecord {
  const { opened, request } = seen;
  const correlationId = message.headers[HEADER.correlationId];
  const replied = ending.kind === 'replied' ? ending.document : undefined;
  const card = request === undefined ? undefined : maskedCard(request.payload);
  const amount = amountOf(request?.payload, replied?.result);
  const record: AuditRecord = {
    time: new Date(context.options.clock()).toISOString(),
    request_id: replied?.request_id ?? request?.id ?? (ending.kind === 'dead-lettered' ? ending.requestId : undefined) ?? null,
    correlation_id: correlationId === undefined ? null : recordText(correlationId, 256),
    provider,
    type: replied?.type ?? (request === undefined ? null : echoableType(request.type)),
    outcome:
      ending.kind === 'replied'
        ? { status: ending.document.status, ...(ending.document.error === undefined ? {} : { code: ending.document.error.code }) }
        : { status: 'dead_lettered', code: ending.reason },
    replayed_from_store: ending.kind === 'replied' && ending.fromStore,
    ...(amount === undefined ? {} : { amount }),
    ...(request === undefined ? {} : { idempotency_key_hmac: createHmac('sha256', context.auditKey).update(request.idempotency_key).digest('hex') }),
    ...(opened === undefined ? {} : { requester: requesterOf(opened.signer), crypto: cryptoOf(opened) }),
    request_body_sha256: sha256(message.body),
    ...(ending.kind === 'replied' ? { reply_body_sha256: ending.replyBodySha256 } : { dead_letter_reason: ending.reason }),
    worker: context.options.workerId,
    duration_ms: Math.max(0, Math.round((performance.now() - seen.receivedAt) * 10) / 10),
    ...(card === undefined ? {} : { card }),
  };
  return record;
}

/** The payment event of an answered payment operation, else undefined. */
function paymentEvent(record: AuditRecord, seen: Seen, ending: Ending): PaymentEvent | undefined {
  const { request, opened } = seen;
  if (ending.kind !== 'replied' || request === undefined || opened === undefined) return undefined;
  const { document } = ending;
  if (NOT_PAYMENTS.has(document.type) || !PAYMENT_STATUSES.has(document.status)) return undefined;
  return {
    time: record.time,
    request_id: document.request_id,
    provider: document.provider,
    type: document.type,
    status: document.status,
    ...(document.error === undefined ? {} : { code: document.error.code }),
    ...(record.amount === undefined ? {} : { amount: record.amount }),
    provider_ids: providerIds(document.result),
    idempotency_key: request.idempotency_key,
    ...(record.card === undefined ? {} : { card: record.card }),
    requester_sha256: opened.signer.fingerprint,
  };
}

const ID_FIELD = /^[a-z][a-z0-9_]{0,63}$/;

/** The result's string fields named `*_id` or `reference`, each ≤ 128 characters of XML text and holding no card number. */
export function providerIds(result: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const [name, value] of Object.entries(result ?? {})) {
    if (!ID_FIELD.test(name) || !(name.endsWith('_id') || name === 'reference')) continue;
    if (typeof value !== 'string' || value.length > 128 || !isXmlText(value) || containsCardNumber(value) || maskPan(value) !== value) continue;
    ids[name] = value;
  }
  return ids;
}

/** The payload's top-level `amount` when it is money, else the result's. */
function amountOf(payload: unknown, result: Readonly<Record<string, unknown>> | undefined): Money | undefined {
  for (const candidate of [field(payload, 'amount'), result?.amount]) {
    const parsed = moneySchema.safeParse(candidate);
    if (parsed.success) return parsed.data;
  }
  return undefined;
}

/** The payload's `card.number`, first 6 / last 4 at most; undefined when it is not a card number's digits. */
function maskedCard(payload: unknown): string | undefined {
  const number = field(field(payload, 'card'), 'number');
  if (typeof number !== 'string') return undefined;
  const digits = number.replace(/[ -]/g, '');
  if (!/^\d{12,19}$/.test(digits)) return undefined;
  return new CardNumber(digits).masked;
}

function requesterOf(signer: Certificate): NonNullable<AuditRecord['requester']> {
  const serial = signer.x509.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
  return { subject: recordText(signer.subject, 512), serial, sha256: signer.fingerprint };
}

function cryptoOf(opened: OpenedMessage): NonNullable<AuditRecord['crypto']> {
  const { algorithms } = opened;
  return {
    content_encryption: algorithms.contentEncryption,
    key_management: algorithms.keyManagement,
    signature: algorithms.signature,
    // Every signature algorithm of the profile ends with its digest (`rsa-pss-sha256`, `ecdsa-sha384`).
    digest: algorithms.signature.slice(algorithms.signature.lastIndexOf('-') + 1),
    signed_form: algorithms.signedForm,
  };
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[name] : undefined;
}
