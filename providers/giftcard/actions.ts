import type { ActionContext, ActionOutcome, XmlDocument } from '../../src/providers/index.ts';
import { balanceResultOf, movementResultOf, outcomeOf, readAnswer, statusResultOf, voidResultOf, type GiftcardAnswer } from './parsers.ts';
import { API_PATH, type GiftcardResources } from './resources.ts';
import {
  balanceRequest, balanceResult, movementResult, redeemRequest, reloadRequest, statusRequest, statusResult, voidRequest, voidResult,
  type BalancePayload, type BalanceResult, type MovementResult, type RedeemPayload, type ReloadPayload, type StatusPayload,
  type StatusResult, type VoidPayload, type VoidResult,
} from './schemas.ts';
import { balanceDocument, redeemDocument, reloadDocument, statusDocument, voidDocument } from './transformers.ts';

/**
 * The action table: `balance`, `redeem`, `reload`, `void`, `status`. Each handler builds the
 * request (`transformers.ts`), posts it with `context.signal`, and reads the answer into an
 * outcome (`parsers.ts`). Declines are outcomes; transport faults are thrown as they come (the
 * worker frees the key for `notSent`, and reconciles through `status.ts` otherwise).
 */

/** A handler's context, with the plugin's resources. */
export type GiftcardContext = ActionContext<GiftcardResources>;

/** Posts `document` to the provider and reads its `<response>`. */
export async function exchange(document: XmlDocument, context: GiftcardContext): Promise<GiftcardAnswer> {
  const answer = await context.resources.xml.post(API_PATH, document, { signal: context.signal });
  return readAnswer(answer);
}

/** `balance`: read-only, moves nothing. */
export async function balance(payload: BalancePayload, context: GiftcardContext): Promise<ActionOutcome<BalanceResult>> {
  return outcomeOf(await exchange(balanceDocument(payload, context.idempotencyKey), context), balanceResultOf);
}

/** `redeem`: takes the amount off the card; the idempotency key is the provider's reference. */
export async function redeem(payload: RedeemPayload, context: GiftcardContext): Promise<ActionOutcome<MovementResult>> {
  return outcomeOf(await exchange(redeemDocument(payload, context.idempotencyKey), context), movementResultOf);
}

/** `reload`: puts the amount on the card. */
export async function reload(payload: ReloadPayload, context: GiftcardContext): Promise<ActionOutcome<MovementResult>> {
  return outcomeOf(await exchange(reloadDocument(payload, context.idempotencyKey), context), movementResultOf);
}

/** `void`: undoes a redeem (money back) or a reload (money off). */
export async function voidTransaction(payload: VoidPayload, context: GiftcardContext): Promise<ActionOutcome<VoidResult>> {
  const answer = await exchange(voidDocument(payload, context.idempotencyKey), context);
  return outcomeOf(answer, (a) => voidResultOf(a, payload.transaction_id));
}

/** `status` (the caller's action): a transaction by reference or id; read-only. */
export async function status(payload: StatusPayload, context: GiftcardContext): Promise<ActionOutcome<StatusResult>> {
  return outcomeOf(await exchange(statusDocument(payload), context), statusResultOf);
}

/** The table given to `defineProvider`. */
export const giftcardActions = {
  balance: { request: balanceRequest, result: balanceResult, handler: balance },
  redeem: { request: redeemRequest, result: movementResult, handler: redeem },
  reload: { request: reloadRequest, result: movementResult, handler: reload },
  void: { request: voidRequest, result: voidResult, handler: voidTransaction },
  status: { request: statusRequest, result: statusResult, handler: status },
};
