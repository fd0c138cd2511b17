/**
 * Step c of the pipeline: from the opened YAML to a request document of this queue's provider.
 * A document that cannot be decoded at all is unanswerable (dead-lettered); one that decodes but
 * does not validate is answered `INVALID_REQUEST` when it has a usable `id` to answer, or with
 * the wire's `CARD_DATA_IN_TEXT` when a card number sits in one of its text fields (an
 * idempotency key is stored for a week and sent to the provider: a card number must never
 * become one). Either way nothing is stored.
 */
import { PaygateError } from '../errors.ts';
import { decodeYaml, nameSchema, parseRequestDocument, type RequestDocument } from '../wire/index.ts';
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
    // The messages name fields, paths and problems only (never values), already masked.
    const message = error instanceof Error ? error.message : 'the request document does not match the schema';
    const code = error instanceof PaygateError && error.code === 'CARD_DATA_IN_TEXT' ? error.code : 'INVALID_REQUEST';
    return { kind: 'refused', request: { id, provider, type: typeOf(raw) }, answer: errorAnswer(code, message, false) };
  }
  if (document.provider !== provider) {
    const message = `the request names provider ${document.provider} but was sent to the queue of provider ${provider}`;
    return { kind: 'refused', request: { id: document.id, provider, type: document.type }, answer: errorAnswer('INVALID_REQUEST', message, false) };
  }
  return { kind: 'request', document };
}

function field(raw: unknown, name: string): unknown {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>)[name] : undefined;
}

/** The raw document's `type` when it is a valid name; `unknown` otherwise (the reply must name one). */
function typeOf(raw: unknown): string {
  const type = field(raw, 'type');
  return nameSchema.safeParse(type).success ? (type as string) : 'unknown';
}
