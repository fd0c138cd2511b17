/**
 * The workload: payments as a shop makes them, each a short chain of requests where a later one
 * uses what an earlier one returned (capture the authorization, refund the sale, void the
 * redeem). A chain stops when a step does not end approved (nothing to capture) or when the
 * run's request budget is spent. The mix, amounts and branches come from the seeded generator.
 */
import type { Random } from './random.ts';
import type { Learned, Step } from './shop.ts';

/** Runs one step (within the budget); `undefined` when the budget is spent and nothing was sent. */
export type RunStep = (step: Omit<Step, 'key'>) => Promise<Learned | undefined>;

/** A payment: a name for the report and the chain it runs. */
interface Flow {
  readonly name: string;
  readonly weight: number;
  run(step: RunStep, random: Random): Promise<void>;
}

const EUR = (value: number) => ({ value, currency: 'EUR' });
const VISA = { number: '4111111111111111', exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' };
const GIFTCARD = { card_number: '6036280000000011', pin: '1234' };

/** An amount in minor units ending in 25: clear of the sandboxes' magic amounts (…96, 100.01). */
const amountOf = (random: Random, maxEuros: number): number => 100 * (1 + random.below(maxEuros)) + 25;

/** The id a later step needs, when the step ended approved. */
function approvedId(learned: Learned | undefined, field = 'transaction_id'): string | undefined {
  if (learned?.kind !== 'final' || learned.status !== 'approved') return undefined;
  const id = learned.result[field];
  return typeof id === 'string' ? id : undefined;
}

const FLOWS: readonly Flow[] = [
  {
    name: 'card authorize → capture (→ refund)',
    weight: 20,
    async run(step, random) {
      const id = approvedId(await step({ provider: 'card', type: 'authorize', payload: { amount: EUR(amountOf(random, 200)), card: VISA } }));
      if (id === undefined) return;
      const captured = await step({ provider: 'card', type: 'capture', payload: { authorization_id: id } });
      if (approvedId(captured) !== undefined && random.chance(0.3)) await step({ provider: 'card', type: 'refund', payload: { transaction_id: id } });
    },
  },
  {
    name: 'card authorize → void',
    weight: 10,
    async run(step, random) {
      const id = approvedId(await step({ provider: 'card', type: 'authorize', payload: { amount: EUR(amountOf(random, 200)), card: VISA } }));
      if (id !== undefined) await step({ provider: 'card', type: 'void', payload: { transaction_id: id } });
    },
  },
  {
    name: 'card sale (→ refund)',
    weight: 10,
    async run(step, random) {
      const id = approvedId(await step({ provider: 'card', type: 'sale', payload: { amount: EUR(amountOf(random, 200)), card: VISA } }));
      if (id !== undefined && random.chance(0.5)) await step({ provider: 'card', type: 'refund', payload: { transaction_id: id } });
    },
  },
  {
    name: 'paypal sale (→ refund)',
    weight: 15,
    async run(step, random) {
      const id = approvedId(await step({ provider: 'paypal', type: 'sale', payload: { amount: EUR(amountOf(random, 200)), card: VISA } }));
      if (id !== undefined && random.chance(0.3)) await step({ provider: 'paypal', type: 'refund', payload: { transaction_id: id } });
    },
  },
  {
    name: 'paypal authorize → capture | void',
    weight: 15,
    async run(step, random) {
      const amount = EUR(amountOf(random, 200));
      const id = approvedId(await step({ provider: 'paypal', type: 'authorize', payload: { amount, card: VISA } }));
      if (id === undefined) return;
      if (random.chance(0.7)) await step({ provider: 'paypal', type: 'capture', payload: { authorization_id: id, amount } });
      else await step({ provider: 'paypal', type: 'void', payload: { authorization_id: id } });
    },
  },
  {
    name: 'giftcard (balance →) reload → redeem (→ void)',
    weight: 30,
    async run(step, random) {
      if (random.chance(0.1)) await step({ provider: 'giftcard', type: 'balance', payload: { ...GIFTCARD } });
      // Reload first, then redeem the same amount: the card's balance never falls below its start.
      const amount = EUR(amountOf(random, 50));
      if (approvedId(await step({ provider: 'giftcard', type: 'reload', payload: { ...GIFTCARD, amount } })) === undefined) return;
      const redeemed = approvedId(await step({ provider: 'giftcard', type: 'redeem', payload: { ...GIFTCARD, amount } }));
      if (redeemed !== undefined && random.chance(0.2)) await step({ provider: 'giftcard', type: 'void', payload: { transaction_id: redeemed } });
    },
  },
];

const TOTAL_WEIGHT = FLOWS.reduce((sum, flow) => sum + flow.weight, 0);

/** The next payment of the mix. */
export function pickFlow(random: Random): Flow {
  let roll = random.below(TOTAL_WEIGHT);
  for (const flow of FLOWS) {
    if (roll < flow.weight) return flow;
    roll -= flow.weight;
  }
  return FLOWS[0] as Flow;
}

/** Requests that move money (a balance inquiry does not). */
export const movesMoney = (step: Pick<Step, 'provider' | 'type'>): boolean => !(step.provider === 'giftcard' && step.type === 'balance');
