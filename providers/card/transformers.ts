/**
 * Payloads → CardGate's SOAP arguments (the input messages of card.wsdl, in their sequence order).
 * The one place where card data is revealed: the clear PAN and CVV exist only inside the
 * arguments handed to the transport, whose transcripts the plugin's `scrub` masks.
 *
 * `revealSecret` is the wire layer's door for provider transformers; test/architecture.test.ts
 * keeps it out of every other module.
 */
import { revealSecret } from '../../src/wire/index.ts';
import type { CardContext } from './resources.ts';
import type { CaptureRequest, PaymentRequest, RefundRequest, VoidRequest } from './schemas.ts';

/** AuthorizeRequest / SaleRequest. */
export interface PaymentArgs {
  readonly MerchantRef: string;
  readonly Amount: number;
  readonly Currency: string;
  readonly Card: { readonly Number: string; readonly ExpMonth: number; readonly ExpYear: number; readonly Cvv?: string };
}

/** CaptureRequest / RefundRequest / VoidRequest (Void never has an Amount). */
export interface FollowUpArgs {
  readonly MerchantRef: string;
  readonly TransactionId: string;
  readonly Amount?: number;
}

/** Authorize and Sale: the request's idempotency key is CardGate's `MerchantRef` (its idempotency key). */
export function paymentArgs(payload: PaymentRequest, context: CardContext): PaymentArgs {
  const { card } = payload;
  return {
    MerchantRef: context.idempotencyKey,
    Amount: payload.amount.value,
    Currency: payload.amount.currency,
    Card: {
      Number: revealSecret(card.number),
      ExpMonth: card.exp_month,
      ExpYear: card.exp_year,
      ...(card.cvc === undefined ? {} : { Cvv: revealSecret(card.cvc) }),
    },
  };
}

/** Capture (no amount: the whole authorization). */
export function captureArgs(payload: CaptureRequest, context: CardContext): FollowUpArgs {
  return followUp(context, payload.authorization_id, payload.amount?.value);
}

/** Refund (no amount: what remains captured). */
export function refundArgs(payload: RefundRequest, context: CardContext): FollowUpArgs {
  return followUp(context, payload.transaction_id, payload.amount?.value);
}

/** Void. */
export function voidArgs(payload: VoidRequest, context: CardContext): FollowUpArgs {
  return followUp(context, payload.transaction_id, undefined);
}

/** StatusRequest for a MerchantRef. */
export function statusArgs(merchantRef: string): { readonly MerchantRef: string } {
  return { MerchantRef: merchantRef };
}

function followUp(context: CardContext, transactionId: string, amount: number | undefined): FollowUpArgs {
  return { MerchantRef: context.idempotencyKey, TransactionId: transactionId, ...(amount === undefined ? {} : { Amount: amount }) };
}
