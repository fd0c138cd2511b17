import type { ActionOutcome } from '../../src/providers/index.ts';
import { balance, exchange, status, type GiftcardContext } from './actions.ts';
import { movementResultOf, outcomeOf, voidResultOf } from './parsers.ts';
import type {
  BalancePayload, BalanceResult, MovementResult, RedeemPayload, ReloadPayload, StatusPayload, StatusResult, VoidPayload, VoidResult,
} from './schemas.ts';
import { statusByReferenceDocument } from './transformers.ts';

/**
 * Reconciliation (the contract's `status` hook): what became of an earlier call whose answer was
 * lost (a hang-up or timeout after sending, a broken answer, a worker that died mid-call).
 *
 * - `redeem`, `reload`, `void`: the provider's `status` by reference — the call's idempotency
 *   key, which every money-moving call sends as `<reference>`. A recorded movement of that type
 *   is the original call's `approved` outcome (with the card's balance *now*, which may differ
 *   from the balance right after it if the card moved since). Nothing recorded (`not_found`: the
 *   call never got there, failed with an error, or was declined — declines record no movement)
 *   is `null`.
 * - `balance` and the `status` action move nothing: they are asked again, and that answer is the
 *   outcome.
 */

/** Any giftcard action's outcome. */
export type GiftcardOutcome = ActionOutcome<BalanceResult | MovementResult | VoidResult | StatusResult>;

/** The inquiry the worker passes: the original request's type and parsed payload. */
export type GiftcardInquiry =
  | { readonly type: 'balance'; readonly payload: BalancePayload }
  | { readonly type: 'redeem'; readonly payload: RedeemPayload }
  | { readonly type: 'reload'; readonly payload: ReloadPayload }
  | { readonly type: 'void'; readonly payload: VoidPayload }
  | { readonly type: 'status'; readonly payload: StatusPayload };

/** The outcome of the earlier call, or `null` when the provider has no record of it. */
export async function reconcile(inquiry: GiftcardInquiry, context: GiftcardContext): Promise<GiftcardOutcome | null> {
  switch (inquiry.type) {
    case 'balance':
      return balance(inquiry.payload, context);
    case 'status':
      return status(inquiry.payload, context);
    default:
      return movementUnder(inquiry, context);
  }
}

/** The movement recorded under the call's idempotency key, as the original action's outcome. */
async function movementUnder(
  inquiry: Extract<GiftcardInquiry, { type: 'redeem' | 'reload' | 'void' }>,
  context: GiftcardContext,
): Promise<GiftcardOutcome | null> {
  const answer = await exchange(statusByReferenceDocument(context.idempotencyKey), context);
  // `not_found`: no movement under the key. Any other non-approved answer (an error) cannot tell either:
  // the worker then answers `unknown`, and a later retry with the same key asks again.
  if (answer.result !== 'approved') return null;
  // The provider refuses a reference reused by another type, so this is not our call.
  if (answer.type !== inquiry.type) return null;
  if (inquiry.type === 'void') return outcomeOf(answer, (a) => voidResultOf(a, inquiry.payload.transaction_id));
  return outcomeOf(answer, movementResultOf);
}
