/**
 * The shop's side of the audit-trail test: a seeded mix of payments over the three plugins (card
 * authorize/capture/void/refund/sale/status, PayPal sale/authorize/capture/void/refund/status,
 * gift card balance/reload/redeem/void/status), approvals and the sandboxes' declines, each
 * request sent once through the SDK and what came back recorded by request id.
 */
import { Random } from '../../bench/chaos/random.ts';
import { RemoteError, TimeoutError, type GatewayReply } from '../../src/client/index.ts';
import type { Shop } from './audit-trail-world.ts';

type Provider = 'card' | 'paypal' | 'giftcard';

/** What the SDK said of one request it sent. */
export type Answer =
  | { readonly kind: 'reply'; readonly status: string; readonly code?: string; readonly result: Record<string, unknown> }
  | { readonly kind: 'remote'; readonly code: string }
  | { readonly kind: 'timeout' };

/** One request the SDK sent. */
export interface SentRequest {
  readonly requestId: string;
  readonly key: string;
  readonly provider: Provider;
  readonly type: string;
  /** The payload's `amount`, when it has one. */
  readonly amount?: { readonly value: number; readonly currency: string };
  readonly answer: Answer;
}

/** The card data the workload sends: the feeds must show none of it in clear. */
export const CVC = '739';
export const CARDS = Object.freeze({
  approved: '4111111111111111',
  doNotHonor: '4000000000000002',
  insufficientFunds: '4000000000009995',
});
export const GIFTCARDS = Object.freeze({
  funded: { card_number: '6036280000000011', pin: '1234' },
  empty: { card_number: '6036280000000037', pin: '0000' },
});
/** Every full card number and secret the workload sends (for the scan of the feeds). */
export const SECRETS: readonly string[] = [...Object.values(CARDS), ...Object.values(GIFTCARDS).flatMap((g) => [g.card_number])];

const card = (number: string) => ({ number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: CVC });
const EUR = (value: number) => ({ value, currency: 'EUR' });
/** An amount ending in 25 minor units: clear of the sandboxes' magic amounts (…96, 100.01). */
const amountOf = (random: Random, maxEuros: number): number => 100 * (1 + random.below(maxEuros)) + 25;

/** Sends one step within the budget; undefined once the budget is spent (nothing sent). */
type Step = (provider: Provider, type: string, payload: Record<string, unknown>) => Promise<SentRequest | undefined>;

const approvedId = (sent: SentRequest | undefined, field = 'transaction_id'): string | undefined => {
  if (sent?.answer.kind !== 'reply' || sent.answer.status !== 'approved') return undefined;
  const id = sent.answer.result[field];
  return typeof id === 'string' ? id : undefined;
};

interface Flow {
  readonly weight: number;
  run(step: Step, random: Random): Promise<void>;
}

const FLOWS: readonly Flow[] = [
  {
    weight: 16, // card authorize → capture (→ refund), or → void, then a status inquiry by key
    async run(step, random) {
      const auth = await step('card', 'authorize', { amount: EUR(amountOf(random, 200)), card: card(CARDS.approved) });
      const id = approvedId(auth);
      if (id === undefined || auth === undefined) return;
      if (random.chance(0.3)) return void (await step('card', 'void', { transaction_id: id }));
      const capture = await step('card', 'capture', { authorization_id: id });
      if (approvedId(capture) !== undefined && random.chance(0.4)) await step('card', 'refund', { transaction_id: id });
      if (random.chance(0.2)) await step('card', 'status', { idempotency_key: auth.key });
    },
  },
  {
    weight: 10, // card sale (→ refund)
    async run(step, random) {
      const id = approvedId(await step('card', 'sale', { amount: EUR(amountOf(random, 200)), card: card(CARDS.approved) }));
      if (id !== undefined && random.chance(0.5)) await step('card', 'refund', { transaction_id: id });
    },
  },
  {
    weight: 8, // card declines: do not honor, insufficient funds
    async run(step, random) {
      const number = random.chance(0.5) ? CARDS.doNotHonor : CARDS.insufficientFunds;
      await step('card', random.chance(0.5) ? 'sale' : 'authorize', { amount: EUR(amountOf(random, 200)), card: card(number) });
    },
  },
  {
    weight: 12, // PayPal sale (→ refund) (→ status)
    async run(step, random) {
      const id = approvedId(await step('paypal', 'sale', { amount: EUR(amountOf(random, 200)), card: card(CARDS.approved) }));
      if (id === undefined) return;
      if (random.chance(0.3)) await step('paypal', 'refund', { transaction_id: id });
      if (random.chance(0.2)) await step('paypal', 'status', { transaction_id: id });
    },
  },
  {
    weight: 10, // PayPal authorize → capture | void
    async run(step, random) {
      const amount = EUR(amountOf(random, 200));
      const id = approvedId(await step('paypal', 'authorize', { amount, card: card(CARDS.approved) }));
      if (id === undefined) return;
      if (random.chance(0.7)) await step('paypal', 'capture', { authorization_id: id, amount });
      else await step('paypal', 'void', { authorization_id: id });
    },
  },
  {
    weight: 6, // PayPal declines
    async run(step, random) {
      const number = random.chance(0.5) ? CARDS.doNotHonor : CARDS.insufficientFunds;
      await step('paypal', 'sale', { amount: EUR(amountOf(random, 200)), card: card(number) });
    },
  },
  {
    weight: 24, // gift card (balance →) reload → redeem (→ void) (→ status)
    async run(step, random) {
      if (random.chance(0.15)) await step('giftcard', 'balance', { ...GIFTCARDS.funded });
      // Reload first, then redeem the same amount: the card's balance never falls below its start.
      const amount = EUR(amountOf(random, 50));
      if (approvedId(await step('giftcard', 'reload', { ...GIFTCARDS.funded, amount })) === undefined) return;
      const redeem = await step('giftcard', 'redeem', { ...GIFTCARDS.funded, amount });
      const redeemed = approvedId(redeem);
      if (redeemed !== undefined && random.chance(0.2)) await step('giftcard', 'void', { transaction_id: redeemed });
      if (redeem !== undefined && random.chance(0.15)) await step('giftcard', 'status', { reference: redeem.key });
    },
  },
  {
    weight: 6, // gift card declines: the empty card, a wrong PIN
    async run(step, random) {
      const wrongPin = random.chance(0.5);
      const giftcard = wrongPin ? { ...GIFTCARDS.funded, pin: '9876' } : GIFTCARDS.empty;
      await step('giftcard', 'redeem', { ...giftcard, amount: EUR(amountOf(random, 50)) });
    },
  },
];

const TOTAL_WEIGHT = FLOWS.reduce((sum, flow) => sum + flow.weight, 0);

function pickFlow(random: Random): Flow {
  let roll = random.below(TOTAL_WEIGHT);
  for (const flow of FLOWS) {
    if (roll < flow.weight) return flow;
    roll -= flow.weight;
  }
  return FLOWS[0] as Flow;
}

/** Sends one request once (no retry: each request id is one audit record) and records what came back. */
async function sendOnce(shop: Shop, provider: Provider, type: string, payload: Record<string, unknown>, key: string): Promise<SentRequest> {
  // The workload's steps are data, so the typed overloads of `request` cannot be chosen
  // statically; the SDK still validates each payload by the plugin's schema.
  const request = shop.request as (provider: string, type: string, payload: unknown, options: { idempotencyKey: string }) => Promise<GatewayReply<unknown>>;
  const base = { key, provider, type, ...(payload.amount === undefined ? {} : { amount: payload.amount as SentRequest['amount'] }) };
  try {
    const reply = await request.call(shop, provider, type, payload, { idempotencyKey: key });
    const answer: Answer = { kind: 'reply', status: reply.status, ...(reply.error ? { code: reply.error.code } : {}), result: (reply.result ?? {}) as Record<string, unknown> };
    return { ...base, requestId: reply.requestId, answer };
  } catch (error) {
    if (error instanceof RemoteError) return { ...base, requestId: error.requestId, answer: { kind: 'remote', code: error.remoteCode } };
    if (error instanceof TimeoutError) return { ...base, requestId: error.requestId, answer: { kind: 'timeout' } };
    throw error; // not sent (or refused by the SDK): a defect of the workload or the SDK, not an outcome
  }
}

/** Progress callbacks: `onSent(n)` after each request is answered (for the faults' timing). */
export interface WorkloadOptions {
  readonly requests: number;
  readonly inFlight: number;
  readonly seed: number;
  /** Idempotency keys are `<keyPrefix>-<n>` (letters only in the prefix: no digit run may look like a card number). */
  readonly keyPrefix: string;
  readonly onAnswered?: (answered: number) => void;
}

/** Runs the workload: exactly `requests` requests, at most `inFlight` at once; what each got. */
export async function runWorkload(shop: Shop, options: WorkloadOptions): Promise<SentRequest[]> {
  const sent: SentRequest[] = [];
  let budget = options.requests;
  let counter = 0;
  const step: Step = async (provider, type, payload) => {
    if (budget <= 0) return undefined;
    budget -= 1;
    counter += 1;
    const result = await sendOnce(shop, provider, type, payload, `${options.keyPrefix}-${counter}`);
    sent.push(result);
    options.onAnswered?.(sent.length);
    return result;
  };
  const runLane = async (lane: number): Promise<void> => {
    const random = new Random(options.seed * 1_000 + lane);
    while (budget > 0) await pickFlow(random).run(step, random);
  };
  await Promise.all(Array.from({ length: options.inFlight }, (_, lane) => runLane(lane)));
  return sent;
}
