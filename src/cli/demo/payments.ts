/**
 * The tour's payments: card authorize + capture (CardGate, SOAP), a PayPal-style sale + refund
 * (NVP), a gift-card balance + redeem (XML), and a card that declines. Each is one typed SDK
 * call; a later step uses what an earlier one returned (the capture takes the authorization's
 * id), and each approval is checked against the provider's own ledger, which is the truth about
 * money.
 */
import type { GatewayReply } from '../../client/index.ts';
import { formatMoney, maskPan, type Money } from '../../wire/index.ts';
import { DEMO_DATA } from './options.ts';
import { keyOf, messageOf, outcomeOfError, timed, type StepOutcome, type Timed, type TourContext, type TourStep } from './tour.ts';

const EUR = (value: number): Money => ({ value, currency: DEMO_DATA.currency });

/** A test card as the payloads take it: the expiry two years ahead, so it never expires. */
export function testCard(number: string): { number: string; exp_month: number; exp_year: number; cvc: string } {
  return { number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: DEMO_DATA.cvc };
}

/**
 * A step's outcome from a timed request: the reply's status, with `describe(result)` as the
 * detail of an approval, the reply's error code and message otherwise.
 */
function settle<R>(answer: Timed<GatewayReply<R>>, describe: (result: R) => StepOutcome | string): StepOutcome {
  if (!answer.ok) return { outcome: outcomeOfError(answer.error), latencyMs: answer.ms, detail: messageOf(answer.error) };
  const reply = answer.value;
  if (reply.status !== 'approved') {
    const why = reply.error === undefined ? 'no reason given' : `${reply.error.code}: ${reply.error.message}`;
    return { outcome: reply.status, latencyMs: answer.ms, detail: maskPan(why) };
  }
  const described = describe(reply.result);
  return typeof described === 'string' ? { outcome: 'approved', latencyMs: answer.ms, detail: described } : { latencyMs: answer.ms, ...described };
}

/** Fails a step whose prerequisite did not give what it needs. */
function missing(what: string): StepOutcome {
  return { outcome: 'skipped', ok: false, latencyMs: 0, detail: `${what} (an earlier step failed)` };
}

/** CardGate: authorize, then capture what was authorized. */
function cardSteps(context: TourContext): TourStep[] {
  const { gateway, sandboxes } = context;
  let authorizationId: string | undefined;
  const amount = EUR(2_500);
  return [
    {
      name: 'card authorize',
      expected: 'approved',
      run: async () => {
        const key = keyOf(context, 'card-authorize');
        const answer = await timed(() => gateway.request('card', 'authorize', { amount, card: testCard(DEMO_DATA.approvedCard) }, { idempotencyKey: key }));
        return settle(answer, (result) => {
          authorizationId = result.transaction_id;
          const booked = sandboxes.card.ledger.byMerchantRef(key).filter((entry) => entry.type === 'authorize').length;
          const detail = `${formatMoney(amount)} on ${maskPan(DEMO_DATA.approvedCard)}: authorization ${result.transaction_id} (auth code ${result.auth_code ?? '–'}), CardGate's ledger has it ${booked}×`;
          return { outcome: 'approved', ok: booked === 1, detail };
        });
      },
    },
    {
      name: 'card capture',
      expected: 'approved',
      run: async () => {
        const id = authorizationId;
        if (id === undefined) return missing('no authorization to capture');
        const answer = await timed(() => gateway.request('card', 'capture', { authorization_id: id }, { idempotencyKey: keyOf(context, 'card-capture') }));
        return settle(answer, (result) => `captured ${formatMoney(result.amount)} of ${id} as ${result.transaction_id}`);
      },
    },
  ];
}

/** PayPal (NVP): a sale, then a full refund of it. */
function paypalSteps(context: TourContext): TourStep[] {
  const { gateway, sandboxes } = context;
  let saleId: string | undefined;
  const amount = EUR(1_999);
  return [
    {
      name: 'paypal sale',
      expected: 'approved',
      run: async () => {
        const answer = await timed(() =>
          gateway.request('paypal', 'sale', { amount, card: testCard(DEMO_DATA.paypalCard), invoice: `demo-${context.runId}` }, { idempotencyKey: keyOf(context, 'paypal-sale') }),
        );
        return settle(answer, (result) => {
          saleId = result.transaction_id;
          const booked = sandboxes.paypal.ledger.filter((entry) => entry.id === result.transaction_id).length;
          return { outcome: 'approved', ok: booked === 1, detail: `sale ${result.transaction_id} of ${formatMoney(result.amount)}, in PayPal's ledger ${booked}×` };
        });
      },
    },
    {
      name: 'paypal refund',
      expected: 'approved',
      run: async () => {
        const id = saleId;
        if (id === undefined) return missing('no sale to refund');
        const answer = await timed(() => gateway.request('paypal', 'refund', { transaction_id: id }, { idempotencyKey: keyOf(context, 'paypal-refund') }));
        return settle(answer, (result) => `refunded ${formatMoney(result.amount)} of ${id} as ${result.transaction_id}`);
      },
    },
  ];
}

/** The gift card: its balance, then a redemption that lowers it. */
function giftcardSteps(context: TourContext): TourStep[] {
  const { gateway } = context;
  const { number, pin } = DEMO_DATA.giftcard;
  let before: Money | undefined;
  const amount = EUR(1_500);
  return [
    {
      name: 'giftcard balance',
      expected: 'approved',
      run: async () => {
        const answer = await timed(() => gateway.request('giftcard', 'balance', { card_number: number, pin }, { idempotencyKey: keyOf(context, 'giftcard-balance') }));
        return settle(answer, (result) => {
          before = result.balance;
          return `${maskPan(number)} holds ${formatMoney(result.balance)}`;
        });
      },
    },
    {
      name: 'giftcard redeem',
      expected: 'approved',
      run: async () => {
        const answer = await timed(() =>
          gateway.request('giftcard', 'redeem', { card_number: number, pin, amount }, { idempotencyKey: keyOf(context, 'giftcard-redeem') }),
        );
        return settle(answer, (result) => {
          // The balance must have gone down by exactly the amount redeemed.
          const expected = before === undefined ? undefined : before.value - amount.value;
          const ok = expected === undefined || result.balance.value === expected;
          return { outcome: 'approved', ok, detail: `redeemed ${formatMoney(result.amount)} as ${result.transaction_id}; balance now ${formatMoney(result.balance)}` };
        });
      },
    },
  ];
}

/** A card CardGate declines (`05` do not honor): an answer, not an exception. */
function declineStep(context: TourContext): TourStep {
  return {
    name: 'card decline',
    expected: 'declined',
    run: async () => {
      const answer = await timed(() =>
        context.gateway.request('card', 'authorize', { amount: EUR(1_000), card: testCard(DEMO_DATA.declinedCard) }, { idempotencyKey: keyOf(context, 'card-decline') }),
      );
      if (!answer.ok) return { outcome: outcomeOfError(answer.error), latencyMs: answer.ms, detail: messageOf(answer.error) };
      const { status, error } = answer.value;
      const detail = maskPan(`${maskPan(DEMO_DATA.declinedCard)}: ${error === undefined ? 'no reason given' : `${error.code} (${error.message}), retryable: ${error.retryable}`}`);
      return { outcome: status, ok: status === 'declined' && error?.code === 'DO_NOT_HONOR', latencyMs: answer.ms, detail };
    },
  };
}

/** The payment steps, in tour order. */
export function paymentSteps(context: TourContext): TourStep[] {
  return [...cardSteps(context), ...paypalSteps(context), ...giftcardSteps(context), declineStep(context)];
}
