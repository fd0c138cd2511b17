/**
 * From one events message to the feed entries it becomes, or the reason it is refused. Pure:
 * no broker, no store (events-consumer.ts does the I/O).
 *
 * Order of checks: open (decrypt, verify, chain to the gateway trust) → the signer has a gateway
 * role → the YAML decodes → it is an events document (src/audit/events.ts) → no record holds a
 * card number (its hex digests excepted, see {@link DIGEST_FIELDS}). Each refusal names a stable
 * code and never the content.
 */
import {
  AUDIT_FEED, eventsDocumentSchema, PAYMENTS_FEED, type EventsDocument, type PaygateEvent,
} from '../audit/events.ts';
import { PaygateError } from '../errors.ts';
import { decodeYaml, findCardNumber, open, requireSignerRole, type Identity, type TrustStore } from '../wire/index.ts';
import type { AppendRequest } from './store.ts';

/** What reading a message gave: the appends it stands for, or a refusal. */
export type ReadEvents =
  | { readonly kind: 'events'; readonly appends: readonly AppendRequest[] }
  | {
      readonly kind: 'refused';
      /** A wire code or an EVENTS_* code: the dead letter's `paygate-dlq-reason`. */
      readonly reason: string;
      /** Why, for the log: names paths and problems, never values. */
      readonly detail: string;
      /** Whether the body was decrypted with our key (proven ciphertext): only then is it copied to the dead letter. */
      readonly decrypted: boolean;
    };

/** What reading needs. */
export interface ReadingContext {
  readonly identity: Identity;
  readonly trust: TrustStore;
  /** extendedKeyUsage OIDs of which the signer must carry one ([] = no role check). */
  readonly gatewayRoleOids: readonly string[];
  readonly now?: Date;
}

/** Wire codes that `open()` raises only after the content decrypted with our key. */
const AFTER_DECRYPTION = new Set(['UNSIGNED', 'BAD_SIGNATURE', 'UNTRUSTED_SIGNER', 'CERT_EXPIRED', 'YAML_INVALID', 'YAML_LIMIT']);

/** Reads one events message body. */
export function readEvents(body: Buffer, context: ReadingContext): ReadEvents {
  let yaml: string;
  try {
    const opened = open(body, { identity: context.identity, trust: context.trust, ...(context.now === undefined ? {} : { now: context.now }) });
    requireSignerRole(opened.signer, context.gatewayRoleOids, 'gateway');
    yaml = opened.yaml;
  } catch (error) {
    if (!(error instanceof PaygateError)) throw error;
    // WRONG_SIGNER_ROLE is raised after a successful open, so that body is ciphertext too.
    return refused(error.code, error.message, error.code === 'WRONG_SIGNER_ROLE' || AFTER_DECRYPTION.has(error.code));
  }
  let raw: unknown;
  try {
    raw = decodeYaml(yaml);
  } catch (error) {
    if (!(error instanceof PaygateError)) throw error;
    return refused(error.code, error.message, true);
  }
  const parsed = eventsDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    // zod's messages name paths and expectations; the values are not quoted.
    const where = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.code}`);
    return refused('EVENTS_DOCUMENT_INVALID', `not an events document (${where.join('; ')})`, true);
  }
  const card = cardNumberIn(parsed.data);
  if (card !== undefined) return refused('EVENTS_CARD_DATA', `a card number in ${card}: the event is refused, never stored`, true);
  return { kind: 'events', appends: parsed.data.events.map(toAppend) };
}

function refused(reason: string, detail: string, decrypted: boolean): ReadEvents {
  return { kind: 'refused', reason, detail, decrypted };
}

/**
 * Fields the scan skips: hex digests and certificate serials, fixed by the schema to hex digits
 * and computed by the worker, never text a client wrote. Read as text, about one random SHA-256
 * in a thousand holds a digit run the scan takes for a card number (Luhn-valid, a brand's
 * prefix), so scanning them would dead-letter a valid event every few hundred.
 */
const DIGEST_FIELDS = new Set(['request_body_sha256', 'reply_body_sha256', 'idempotency_key_hmac', 'requester_sha256']);
const REQUESTER_DIGEST_FIELDS = new Set(['sha256', 'serial']);

/** A record without its digest fields (see {@link DIGEST_FIELDS}). */
function withoutDigests(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const kept = Object.fromEntries(Object.entries(record).filter(([key]) => !DIGEST_FIELDS.has(key)));
  const requester = record.requester;
  if (typeof requester === 'object' && requester !== null) {
    kept.requester = Object.fromEntries(Object.entries(requester).filter(([key]) => !REQUESTER_DIGEST_FIELDS.has(key)));
  }
  return kept;
}

/** The path of the first card number in a record of the document, if any. */
function cardNumberIn(document: EventsDocument): string | undefined {
  for (const [index, event] of document.events.entries()) {
    const found = findCardNumber(withoutDigests(event.record), `events.${index}.record`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The feed an event is stored in. */
export function feedOf(event: PaygateEvent): string {
  return event.kind === 'audit' ? AUDIT_FEED : PAYMENTS_FEED;
}

/** `<provider> <type|unknown> <status>[ <code>]`: the entry's title, the same for both kinds. */
export function titleOf(event: PaygateEvent): string {
  const { provider, type, status, code } =
    event.kind === 'audit'
      ? { provider: event.record.provider, type: event.record.type, status: event.record.outcome.status, code: event.record.outcome.code }
      : event.record;
  return `${provider} ${type ?? 'unknown'} ${status}${code === undefined ? '' : ` ${code}`}`;
}

/**
 * The append of one event: its feed, title, the record as JSON (keys in the schema's order: zod
 * builds its output in shape order), `application/json`, its key; chained.
 */
export function toAppend(event: PaygateEvent): AppendRequest {
  return {
    feed: feedOf(event),
    entry: { title: titleOf(event), content: JSON.stringify(event.record), contentType: 'application/json', key: event.key },
    options: { chained: true },
  };
}
