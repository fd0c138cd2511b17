import * as z from 'zod';
import { defineProvider, type BreakerOptionsInput, type RequestOf, type ResultOf } from '../../src/providers/index.ts';
import { paypalActions } from './actions.ts';
import { scrubPaypal } from './scrub.ts';
import { reconcile } from './status.ts';

/**
 * `paypal`: card payments through PayPal's classic Name-Value Pair API (Website Payments Pro:
 * DoDirectPayment, DoCapture, DoVoid, RefundTransaction, GetTransactionDetails,
 * TransactionSearch). Actions `sale`, `authorize`, `capture`, `refund`, `void`, `status`;
 * idempotent through MSGSUBID; reconciles lost answers through TransactionSearch. See README.md,
 * "The plugin".
 *
 * Modules: `schemas.ts` (requests, results), `transformers.ts` (payload → NVP; the only place
 * card data is revealed), `client.ts` (the call), `parsers.ts` + `codes.ts` + `verification.ts`
 * (answer → outcome), `status.ts` (reconciliation), `msgsubid.ts`, `amounts.ts`, `scrub.ts`.
 *
 * From the package: `import paypal from 'paygate/providers/paypal'`. A storefront importing it
 * gets the schemas and the action table, never the form transport, which the worker makes in
 * `setup` (docs/sdk.md, "What a storefront import loads").
 */

/** The plugin's settings (`providers[].options` in the worker config): the API credentials. */
export const paypalConfigSchema = z.strictObject({
  user: z.string().min(1, 'user (the API username) must not be empty'),
  pwd: z.string().min(1, 'pwd (the API password) must not be empty'),
  signature: z.string().min(1, 'signature (the API signature) must not be empty'),
});

/**
 * Breaker defaults: open when more than half of at least 5 calls in 10 s failed (declines never
 * count), try again after 30 s; at most 32 calls in flight.
 */
export const PAYPAL_BREAKER: BreakerOptionsInput = Object.freeze({
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingCountTimeout: 10_000,
  resetTimeout: 30_000,
  capacity: 32,
});

const paypal = defineProvider({
  name: 'paypal',
  version: '1.0.0',
  config: paypalConfigSchema,
  breaker: PAYPAL_BREAKER,
  setup: (tools) => ({ nvp: tools.formTransport(), credentials: tools.config }),
  actions: paypalActions,
  scrub: scrubPaypal,
  status: reconcile,
});

export default paypal;

/** What a `sale` caller writes / gets (the SDK's types). */
export type PaypalSaleRequest = RequestOf<typeof paypal, 'sale'>;
export type PaypalSaleResult = ResultOf<typeof paypal, 'sale'>;
