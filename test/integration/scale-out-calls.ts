/**
 * Whether a provider was CALLED more than once for an idempotency key, which the ledgers cannot
 * tell: the sandboxes, like real providers, are idempotent by the merchant reference the key
 * travels as, so a second call for a key moves no money and answers as the first. Only the
 * gateway's shared store keeps a retry (on any host) from reaching the provider again. So the
 * sandboxes' call counters are set against the requests sent: every key may reach its provider
 * once (`status` lookups aside: reconciling reads), never more.
 */
import type { Sent } from '../../bench/chaos/tally.ts';
import type { Sandboxes } from './audit-trail-world.ts';

type Provider = keyof Sandboxes;

/**
 * The sandboxes' reads: lookups a worker or the shop makes to reconcile, and reads that move no
 * money, which a worker reconciling a dead holder's key asks again as the plugin's `status` hook
 * says (a gift card's `balance`: providers/giftcard/status.ts). Not calls of a payment.
 */
const READS: Readonly<Record<Provider, readonly string[]>> = {
  card: ['Status'],
  paypal: ['GetTransactionDetails', 'TransactionSearch'],
  giftcard: ['status', 'balance'],
};

/** Calls of each provider other than lookups. */
function requestCalls(sandboxes: Sandboxes): Record<Provider, number> {
  const count = (byOperation: Readonly<Record<string, number>>, provider: Provider): number =>
    Object.entries(byOperation).reduce((sum, [operation, n]) => sum + (READS[provider].includes(operation) ? 0 : n), 0);
  return {
    card: count(sandboxes.card.calls, 'card'),
    paypal: count(sandboxes.paypal.calls.byOperation, 'paypal'),
    giftcard: count(sandboxes.giftcard.calls.byOperation, 'giftcard'),
  };
}

/** Per provider: the distinct keys sent and the calls made for them. */
export type CallFigures = Record<Provider, { readonly keys: number; readonly calls: number }>;

/** Keys sent and calls received, per provider. */
export function callFigures(sent: readonly Sent[], sandboxes: Sandboxes): CallFigures {
  const keys = (provider: Provider): number => new Set(sent.filter((s) => s.step.provider === provider).map((s) => s.step.key)).size;
  const calls = requestCalls(sandboxes);
  return {
    card: { keys: keys('card'), calls: calls.card },
    paypal: { keys: keys('paypal'), calls: calls.paypal },
    giftcard: { keys: keys('giftcard'), calls: calls.giftcard },
  };
}

/** The providers called more often than they were sent keys, as lines; empty when none was. */
export function calledAgain(figures: CallFigures): string[] {
  return Object.entries(figures)
    .filter(([, { keys, calls }]) => calls > keys)
    .map(([provider, { keys, calls }]) => `${provider}: ${calls} calls for ${keys} keys`);
}
