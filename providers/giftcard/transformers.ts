import type { XmlDocument } from '../../src/providers/index.ts';
import type { Money } from '../../src/wire/index.ts';
import type { BalancePayload, RedeemPayload, ReloadPayload, StatusPayload, VoidPayload } from './schemas.ts';
import { clearValue } from './secrets.ts';

/**
 * Payload → the provider's `<request>` document (xmlbuilder2's object form). This is the only
 * module that reads the card number and PIN in clear ({@link clearValue}); what it builds goes
 * straight to the transport, whose transcripts pass through the plugin's `scrub`.
 *
 * `reference` is the request's idempotency key on every call that moves money (and on balance,
 * for correlation): the provider binds the first answer to it, so a resend with the same key
 * moves nothing and gets the same transaction back.
 */

/** `<amount currency="EUR">1500</amount>`: minor units, as the provider counts them. */
function amountElement(amount: Money): Record<string, string> {
  return { '@currency': amount.currency, '#': String(amount.value) };
}

/** `balance`: card and PIN. */
export function balanceDocument(payload: BalancePayload, reference: string): XmlDocument {
  return { request: { type: 'balance', card: clearValue(payload.card_number), pin: clearValue(payload.pin), reference } };
}

/** `redeem`: card, PIN, amount and the reference. */
export function redeemDocument(payload: RedeemPayload, reference: string): XmlDocument {
  return {
    request: {
      type: 'redeem',
      card: clearValue(payload.card_number),
      pin: clearValue(payload.pin),
      amount: amountElement(payload.amount),
      reference,
    },
  };
}

/** `reload`: card, the PIN when given, amount and the reference. */
export function reloadDocument(payload: ReloadPayload, reference: string): XmlDocument {
  return {
    request: {
      type: 'reload',
      card: clearValue(payload.card_number),
      ...(payload.pin === undefined ? {} : { pin: clearValue(payload.pin) }),
      amount: amountElement(payload.amount),
      reference,
    },
  };
}

/** `void`: the transaction to undo and the reference. */
export function voidDocument(payload: VoidPayload, reference: string): XmlDocument {
  return { request: { type: 'void', transaction: payload.transaction_id, reference } };
}

/** `status` action: the caller's lookup, by reference or by transaction id. */
export function statusDocument(payload: StatusPayload): XmlDocument {
  return {
    request: payload.reference !== undefined
      ? { type: 'status', reference: payload.reference }
      : { type: 'status', transaction: payload.transaction_id },
  };
}

/** Reconciliation: what was recorded under `reference` (an earlier call's idempotency key). */
export function statusByReferenceDocument(reference: string): XmlDocument {
  return { request: { type: 'status', reference } };
}
