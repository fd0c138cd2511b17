/**
 * From one events message to the feed entries it becomes, or the reason it is refused. Pure:
 * no broker, no store (events-consumer.ts does the I/O).
 *
 * Order of checks: open (decrypt, verify, chain to the gateway trust) → the signer has a gateway
 * role → the YAML decodes → it is an events document (src/audit/events.ts) → card numbers in a
 * record's text (its hex digests excepted, see {@link DIGEST_FIELDS}) are masked and the field's
 * path noted in the record's `redacted`: a client-set field never costs the trail its record;
 * one in a number or a key, or one whose masked form the schema refuses, refuses the message →
 * the store's entry checks pass (else a refusal the store would make, permanently, at every
 * retry). Each refusal names a stable code and never the content.
 */
import {
  AUDIT_FEED, eventSchema, eventsDocumentSchema, PAYMENTS_FEED, type EventsDocument, type PaygateEvent,
} from '../audit/events.ts';
import { PaygateError } from '../errors.ts';
import { maskCardNumbers } from '../wire/card-text.ts';
import { containsCardNumber, decodeYaml, findCardNumber, open, requireSignerRole, type Identity, type TrustStore } from '../wire/index.ts';
import { checkFeedName, checkNewEntry } from './entry-checks.ts';
import { FeedError } from './errors.ts';
import type { AppendRequest } from './store.ts';

/** What reading a message gave: the appends it stands for, or a refusal. */
export type ReadEvents =
  | {
      readonly kind: 'events';
      readonly appends: readonly AppendRequest[];
      /** Paths (`events.0.record.correlation_id`) of the fields masked because they read as a card number. */
      readonly redacted: readonly string[];
    }
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
  const masked = maskCardData(parsed.data);
  if (masked.kind === 'refused') return masked;
  const appends = masked.document.events.map(toAppend);
  try {
    for (const { feed, entry } of appends) {
      checkFeedName(feed);
      checkNewEntry(entry);
    }
  } catch (error) {
    if (!(error instanceof FeedError)) throw error;
    return refused('EVENTS_UNSTORABLE', `the feed store would refuse this message's entries (${error.code}: ${error.message})`, true);
  }
  return { kind: 'events', appends, redacted: masked.redacted };
}

type Refused = Extract<ReadEvents, { kind: 'refused' }>;

function refused(reason: string, detail: string, decrypted: boolean): Refused {
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

/**
 * The document with every record string that reads as a card number masked (`maskCardNumbers`,
 * the rule the worker masks client text by) and its path added to the record's `redacted`; a
 * refusal when a card number is where no mask can go (a number, a key) or a masked record no
 * longer validates (a field with a fixed form).
 */
function maskCardData(document: EventsDocument): { kind: 'masked'; document: EventsDocument; redacted: string[] } | Refused {
  const redacted: string[] = [];
  const events: PaygateEvent[] = [];
  for (const [index, event] of document.events.entries()) {
    const record = event.record as Readonly<Record<string, unknown>>;
    const paths: string[] = [];
    const changed = maskStrings(record, '', paths, (key) => DIGEST_FIELDS.has(key)) as Record<string, unknown>;
    const where = `events.${index}.record`;
    // What masking could not reach (a number, a key) or did not clear.
    const left = findCardNumber(withoutDigests(changed), where);
    if (left !== undefined) return refused('EVENTS_CARD_DATA', `a card number in ${left}: the event is refused, never stored`, true);
    if (paths.length === 0) {
      events.push(event);
      continue;
    }
    const noted = { ...changed, redacted: [...new Set([...((record.redacted as string[] | undefined) ?? []), ...paths])] };
    const reparsed = eventSchema.safeParse({ ...event, record: noted });
    if (!reparsed.success) {
      return refused('EVENTS_CARD_DATA', `a card number in ${where}.${paths.join(`, ${where}.`)}, a field its mask does not fit: the event is refused, never stored`, true);
    }
    events.push(reparsed.data);
    redacted.push(...paths.map((path) => `${where}.${path}`));
  }
  return { kind: 'masked', document: { ...document, events }, redacted };
}

/** `value` with each string that holds a card number masked, its path pushed to `paths`; digest fields (by `skip`) and requester's serial/sha256 untouched. */
function maskStrings(value: unknown, path: string, paths: string[], skip: (key: string) => boolean): unknown {
  if (typeof value === 'string') {
    if (!containsCardNumber(value)) return value;
    paths.push(path);
    return maskCardNumbers(value);
  }
  if (Array.isArray(value)) return value.map((item, i) => maskStrings(item, `${path}.${i}`, paths, () => false));
  if (value === null || typeof value !== 'object') return value;
  const inRequester = path === 'requester';
  return Object.fromEntries(Object.entries(value).map(([key, item]) => {
    const keep = path === '' ? skip(key) : inRequester && REQUESTER_DIGEST_FIELDS.has(key);
    return [key, keep ? item : maskStrings(item, path === '' ? key : `${path}.${key}`, paths, () => false)];
  }));
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
