import * as z from 'zod';
import { maskPan } from '../wire/index.ts';
import type { ActionOutcome } from './contract.ts';

/**
 * The standard result vocabulary: the error codes every plugin maps its provider's
 * answers to (so a storefront switches on `CARD_DECLINED`, not on processor X's `05`), AVS and
 * CVV results, the `provider_code` every result keeps, and helpers that build outcomes which pass
 * `validateResult`. Statuses are the contract's `OutcomeStatus`; codes are written in the wire's
 * UPPER_SNAKE_CASE form (`^[A-Z][A-Z0-9_]*$`).
 */

/** The standard error codes of outcomes, in documentation order (docs/providers.md lists each). */
export const STANDARD_ERROR_CODES = [
  // Card declines: the provider (or the issuer behind it) said no; nothing was charged.
  'CARD_DECLINED', 'INSUFFICIENT_FUNDS', 'EXPIRED_CARD', 'INCORRECT_CVC', 'INVALID_NUMBER', 'INVALID_EXPIRY', 'INVALID_AMOUNT',
  'DO_NOT_HONOR', 'FRAUD_SUSPECTED', 'LIMIT_EXCEEDED', 'CARD_NOT_SUPPORTED', 'CURRENCY_NOT_SUPPORTED', 'AUTHENTICATION_REQUIRED',
  // Follow-up operations (capture, refund, void) on an earlier transaction.
  'INVALID_AUTHORIZATION', 'ALREADY_CAPTURED', 'ALREADY_VOIDED', 'ALREADY_REFUNDED', 'AMOUNT_EXCEEDS_AUTHORIZATION',
  'AMOUNT_EXCEEDS_CAPTURE', 'DUPLICATE_TRANSACTION',
  // Stored value (gift cards).
  'INSUFFICIENT_BALANCE', 'CARD_NOT_FOUND', 'CARD_INACTIVE',
  // The provider's side.
  'PROCESSING_ERROR', 'ISSUER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT', 'CONFIGURATION_ERROR',
] as const;

/** One of {@link STANDARD_ERROR_CODES}. */
export type StandardErrorCode = (typeof STANDARD_ERROR_CODES)[number];

/** What a standard code means and whether sending the same request again may help (its default `retryable`). */
export interface StandardCodeInfo {
  readonly retryable: boolean;
  readonly meaning: string;
}

/**
 * Every standard code with its default retry advice and a one-line meaning. `retryable` follows
 * the reply's rule: "sending the same request again may help". For `PROVIDER_TIMEOUT` that is
 * true only because the retry carries the same idempotency key (the worker reconciles; it is
 * never a blind resend).
 */
export const STANDARD_DECLINE_CODES: Readonly<Record<StandardErrorCode, StandardCodeInfo>> = Object.freeze({
  CARD_DECLINED: { retryable: false, meaning: 'the card was declined, no more specific reason given (also for lost or stolen cards)' },
  INSUFFICIENT_FUNDS: { retryable: false, meaning: 'the account behind the card lacks the funds or credit' },
  EXPIRED_CARD: { retryable: false, meaning: 'the card has expired' },
  INCORRECT_CVC: { retryable: false, meaning: 'the card security code is wrong' },
  INVALID_NUMBER: { retryable: false, meaning: 'the card number is not a valid or known card' },
  INVALID_EXPIRY: { retryable: false, meaning: 'the expiry date is wrong or not valid' },
  INVALID_AMOUNT: { retryable: false, meaning: 'the amount is not acceptable to the provider (zero, too large, wrong precision)' },
  DO_NOT_HONOR: { retryable: false, meaning: 'the issuer refused without a reason (ISO 8583 code 05)' },
  FRAUD_SUSPECTED: { retryable: false, meaning: 'the provider or issuer blocked the payment as likely fraud' },
  LIMIT_EXCEEDED: { retryable: false, meaning: 'a card or account limit (amount or number of uses) would be exceeded' },
  CARD_NOT_SUPPORTED: { retryable: false, meaning: 'the provider does not accept this kind of card for this payment' },
  CURRENCY_NOT_SUPPORTED: { retryable: false, meaning: 'the provider or the card does not support the currency' },
  AUTHENTICATION_REQUIRED: { retryable: false, meaning: 'the issuer requires customer authentication (3-D Secure) first' },
  INVALID_AUTHORIZATION: { retryable: false, meaning: 'the authorization or transaction referred to is unknown or has expired' },
  ALREADY_CAPTURED: { retryable: false, meaning: 'the authorization has already been captured' },
  ALREADY_VOIDED: { retryable: false, meaning: 'the transaction has already been voided' },
  ALREADY_REFUNDED: { retryable: false, meaning: 'the transaction has already been refunded in full' },
  AMOUNT_EXCEEDS_AUTHORIZATION: { retryable: false, meaning: 'the capture amount is more than what remains authorized' },
  AMOUNT_EXCEEDS_CAPTURE: { retryable: false, meaning: 'the refund amount is more than what remains captured' },
  DUPLICATE_TRANSACTION: { retryable: false, meaning: 'the provider refused the request as a duplicate of an earlier one' },
  INSUFFICIENT_BALANCE: { retryable: false, meaning: 'the stored-value (gift) card balance is too low' },
  CARD_NOT_FOUND: { retryable: false, meaning: 'the stored-value (gift) card does not exist' },
  CARD_INACTIVE: { retryable: false, meaning: 'the stored-value (gift) card is not activated, blocked or closed' },
  PROCESSING_ERROR: { retryable: true, meaning: 'the provider failed to process the request, or answered with a code the plugin does not know' },
  ISSUER_UNAVAILABLE: { retryable: true, meaning: 'the provider could not reach the card issuer; nothing was charged' },
  PROVIDER_UNAVAILABLE: { retryable: true, meaning: 'the provider answered that it cannot take requests now; nothing was charged' },
  PROVIDER_TIMEOUT: { retryable: true, meaning: 'no answer in time after sending (status unknown); retry only with the same idempotency key' },
  CONFIGURATION_ERROR: { retryable: false, meaning: "the provider refused the merchant's credentials, account or settings; an operator must fix them" },
} satisfies Record<StandardErrorCode, StandardCodeInfo>);

/** The standard codes as a zod schema. */
export const standardErrorCodeSchema = z.enum(STANDARD_ERROR_CODES);

/** Whether `code` is one of {@link STANDARD_ERROR_CODES}. */
export function isStandardErrorCode(code: unknown): code is StandardErrorCode {
  return typeof code === 'string' && Object.hasOwn(STANDARD_DECLINE_CODES, code);
}

/**
 * Address verification (AVS) results: `match` (street address and postcode), `address_only`
 * (street matches, postcode not), `postcode_only` (postcode matches, street not), `no_match`,
 * `unavailable` (the issuer could not check: system down, not supported for the card) and
 * `not_checked` (no address was sent, or the provider skipped the check).
 */
export const AVS_RESULTS = ['match', 'address_only', 'postcode_only', 'no_match', 'unavailable', 'not_checked'] as const;
/** One of {@link AVS_RESULTS}. */
export type AvsResult = (typeof AVS_RESULTS)[number];
/** {@link AVS_RESULTS} as a zod schema, for plugins' result schemas. */
export const avsResultSchema = z.enum(AVS_RESULTS);

/**
 * Card security code (CVV/CVC) results: `match`, `no_match`, `not_processed` (sent but not
 * checked) and `unavailable` (the issuer does not support the check, or none was sent).
 */
export const CVV_RESULTS = ['match', 'no_match', 'not_processed', 'unavailable'] as const;
/** One of {@link CVV_RESULTS}. */
export type CvvResult = (typeof CVV_RESULTS)[number];
/** {@link CVV_RESULTS} as a zod schema, for plugins' result schemas. */
export const cvvResultSchema = z.enum(CVV_RESULTS);

/** Longest provider code kept. */
const MAX_PROVIDER_CODE = 64;
/** The reply's limit on `error.message`. */
const MAX_MESSAGE = 1024;

/** The provider's own code as a result field: 1–64 characters, no control characters, never a card number. */
export const providerCodeSchema = z
  .string()
  .min(1, 'provider_code must not be empty')
  .max(MAX_PROVIDER_CODE, `provider_code is longer than ${MAX_PROVIDER_CODE} characters`)
  .regex(/^[^\p{Cc}]*$/u, 'provider_code must not contain control characters')
  .refine((code) => maskPan(code) === code, 'provider_code must not hold a card number');

/**
 * Fields every plugin's result schema should carry, to spread into it:
 * `z.strictObject({ ...providerResultFields, transaction_id: z.string() })`.
 * `provider_code` is the provider's raw answer code (kept as it came: `00`, `Success`, `10417`),
 * `avs` and `cvv` the verification results where the provider reports them.
 */
export const providerResultFields = Object.freeze({
  provider_code: providerCodeSchema,
  avs: avsResultSchema.optional(),
  cvv: cvvResultSchema.optional(),
});

/** Options of {@link declined} and {@link unknownOutcome}. */
export interface OutcomeOptions<R> {
  /** The provider's raw code (kept in the message, so it is never lost); `null` when the provider gave none. */
  readonly providerCode: string | number | null;
  /** Overrides the code's default retry advice ({@link STANDARD_DECLINE_CODES}). */
  readonly retryable?: boolean;
  /** A result, when the action's result schema has one for this case. */
  readonly result?: R;
}

/** An approved outcome with its result. */
export function approved<R>(result: R): { readonly status: 'approved'; readonly result: R } {
  return Object.freeze({ status: 'approved', result });
}

/**
 * A declined outcome: the provider said no (a decline is an outcome, never an exception). The
 * message gets the provider's raw code appended (`… (provider code 05)`) and is cut to the
 * reply's 1024 characters without losing that suffix.
 *
 * @throws TypeError when `code` is not a standard code (a plugin bug).
 */
export function declined<R = never>(code: StandardErrorCode, message: string, options: OutcomeOptions<R>): ActionOutcome<R> {
  return Object.freeze({ status: 'declined', error: outcomeError(code, message, options), ...resultOf(options) });
}

/**
 * An `unknown` outcome: the provider may or may not have acted (typically `PROVIDER_TIMEOUT`
 * after the request was sent); the worker reconciles it through the plugin's `status`.
 *
 * @throws TypeError when `code` is not a standard code (a plugin bug).
 */
export function unknownOutcome<R = never>(code: StandardErrorCode, message: string, options: OutcomeOptions<R>): ActionOutcome<R> {
  return Object.freeze({ status: 'unknown', error: outcomeError(code, message, options), ...resultOf(options) });
}

function resultOf<R>(options: OutcomeOptions<R>): { result?: R } {
  return options.result === undefined ? {} : { result: options.result };
}

function outcomeError(code: StandardErrorCode, message: string, options: OutcomeOptions<unknown>) {
  if (!isStandardErrorCode(code)) throw new TypeError('outcome error code must be one of STANDARD_ERROR_CODES');
  const retryable = options.retryable ?? STANDARD_DECLINE_CODES[code].retryable;
  return Object.freeze({ code, message: withProviderCode(message, options.providerCode), retryable });
}

/** The raw code as a single printable line of at most 64 characters. */
function printable(raw: string | number): string {
  const text = String(raw).replace(/\p{Cc}/gu, '?');
  return text.length > MAX_PROVIDER_CODE ? `${text.slice(0, MAX_PROVIDER_CODE - 1)}…` : text;
}

function withProviderCode(message: string, providerCode: string | number | null): string {
  const suffix = providerCode === null ? '' : ` (provider code ${printable(providerCode) || '(empty)'})`;
  const room = MAX_MESSAGE - suffix.length;
  const body = message.length > room ? `${message.slice(0, room - 1)}…` : message;
  return body + suffix;
}

/** A plugin's table from its provider's raw codes to standard codes, optionally with its own retry advice. */
export type ProviderCodeTable = Readonly<Record<string, StandardErrorCode | { readonly code: StandardErrorCode; readonly retryable: boolean }>>;

/** The result of {@link mapProviderCode}. */
export interface MappedProviderCode {
  /** The standard code (`PROCESSING_ERROR` when the raw code is not in the table). */
  readonly code: StandardErrorCode;
  /** The table's retry advice, else the standard code's default. */
  readonly retryable: boolean;
  /** The raw code, exactly as given (as a string). */
  readonly providerCode: string;
  /** Whether the table knew the raw code. */
  readonly mapped: boolean;
}

/**
 * Maps a provider's raw code to the standard set: the table entry for the code (looked up with
 * surrounding white space removed; own keys only), else `PROCESSING_ERROR`. The raw code is
 * always returned with it, so it is never lost; pass it on as `providerCode`:
 *
 * ```ts
 * const m = mapProviderCode(PAYPAL_CODES, answer.L_ERRORCODE0);
 * return declined(m.code, answer.L_SHORTMESSAGE0, { providerCode: m.providerCode, retryable: m.retryable });
 * ```
 *
 * @throws TypeError when the table maps the code to something that is not a standard code.
 */
export function mapProviderCode(table: ProviderCodeTable, rawCode: string | number): MappedProviderCode {
  const providerCode = String(rawCode);
  const key = providerCode.trim();
  const entry = Object.hasOwn(table, key) ? table[key] : undefined;
  if (entry === undefined) {
    return Object.freeze({ code: 'PROCESSING_ERROR', retryable: STANDARD_DECLINE_CODES.PROCESSING_ERROR.retryable, providerCode, mapped: false });
  }
  const code = typeof entry === 'string' ? entry : entry.code;
  if (!isStandardErrorCode(code)) throw new TypeError('provider code table maps a code to something not in STANDARD_ERROR_CODES');
  const retryable = typeof entry === 'string' ? STANDARD_DECLINE_CODES[code].retryable : entry.retryable;
  return Object.freeze({ code, retryable, providerCode, mapped: true });
}
