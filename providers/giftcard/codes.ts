import type { ProviderCodeTable } from '../../src/providers/index.ts';

/**
 * The provider's `<code>` values → the standard vocabulary (docs/providers.md, "Results"), one
 * line per documented code. A code not in the table becomes `PROCESSING_ERROR` (retryable), and
 * the raw code stays in the message (`(provider code …)`) and in `provider_code`.
 */
const table: ProviderCodeTable = {
  // Declines (HTTP 200, <result>declined</result>).
  insufficient_balance: 'INSUFFICIENT_BALANCE',
  // A gift card's PIN is its security code (scratch-off, like a CVC): the customer should re-enter it.
  invalid_pin: 'INCORRECT_CVC',
  card_blocked: 'CARD_INACTIVE',
  card_not_found: 'CARD_NOT_FOUND',
  currency_mismatch: 'CURRENCY_NOT_SUPPORTED',
  transaction_not_found: 'INVALID_AUTHORIZATION',
  already_voided: 'ALREADY_VOIDED',
  // `status` found nothing under the reference or id.
  not_found: 'INVALID_AUTHORIZATION',
  // Errors (<result>error</result>): nothing was processed.
  internal_error: { code: 'PROCESSING_ERROR', retryable: true },
  reference_conflict: 'DUPLICATE_TRANSACTION',
  invalid_request: { code: 'PROCESSING_ERROR', retryable: false },
  unauthorized: 'CONFIGURATION_ERROR',
};

/** {@link table}, frozen. */
export const GIFTCARD_CODE_TABLE: ProviderCodeTable = Object.freeze(table);

/** HTTP statuses whose XML body is still an answer (`invalid_request`, `unauthorized`, `reference_conflict`). */
export const ANSWER_STATUSES: readonly number[] = Object.freeze([400, 401, 409]);
