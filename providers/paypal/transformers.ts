// The one place the plugin reads card data in clear: `revealSecret` is the wire's door for provider
// transformers (test/architecture.test.ts keeps it out of everything else). README "Card data".
import { revealSecret, type Card, type Money } from '../../src/wire/index.ts';
import { toAmt } from './amounts.ts';
import { msgSubIdFor } from './msgsubid.ts';

/**
 * Payloads → NVP request fields (the ActiveMerchant "post data" step). Every function returns
 * the method's own fields; {@link withCredentials} adds USER, PWD, SIGNATURE and VERSION. Card
 * data is revealed here and only here, straight into the form that the transport sends (and that
 * the plugin's `scrub` masks in transcripts).
 */

/** The NVP API version sent with every call. */
export const NVP_VERSION = '204.0';

/** The API credentials (the plugin's `config`). */
export interface PaypalCredentials {
  readonly user: string;
  readonly pwd: string;
  readonly signature: string;
}

/** NVP request fields. */
export type NvpFields = Record<string, string>;

/** `fields` with the credentials and the API version. */
export function withCredentials(fields: NvpFields, credentials: PaypalCredentials): NvpFields {
  return { ...fields, USER: credentials.user, PWD: credentials.pwd, SIGNATURE: credentials.signature, VERSION: NVP_VERSION };
}

/** AMT and CURRENCYCODE of an amount. */
function money(amount: Money): NvpFields {
  return { AMT: toAmt(amount), CURRENCYCODE: amount.currency };
}

/** ACCT, EXPDATE (MMYYYY) and CVV2 (when given) of a card. */
function cardFields(card: Card): NvpFields {
  const expiry = `${String(card.exp_month).padStart(2, '0')}${card.exp_year}`;
  return {
    ACCT: revealSecret(card.number),
    EXPDATE: expiry,
    ...(card.cvc === undefined ? {} : { CVV2: revealSecret(card.cvc) }),
  };
}

/** `DoDirectPayment` for `sale` (PAYMENTACTION=Sale) or `authorize` (Authorization). */
export function directPaymentFields(
  action: 'Sale' | 'Authorization',
  payload: { readonly amount: Money; readonly card: Card; readonly invoice?: string | undefined },
  idempotencyKey: string,
): NvpFields {
  return {
    METHOD: 'DoDirectPayment',
    PAYMENTACTION: action,
    ...cardFields(payload.card),
    ...money(payload.amount),
    ...(payload.invoice === undefined ? {} : { INVNUM: payload.invoice }),
    MSGSUBID: msgSubIdFor(idempotencyKey),
  };
}

/** `DoCapture`: COMPLETETYPE Complete when `final`, else NotComplete. */
export function captureFields(
  payload: { readonly authorization_id: string; readonly amount: Money; readonly final: boolean; readonly invoice?: string | undefined },
  idempotencyKey: string,
): NvpFields {
  return {
    METHOD: 'DoCapture',
    AUTHORIZATIONID: payload.authorization_id,
    ...money(payload.amount),
    COMPLETETYPE: payload.final ? 'Complete' : 'NotComplete',
    ...(payload.invoice === undefined ? {} : { INVNUM: payload.invoice }),
    MSGSUBID: msgSubIdFor(idempotencyKey),
  };
}

/** `RefundTransaction`: REFUNDTYPE Full without an amount, Partial with one. */
export function refundFields(payload: { readonly transaction_id: string; readonly amount?: Money | undefined }, idempotencyKey: string): NvpFields {
  return {
    METHOD: 'RefundTransaction',
    TRANSACTIONID: payload.transaction_id,
    ...(payload.amount === undefined ? { REFUNDTYPE: 'Full' } : { REFUNDTYPE: 'Partial', ...money(payload.amount) }),
    MSGSUBID: msgSubIdFor(idempotencyKey),
  };
}

/** `DoVoid`. */
export function voidFields(payload: { readonly authorization_id: string }, idempotencyKey: string): NvpFields {
  return { METHOD: 'DoVoid', AUTHORIZATIONID: payload.authorization_id, MSGSUBID: msgSubIdFor(idempotencyKey) };
}

/** `GetTransactionDetails` (read-only: no MSGSUBID). */
export function detailsFields(transactionId: string): NvpFields {
  return { METHOD: 'GetTransactionDetails', TRANSACTIONID: transactionId };
}

/** `TransactionSearch` by MSGSUBID (read-only): what a request with this idempotency key moved. */
export function searchFields(idempotencyKey: string): NvpFields {
  return { METHOD: 'TransactionSearch', MSGSUBID: msgSubIdFor(idempotencyKey) };
}
