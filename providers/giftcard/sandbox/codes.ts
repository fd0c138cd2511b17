/**
 * The answer codes: `<result>` says approved / declined / error, `<code>` says why, `<message>`
 * says it in English. Errors marked retryable may succeed when sent again; declines never
 * change on a resend of the same request.
 */

/** `<result>` values. */
export type GiftcardResult = 'approved' | 'declined' | 'error';

/** One code: its result, HTTP status, message and retry advice. */
export interface GiftcardCodeInfo {
  readonly result: GiftcardResult;
  readonly httpStatus: number;
  readonly message: string;
  readonly retryable: boolean;
}

function code(result: GiftcardResult, message: string, httpStatus = 200, retryable = false): GiftcardCodeInfo {
  return Object.freeze({ result, httpStatus, message, retryable });
}

/** Every code the sandbox answers with. */
export const GIFTCARD_CODES = Object.freeze({
  ok: code('approved', 'Approved'),
  insufficient_balance: code('declined', 'The card balance is too low for this amount'),
  invalid_pin: code('declined', 'The PIN is not correct'),
  card_blocked: code('declined', 'The card is blocked'),
  card_not_found: code('declined', 'No such card'),
  currency_mismatch: code('declined', 'The amount is not in the card\'s currency'),
  transaction_not_found: code('declined', 'No such transaction'),
  already_voided: code('declined', 'The transaction is already voided'),
  not_found: code('declined', 'No transaction was recorded under this reference or id'),
  internal_error: code('error', 'Internal error, please retry', 200, true),
  reference_conflict: code('error', 'The reference was already used by a request of another type', 409),
  invalid_request: code('error', 'The request is not valid', 400),
  unauthorized: code('error', 'Missing or wrong X-Api-Key', 401),
});

/** A code of {@link GIFTCARD_CODES}. */
export type GiftcardCode = keyof typeof GIFTCARD_CODES;
