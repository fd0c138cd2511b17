/**
 * What the audit-trail test checks in the feeds once they settled: each request the SDK sent is
 * in exactly one audit record with the outcome the SDK saw; each injected message is in exactly
 * one, dead-lettered with its reason; each answered payment is in `payments` exactly once with
 * its status and amount; and no card number, CVV or PIN is in either feed. Functions return
 * lists of problems (empty: fine), so one run reports everything that is wrong at once.
 */
import { XMLParser } from 'fast-xml-parser';
import { auditRecordSchema, paymentEventSchema, type AuditRecord, type EventsDocument, type PaymentEvent } from '../../src/audit/events.ts';
import type { FeedEntry } from '../../src/feed/store.ts';
import { decodeYaml, findCardNumber, open, type Identity, type TrustStore } from '../../src/wire/index.ts';
import { findPans } from '../helpers/pan-scan.ts';
import type { DeadLetter, Injected } from './audit-trail-inject.ts';
import type { SentRequest } from './audit-trail-workload.ts';

/** Reply statuses that make an answered request a payment (src/worker/audit-events.ts, PAYMENT_STATUSES). */
const PAYMENT_STATUSES = new Set(['approved', 'declined', 'pending', 'action_required']);
/** Request types that are never payments (a query; `ping` is not sent here). */
const NOT_PAYMENTS = new Set(['status']);

/** Entries' JSON content checked by the contract's schema; a problem for each that does not fit. */
export function parseRecords<T>(entries: readonly FeedEntry[], schema: typeof auditRecordSchema | typeof paymentEventSchema, problems: string[]): T[] {
  const records: T[] = [];
  for (const entry of entries) {
    if (entry.contentType !== 'application/json') {
      problems.push(`${entry.feed} ${entry.id}: content type ${entry.contentType}`);
      continue;
    }
    const parsed = schema.safeParse(JSON.parse(entry.content));
    if (!parsed.success) problems.push(`${entry.feed} ${entry.id}: not a record (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')})`);
    else records.push(parsed.data as T);
  }
  return records;
}

const group = <T>(items: readonly T[], keyOf: (item: T) => string | null | undefined): Map<string, T[]> => {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === null || key === undefined) continue;
    map.set(key, [...(map.get(key) ?? []), item]);
  }
  return map;
};

/** The outcome the audit record must show for what the SDK got (undefined: any, the SDK did not learn it). */
function expectedOutcome(sent: SentRequest): { status: string; code?: string } | undefined {
  if (sent.answer.kind === 'reply') return { status: sent.answer.status, ...(sent.answer.code === undefined ? {} : { code: sent.answer.code }) };
  if (sent.answer.kind === 'remote') return { status: 'error', code: sent.answer.code };
  return undefined;
}

/** Entry title: `<provider> <type|unknown> <status>[ <code>]`. */
export const titleOf = (record: { provider: string; type: string | null; status: string; code?: string | undefined }): string =>
  `${record.provider} ${record.type ?? 'unknown'} ${record.status}${record.code === undefined ? '' : ` ${record.code}`}`;

/** The audit feed against what was sent and injected. */
export function checkAudit(entries: readonly FeedEntry[], sent: readonly SentRequest[], injected: readonly Injected[], letters: readonly DeadLetter[]): string[] {
  const problems: string[] = [];
  const records = parseRecords<AuditRecord>(entries, auditRecordSchema, problems);
  for (const entry of entries) {
    const parsed = auditRecordSchema.safeParse(entry.contentType === 'application/json' ? JSON.parse(entry.content) : undefined);
    if (parsed.success && entry.title !== titleOf({ ...parsed.data, ...parsed.data.outcome })) problems.push(`audit ${entry.id}: title "${entry.title}"`);
    if (entry.hash === undefined || entry.prevHash === undefined) problems.push(`audit ${entry.id}: not chained`);
  }
  // Matched by request id, or by the correlation id (the SDK sets it to the request id) for a
  // record of a message that never opened.
  const byId = group(records, (r) => r.request_id ?? r.correlation_id);
  for (const request of sent) {
    const found = byId.get(request.requestId) ?? [];
    if (found.length !== 1) {
      const seen = found.map((r) => `${titleOf({ ...r, ...r.outcome })}${r.replayed_from_store ? ' (replayed)' : ''} by ${r.worker} at ${r.time}`);
      problems.push(`${request.provider} ${request.type} ${request.requestId}: ${found.length} audit records${seen.length > 0 ? `: ${seen.join('; ')}` : ''}; the SDK got ${JSON.stringify(expectedOutcome(request) ?? 'no answer')}`);
      continue;
    }
    const record = found[0] as AuditRecord;
    const outcome = expectedOutcome(request);
    if (record.provider !== request.provider || record.type !== request.type) problems.push(`${request.requestId}: recorded as ${record.provider} ${record.type}`);
    if (outcome !== undefined && (record.outcome.status !== outcome.status || record.outcome.code !== outcome.code)) {
      problems.push(`${request.requestId}: outcome ${JSON.stringify(record.outcome)}, the SDK got ${JSON.stringify(outcome)}`);
    }
  }
  const byBody = group(records, (r) => r.request_body_sha256);
  for (const bad of injected) {
    const found = byBody.get(bad.sha256) ?? [];
    const letter = letters.find((l) => l.correlationId === bad.correlationId);
    if (found.length !== 1) problems.push(`${bad.kind} on ${bad.provider}: ${found.length} audit records`);
    const record = found[0];
    if (record === undefined) continue;
    if (record.outcome.status !== 'dead_lettered' || record.dead_letter_reason !== letter?.reason || record.outcome.code !== letter?.reason) {
      problems.push(`${bad.kind} on ${bad.provider}: recorded ${JSON.stringify(record.outcome)} reason ${record.dead_letter_reason}, dead-lettered with ${letter?.reason}`);
    }
    if (record.provider !== bad.provider || record.request_id !== null || record.correlation_id !== bad.correlationId) problems.push(`${bad.kind} on ${bad.provider}: recorded as ${record.provider}, request ${record.request_id}`);
  }
  if (records.length !== sent.length + injected.length) problems.push(`${records.length} audit records for ${sent.length} requests and ${injected.length} injected messages`);
  return problems;
}

/** Whether the SDK's answer makes a request a payment (src/worker/audit-events.ts). */
export const isPayment = (sent: SentRequest): boolean => sent.answer.kind === 'reply' && PAYMENT_STATUSES.has(sent.answer.status) && !NOT_PAYMENTS.has(sent.type);

/** The payments feed against the SDK's answers. */
export function checkPayments(entries: readonly FeedEntry[], sent: readonly SentRequest[]): string[] {
  const problems: string[] = [];
  const events = parseRecords<PaymentEvent>(entries, paymentEventSchema, problems);
  const byId = group(events, (e) => e.request_id);
  const payments = sent.filter(isPayment);
  for (const request of payments) {
    const found = byId.get(request.requestId) ?? [];
    if (found.length !== 1) {
      problems.push(`payment ${request.provider} ${request.type} ${request.requestId}: ${found.length} events`);
      continue;
    }
    const event = found[0] as PaymentEvent;
    const answer = request.answer as Extract<SentRequest['answer'], { kind: 'reply' }>;
    const amount = request.amount ?? answer.result.amount;
    if (event.status !== answer.status || event.code !== answer.code || event.type !== request.type || event.provider !== request.provider) {
      problems.push(`payment ${request.requestId}: ${event.provider} ${event.type} ${event.status} ${event.code}, the SDK got ${request.provider} ${request.type} ${answer.status} ${answer.code}`);
    }
    if (JSON.stringify(event.amount) !== JSON.stringify(amount)) problems.push(`payment ${request.requestId}: amount ${JSON.stringify(event.amount)}, sent ${JSON.stringify(amount)}`);
    if (event.idempotency_key !== request.key) problems.push(`payment ${request.requestId}: idempotency key ${event.idempotency_key}`);
  }
  if (events.length !== payments.length) problems.push(`${events.length} payment events for ${payments.length} answered payments`);
  const expected = new Set(payments.map((request) => request.requestId));
  for (const event of events) {
    if (!expected.has(event.request_id)) problems.push(`payment event ${titleOf(event)} of ${event.request_id}, not an answered payment of the SDK's`);
  }
  return problems;
}

/**
 * `text` with hex digests (SHA-256 hashes, HMACs, certificate serials: 32 hex digits or more,
 * standing alone) replaced: a run of 13–19 decimal digits inside one is often Luhn-valid by
 * chance and is no card number. A card number is at most 19 digits, so none is hidden this way.
 */
export const withoutDigests = (text: string): string => text.replace(/(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])/g, '<digest>');

/**
 * No card number (Luhn + brand scan, on the XML as served and on the decoded contents), no full
 * test card number or gift card number, and no CVV or PIN as a value, in `texts`.
 */
export function checkNoCardData(texts: readonly string[], contents: readonly string[], secrets: readonly string[], shortSecrets: readonly string[]): string[] {
  const problems: string[] = [];
  for (const text of [...texts, ...contents]) {
    const pans = findPans(withoutDigests(text));
    if (pans.length > 0) problems.push(`a card number in a feed: ${pans.map((p) => `${p.slice(0, 6)}…${p.slice(-4)}`).join(', ')}`);
    for (const secret of secrets) if (text.includes(secret)) problems.push(`the test number ${secret.slice(0, 6)}… in a feed`);
  }
  for (const content of contents) {
    const values: string[] = [];
    JSON.parse(content, (_key, value: unknown) => (typeof value === 'string' && values.push(value), value));
    for (const secret of shortSecrets) if (values.includes(secret)) problems.push(`a CVV or PIN as a value in a feed`);
    if (/"(cvc|cvv|cvv2|pin|number|card_number)"\s*:/.test(content)) problems.push(`a card data field in a feed: ${content.slice(0, 80)}`);
  }
  return [...new Set(problems)];
}

/**
 * One page read again with a parser we did not write (fast-xml-parser): the same entries, ids,
 * titles and contents (base64 of the JSON, RFC 4287 §4.1.3.3) as src/feed/atom.ts read.
 */
export function checkWithOtherParser(xml: string, feed: string, entries: readonly FeedEntry[]): string[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, isArray: (name) => name === 'entry' });
  const document = parser.parse(xml) as { feed?: { id?: string; entry?: { id?: string; title?: { '#text'?: string } | string; content?: { '#text'?: string; '@type'?: string } }[] } };
  const problems: string[] = [];
  if (document.feed?.id !== `tag:paygate,2026:${feed}`) problems.push(`${feed}: feed id ${String(document.feed?.id)}`);
  const read = document.feed?.entry ?? [];
  if (read.length !== entries.length) problems.push(`${feed}: fast-xml-parser read ${read.length} entries, parseAtomFeed ${entries.length}`);
  read.forEach((entry, i) => {
    const ours = entries[i];
    if (ours === undefined) return;
    const title = typeof entry.title === 'object' ? entry.title['#text'] : entry.title;
    const content = Buffer.from(String(entry.content?.['#text'] ?? '').replace(/\s+/g, ''), 'base64').toString('utf8');
    if (entry.id !== `tag:paygate,2026:${feed}/${ours.id}`) problems.push(`${feed} entry ${i}: id ${entry.id}`);
    if (title !== ours.title) problems.push(`${feed} entry ${i}: title ${title} vs ${ours.title}`);
    if (entry.content?.['@type'] !== ours.contentType || content !== ours.content) problems.push(`${feed} entry ${i}: content differs between the parsers`);
  });
  return problems;
}

/**
 * What an events message the feed refused was about: it is encrypted to the feed's certificate,
 * whose key the test holds, so it is opened here to say which request it recorded and where
 * the feed's scan (src/wire findCardNumber) saw a card number.
 */
export function describeRefused(body: Buffer, feedIdentity: Identity, trust: TrustStore): string {
  try {
    const document = decodeYaml(open(body, { identity: feedIdentity, trust }).yaml) as EventsDocument;
    return document.events
      .map((event) => {
        const record = event.record as Partial<AuditRecord & PaymentEvent>;
        return `${event.kind} of ${record.request_id ?? record.correlation_id ?? '?'} (card number seen at ${findCardNumber(event.record, 'record') ?? 'nowhere'})`;
      })
      .join(', ');
  } catch (error) {
    return `unreadable (${(error as Error).message})`;
  }
}
