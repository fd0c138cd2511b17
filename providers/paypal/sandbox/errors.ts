/**
 * The PayPal classic-API error codes the sandbox answers with, with PayPal's short and long
 * messages. A failure is `ACK=Failure` plus `L_ERRORCODE0`, `L_SHORTMESSAGE0`,
 * `L_LONGMESSAGE0` and `L_SEVERITYCODE0=Error`.
 *
 * `remembered: false` marks the answers that do not bind a MSGSUBID (see `replay.ts`): the
 * retryable internal error and the refusals that happen before the request is looked at
 * (security, unknown method, a MSGSUBID reused by another method).
 */

/** One error code's texts. */
export interface PaypalErrorInfo {
  readonly short: string;
  readonly long: string;
  /** Whether sending the same request again may succeed (only the internal error). */
  readonly retryable: boolean;
  /** Whether a MSGSUBID is bound to this answer, so a repeat gets it again. */
  readonly remembered: boolean;
}

const INVALID_ARGUMENT = 'Transaction refused because of an invalid argument. See additional error messages for details.';

function info(short: string, long: string, flags: Partial<Pick<PaypalErrorInfo, 'retryable' | 'remembered'>> = {}): PaypalErrorInfo {
  return Object.freeze({ short, long, retryable: flags.retryable ?? false, remembered: flags.remembered ?? true });
}

/** Every code the sandbox uses, by number. */
export const PAYPAL_ERRORS = Object.freeze({
  10001: info('Internal Error', 'Internal Error', { retryable: true, remembered: false }),
  10002: info('Security error', 'Security header is not valid', { remembered: false }),
  10004: info(INVALID_ARGUMENT, 'Transaction refused because of an invalid argument.'),
  10009: info('Transaction refused', 'You can not refund this type of transaction'),
  10401: info(INVALID_ARGUMENT, 'Order total is invalid.'),
  10417: info('Transaction cannot complete.', 'The transaction cannot complete successfully. Instruct the customer to use an alternative payment method.'),
  10502: info('Invalid Data', 'This transaction cannot be processed. Please use a valid credit card.'),
  10508: info('Invalid Data', 'This transaction cannot be processed. Please enter a valid credit card expiration date.'),
  10600: info('Authorization voided.', 'Authorization is voided.'),
  10601: info('Authorization expired.', 'Authorization has expired.'),
  10602: info('Authorization completed.', 'Authorization has already been completed.'),
  10605: info('Currency is not supported', 'Currency is not supported.'),
  10609: info('Transaction id is invalid.', 'Transaction id is invalid.'),
  10610: info('Amount limit exceeded.', 'Amount specified exceeds allowable limit.'),
  10748: info('Invalid Data', 'This transaction cannot be processed without a Credit Card Verification number.'),
  10759: info('Gateway Decline', 'This transaction cannot be processed. Please enter a valid credit card number and type.'),
  15004: info('Gateway Decline', 'This transaction cannot be processed. Please enter a valid Credit Card Verification Number.'),
  15005: info('Processor Decline', 'This transaction cannot be processed.'),
  81002: info('Unspecified Method', 'Method Specified is not Supported', { remembered: false }),
});

/** A code of {@link PAYPAL_ERRORS}. */
export type PaypalErrorCode = keyof typeof PAYPAL_ERRORS;

/** A failed answer before the envelope: the code, an optional more specific long message, extra fields. */
export interface PaypalFailure {
  readonly ok: false;
  readonly code: PaypalErrorCode;
  readonly long?: string;
  /** Fields PayPal sends along with the error (AMT, AVSCODE, CVV2MATCH on a card decline). */
  readonly fields?: Readonly<Record<string, string>>;
}

/** A failure with `code`, optionally a more specific long message and extra fields. */
export function failure(code: PaypalErrorCode, long?: string, fields?: Record<string, string>): PaypalFailure {
  return { ok: false, code, ...(long === undefined ? {} : { long }), ...(fields === undefined ? {} : { fields }) };
}

/** The `L_…0` fields of `failure`. */
export function errorFields(answer: PaypalFailure): Record<string, string> {
  const texts = PAYPAL_ERRORS[answer.code];
  return {
    L_ERRORCODE0: String(answer.code),
    L_SHORTMESSAGE0: texts.short,
    L_LONGMESSAGE0: answer.long ?? texts.long,
    L_SEVERITYCODE0: 'Error',
  };
}
