import { timingSafeEqual } from 'node:crypto';
import type { GiftcardBook } from './book.ts';
import { GIFTCARD_CODES, type GiftcardCode } from './codes.ts';
import { maskCard } from './mask.ts';
import { OPERATIONS, type OperationAnswer } from './operations.ts';
import { checkRequest, type GiftcardRequest } from './request.ts';
import { readRequestXml, writeResponseXml, XmlRefused } from './xml.ts';

/**
 * One call from raw body and API key to the XML answer: `X-Api-Key` (401 `unauthorized`), the
 * XML and schema checks (400 `invalid_request`), the reference replay of the money-moving types,
 * then the operation.
 *
 * `<reference>` on `redeem`, `reload` and `void` is the caller's idempotency key: it binds the
 * first approved or declined answer, and a repeat of the same type gets that answer again, byte
 * for byte, moving nothing; a repeat with another type is refused (`reference_conflict`). Errors
 * bind nothing. On `status`, `<reference>` is what to look up.
 */

/** What a call produced. */
export interface GiftcardOutcome {
  readonly status: number;
  readonly body: string;
  /** The request type, or `(invalid)`. */
  readonly type: string;
  /** A log summary without card number, PIN or key. */
  readonly summary: string;
}

const MONEY_TYPES = new Set(['redeem', 'reload', 'void']);

interface Remembered {
  readonly type: string;
  readonly outcome: GiftcardOutcome;
}

function sameKey(sent: string | undefined, expected: string): boolean {
  const left = Buffer.from(sent ?? '');
  const right = Buffer.from(expected);
  return left.length === right.length && timingSafeEqual(left, right);
}

function describe(request: GiftcardRequest): string {
  const parts = [`type=${request.type}`];
  if (request.card !== undefined) parts.push(`card=${maskCard(request.card)}`);
  if (request.amount) parts.push(`amount=${request.amount.minor} ${request.amount.currency}`);
  if (request.reference !== undefined) parts.push(`reference=${JSON.stringify(request.reference)}`);
  if (request.transaction !== undefined) parts.push(`transaction=${request.transaction}`);
  return parts.join(' ');
}

/** The answer document and status of `answer`. */
function render(answer: OperationAnswer, type: string, sent: string): GiftcardOutcome {
  const info = GIFTCARD_CODES[answer.code];
  const body = writeResponseXml({ result: info.result, code: answer.code, message: answer.message ?? info.message, ...answer.fields });
  const transaction = answer.fields?.transaction;
  const made = typeof transaction === 'string' ? ` ${transaction}` : '';
  return { status: info.httpStatus, body, type, summary: `${sent} → ${info.result} ${answer.code}${made}` };
}

/** The sandbox's API: its book, its reference memory and the accepted key. */
export class GiftcardApi {
  readonly #remembered = new Map<string, Remembered>();

  constructor(readonly book: GiftcardBook, readonly apiKey: string) {}

  /** Answers one call. */
  call(body: string, apiKey: string | undefined): GiftcardOutcome {
    const refuse = (code: GiftcardCode, message?: string): GiftcardOutcome =>
      render({ code, ...(message === undefined ? {} : { message }) }, '(invalid)', '(refused)');
    if (!sameKey(apiKey, this.apiKey)) return refuse('unauthorized');
    let content: unknown;
    try {
      content = readRequestXml(body);
    } catch (error) {
      if (error instanceof XmlRefused) return refuse('invalid_request', error.message);
      return refuse('invalid_request', 'the body could not be parsed');
    }
    const request = checkRequest(content);
    if (typeof request === 'string') return refuse('invalid_request', request);
    const sent = describe(request);
    const key = MONEY_TYPES.has(request.type) ? request.reference : undefined;
    const earlier = key === undefined ? undefined : this.#remembered.get(key);
    if (earlier) {
      if (earlier.type !== request.type) return render({ code: 'reference_conflict' }, request.type, sent);
      return { ...earlier.outcome, summary: `${sent} → replayed for reference` };
    }
    const answer = OPERATIONS[request.type](request, this.book);
    const outcome = render(answer, request.type, sent);
    if (key !== undefined && GIFTCARD_CODES[answer.code].result !== 'error') this.#remembered.set(key, { type: request.type, outcome });
    return outcome;
  }

  /** Forgets every reference (the book is cleared by its owner). */
  reset(): void {
    this.#remembered.clear();
  }
}
