import * as z from 'zod';
import {
  approved, declined, mapProviderCode, TransportError, type ActionOutcome, type XmlAnswer,
} from '../../src/providers/index.ts';
import type { Money } from '../../src/wire/index.ts';
import { GIFTCARD_CODE_TABLE } from './codes.ts';
import type { BalanceResult, MovementResult, StatusResult, VoidResult } from './schemas.ts';

/**
 * The provider's XML answer → an outcome. `<result>approved</result>` is `approved` with the
 * action's result; `declined` and `error` answers are `declined` outcomes with the standard code
 * from {@link GIFTCARD_CODE_TABLE} (the raw code kept). An answer that is XML but not the
 * documented `<response>` (a missing `<result>`, an approved answer without its fields) is a
 * `PROVIDER_BAD_RESPONSE` fault: the provider may have acted, so the worker reconciles.
 */

/** `<amount currency="EUR">1500</amount>` as fast-xml-parser reads it. */
const moneyElement = z
  .object({ '#text': z.string().regex(/^\d{1,15}$/), '@_currency': z.string().regex(/^[A-Z]{3}$/) })
  .transform((m): Money => ({ value: Number(m['#text']), currency: m['@_currency'] }));

const text = z.string().min(1).max(256);

/** The documented `<response>`; fields the plugin does not know are ignored. */
const answerSchema = z.object({
  response: z.object({
    result: z.enum(['approved', 'declined', 'error']),
    code: z.string().min(1).max(64),
    message: z.string().max(1024).optional(),
    transaction: text.optional(),
    reference: text.optional(),
    type: text.optional(),
    state: text.optional(),
    original: text.optional(),
    card: text.optional(),
    amount: moneyElement.optional(),
    balance: moneyElement.optional(),
  }),
});

/** A read answer. */
export type GiftcardAnswer = z.output<typeof answerSchema>['response'];

/** A fault for an answer that does not have the documented shape (paths only, never values). */
function badResponse(problem: string): TransportError {
  return new TransportError('PROVIDER_BAD_RESPONSE', `giftcard answer: ${problem}`);
}

/** Reads the `<response>` of a transport answer; throws `PROVIDER_BAD_RESPONSE` when it is not one. */
export function readAnswer(answer: XmlAnswer): GiftcardAnswer {
  const parsed = answerSchema.safeParse(answer.document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badResponse(`${issue?.path.map(String).join('.') || '(document)'}: not the documented <response> (${issue?.code ?? 'invalid'})`);
  }
  return parsed.data.response;
}

/** A field an approved answer must carry. */
function need<K extends keyof GiftcardAnswer>(answer: GiftcardAnswer, field: K): NonNullable<GiftcardAnswer[K]> {
  const value = answer[field];
  if (value === undefined || value === null) throw badResponse(`response.${String(field)}: missing in an approved answer`);
  return value as NonNullable<GiftcardAnswer[K]>;
}

/** The declined outcome of a `declined` or `error` answer: the standard code, the provider's message and raw code. */
export function declineOf(answer: GiftcardAnswer): ActionOutcome<never> {
  const mapped = mapProviderCode(GIFTCARD_CODE_TABLE, answer.code);
  const message = answer.message !== undefined && answer.message !== '' ? answer.message : `the gift card provider answered ${answer.result}`;
  return declined(mapped.code, message, { providerCode: mapped.providerCode, retryable: mapped.retryable });
}

/** `approved` with `build(answer)` for an approved answer, else {@link declineOf}. */
export function outcomeOf<R>(answer: GiftcardAnswer, build: (answer: GiftcardAnswer) => R): ActionOutcome<R> {
  return answer.result === 'approved' ? approved(build(answer)) : declineOf(answer);
}

/** `balance`: the balance. */
export function balanceResultOf(answer: GiftcardAnswer): BalanceResult {
  return { provider_code: answer.code, balance: need(answer, 'balance') };
}

/** `redeem` / `reload` (and their reconciliation): the movement. */
export function movementResultOf(answer: GiftcardAnswer): MovementResult {
  return { provider_code: answer.code, transaction_id: need(answer, 'transaction'), amount: need(answer, 'amount'), balance: need(answer, 'balance') };
}

/** `void`: the void's own id and the transaction it undid. */
export function voidResultOf(answer: GiftcardAnswer, voided: string): VoidResult {
  return { ...movementResultOf(answer), voided_transaction_id: answer.original ?? voided };
}

/** `status`: the recorded transaction. */
export function statusResultOf(answer: GiftcardAnswer): StatusResult {
  const type = need(answer, 'type');
  const state = need(answer, 'state');
  if (type !== 'redeem' && type !== 'reload' && type !== 'void') throw badResponse('response.type: not redeem, reload or void');
  if (state !== 'completed' && state !== 'voided') throw badResponse('response.state: not completed or voided');
  return {
    ...movementResultOf(answer),
    type,
    state,
    ...(answer.reference === undefined ? {} : { reference: answer.reference }),
    ...(answer.original === undefined ? {} : { voided_transaction_id: answer.original }),
    ...(answer.card === undefined ? {} : { card: answer.card }),
  };
}
