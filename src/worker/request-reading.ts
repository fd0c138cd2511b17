/**
 * Step c of the pipeline: from the opened YAML to a request document of this queue's provider.
 * A document that cannot be decoded at all is unanswerable (dead-lettered); one that decodes but
 * does not validate is answered `INVALID_REQUEST` when it has a usable `id` to answer, or
 * `CARD_DATA_IN_TEXT` when a card number sits in its `idempotency_key` (a key is stored for a
 * week and sent to the provider: a card number must never become one).
 */
import { PaygateError } from '../errors.ts';
import { decodeYaml, findCardNumber, nameSchema, parseRequestDocument, type RequestDocument } from '../wire/index.ts';
import { errorAnswer, type Answer, type RequestRef } from './reply.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What reading a request gave. */
export type ReadRequest =
  | { readonly kind: 'request'; readonly document: RequestDocument }
  /** Refused with an error reply to `request`. */
  | { readonly kind: 'refused'; readonly request: RequestRef; readonly answer: Answer }
  /** Nothing to answer: dead-letter with `reason`. */
  | { readonly kind: 'unreadable'; readonly reason: string };

/** Decodes and validates the YAML of a request that arrived on the queue of `provider`. */
export function readRequest(yaml: string, provider: string): ReadRequest {
  let raw: unknown;
  try {
    raw = decodeYaml(yaml);
  } catch (error) {
    return { kind: 'unreadable', reason: error instanceof PaygateError ? error.code : 'YAML_INVALID' };
  }
  let document: RequestDocument;
  try {
    document = parseRequestDocument(raw);
  } catch (error) {
    const id = field(raw, 'id');
    if (typeof id !== 'string' || !UUID.test(id)) {
      return { kind: 'unreadable', reason: error instanceof PaygateError ? error.code : 'SCHEMA_INVALID' };
    }
    const request = { id, provider, type: typeOf(raw) };
    const card = cardDataAnswer(field(raw, 'idempotency_key'), error);
    if (card !== undefined) return { kind: 'refused', request, answer: card };
    // The message lists zod paths and problems only (schemaInvalid), already masked.
    const message = error instanceof Error ? error.message : 'the request document does not match the schema';
    return { kind: 'refused', request, answer: errorAnswer('INVALID_REQUEST', message, false) };
  }
  const card = cardDataAnswer(document.idempotency_key, undefined);
  if (card !== undefined) return { kind: 'refused', request: { id: document.id, provider, type: document.type }, answer: card };
  if (document.provider !== provider) {
    const message = `the request names provider ${document.provider} but was sent to the queue of provider ${provider}`;
    return { kind: 'refused', request: { id: document.id, provider, type: document.type }, answer: errorAnswer('INVALID_REQUEST', message, false) };
  }
  return { kind: 'request', document };
}

/** `CARD_DATA_IN_TEXT` when the wire refused the document for it, or when `idempotencyKey` holds a card number. */
function cardDataAnswer(idempotencyKey: unknown, error: unknown): Answer | undefined {
  const refused = error instanceof PaygateError && error.code === 'CARD_DATA_IN_TEXT';
  if (!refused && findCardNumber(idempotencyKey) === undefined) return undefined;
  const text = 'a card number in idempotency_key: card numbers belong in card fields only; use a reference without one';
  return errorAnswer('CARD_DATA_IN_TEXT', refused ? (error as Error).message : text, false);
}

function field(raw: unknown, name: string): unknown {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>)[name] : undefined;
}

/** The raw document's `type` when it is a valid name; `unknown` otherwise (the reply must name one). */
function typeOf(raw: unknown): string {
  const type = field(raw, 'type');
  return nameSchema.safeParse(type).success ? (type as string) : 'unknown';
}
