/**
 * CardGate's answers → outcomes. A `TransactionResult` (Authorize, Sale, Capture, Refund, Void)
 * is read with a zod schema (soap hands every value over as a string); `ResponseCode` `00` is
 * approved, any other code a decline mapped with the operation's table (codes.ts), the raw code
 * kept in `provider_code` and in the message. An answer the plugin cannot read (a result that
 * does not fit the schema, an approval without its transaction id) is thrown as
 * `PROVIDER_BAD_RESPONSE` (`notSent: false`): the money may have moved, so the worker reconciles
 * through `status`.
 */
import * as z from 'zod';
import {
  approved, declined, mapProviderCode, TransportError, type ActionOutcome, type ProviderCodeTable,
} from '../../src/providers/index.ts';
import type { Money } from '../../src/wire/index.ts';
import { APPROVED, avsOf, cvvOf } from './codes.ts';
import type { CaptureResult, PaymentResult, RefundResult, VoidResult } from './schemas.ts';

/** A SOAP integer as soap hands it over: digits as a string (or a number). */
const integer = z.union([z.number().int(), z.string().regex(/^-?\d{1,16}$/).transform(Number)]);
const text = (max: number) => z.string().max(max);

/** The WSDL's TransactionResult, as the transport returns it (unknown extra keys, e.g. `attributes`, ignored). */
export const transactionAnswerSchema = z.object({
  ResponseCode: z.string().regex(/^[0-9A-Za-z]{1,8}$/),
  ResponseText: text(1024).optional(),
  TransactionId: z.string().regex(/^[\x21-\x7e]{1,64}$/).optional(),
  AuthCode: z.string().regex(/^[\x21-\x7e]{1,64}$/).optional(),
  AvsResult: text(8).optional(),
  CvvResult: text(8).optional(),
  Amount: integer.optional(),
  Currency: z.string().regex(/^[A-Z]{3}$/).optional(),
});

/** A parsed TransactionResult. */
export type TransactionAnswer = z.output<typeof transactionAnswerSchema>;

/** A "cannot read this answer" error; names paths, never values. */
export function badAnswer(host: string, operation: string, problem: string): TransportError {
  return new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} answered ${operation} with ${problem}`);
}

/** Reads a TransactionResult. @throws TransportError `PROVIDER_BAD_RESPONSE` naming the fields that do not fit. */
export function readTransaction(host: string, operation: string, result: unknown): TransactionAnswer {
  const parsed = transactionAnswerSchema.safeParse(result);
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(answer)'))].join(', ');
  throw badAnswer(host, operation, `a result the plugin cannot read (${fields})`);
}

/** Approved with `result`, or declined with the mapped code (and `result`, when there is one). */
function settle<R>(operation: string, answer: TransactionAnswer, table: ProviderCodeTable, result: R | undefined, host: string): ActionOutcome<R> {
  if (answer.ResponseCode === APPROVED) {
    if (result === undefined) throw badAnswer(host, operation, 'an approval without its transaction id, amount or currency');
    return approved(result);
  }
  const mapped = mapProviderCode(table, answer.ResponseCode);
  const reason = answer.ResponseText?.trim() || 'no reason given';
  return declined(mapped.code, `CardGate declined the ${operation}: ${reason}`, {
    providerCode: mapped.providerCode,
    retryable: mapped.retryable,
    ...(result === undefined ? {} : { result }),
  });
}

/** The answer's amount, or `undefined` when it has none. */
function moneyOf(answer: TransactionAnswer, fallbackCurrency?: string): Money | undefined {
  const currency = answer.Currency ?? fallbackCurrency;
  return answer.Amount === undefined || currency === undefined ? undefined : { value: answer.Amount, currency };
}

/** The fields every result carries. */
function common(answer: TransactionAnswer) {
  return { provider_code: answer.ResponseCode };
}

/** Authorize / Sale: declines are recorded by CardGate, so they carry a result (transaction id, AVS, CVV) too. */
export function paymentOutcome(
  operation: 'Authorize' | 'Sale', answer: TransactionAnswer, requested: Money, table: ProviderCodeTable, host: string,
): ActionOutcome<PaymentResult> {
  const avs = avsOf(answer.AvsResult);
  const cvv = cvvOf(answer.CvvResult);
  const result: PaymentResult | undefined = answer.TransactionId === undefined ? undefined : {
    ...common(answer),
    ...(avs === undefined ? {} : { avs }),
    ...(cvv === undefined ? {} : { cvv }),
    transaction_id: answer.TransactionId,
    amount: moneyOf(answer, requested.currency) ?? requested,
    ...(answer.AuthCode === undefined ? {} : { auth_code: answer.AuthCode }),
  };
  return settle(operation, answer, table, result, host);
}

/** Capture of `authorizationId`. */
export function captureOutcome(answer: TransactionAnswer, authorizationId: string, table: ProviderCodeTable, host: string): ActionOutcome<CaptureResult> {
  const amount = moneyOf(answer);
  const result = answer.TransactionId === undefined || amount === undefined ? undefined
    : { ...common(answer), transaction_id: answer.TransactionId, authorization_id: authorizationId, amount };
  return settle('Capture', answer, table, result, host);
}

/** Refund of `refundedId`. */
export function refundOutcome(answer: TransactionAnswer, refundedId: string, table: ProviderCodeTable, host: string): ActionOutcome<RefundResult> {
  const amount = moneyOf(answer);
  const result = answer.TransactionId === undefined || amount === undefined ? undefined
    : { ...common(answer), transaction_id: answer.TransactionId, refunded_id: refundedId, amount };
  return settle('Refund', answer, table, result, host);
}

/** Void of `voidedId`. */
export function voidOutcome(answer: TransactionAnswer, voidedId: string, table: ProviderCodeTable, host: string): ActionOutcome<VoidResult> {
  const amount = moneyOf(answer);
  const result = answer.TransactionId === undefined || amount === undefined ? undefined
    : { ...common(answer), transaction_id: answer.TransactionId, voided_id: voidedId, amount };
  return settle('Void', answer, table, result, host);
}
