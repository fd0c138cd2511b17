/**
 * The template provider's schemas: its settings (the worker config's `options`), and the
 * request and result of each action. The SDK's types come from these (docs/providers.md,
 * "The action table").
 */
import * as z from 'zod';
import { providerResultFields } from '../../src/providers/index.ts';
import { cardSchema, moneySchema } from '../../src/wire/index.ts';

/**
 * TODO(config): your provider's own settings, written under `options:` in the worker config's
 * `providers[]` entry. Credentials go here, never in the code.
 */
export const configSchema = z.strictObject({
  merchant_id: z.string().min(1, 'merchant_id must not be empty'),
  api_key: z.string().min(8, 'api_key looks too short'),
});
/** The parsed settings. */
export type Config = z.output<typeof configSchema>;

/** TODO(actions): what a caller sends for `charge`. Prefer strict objects and the wire's building blocks. */
export const chargeRequest = z.strictObject({
  order_id: z.string().min(1, 'order_id must not be empty').max(64, 'order_id is longer than 64 characters'),
  amount: moneySchema,
  card: cardSchema,
});
/** The payload the handler receives (card number and CVC are secrets that print masked). */
export type ChargePayload = z.output<typeof chargeRequest>;

/** TODO(actions): what a caller gets back from `charge`. Keep `providerResultFields` (provider_code, avs, cvv). */
export const chargeResult = z.strictObject({
  ...providerResultFields,
  transaction_id: z.string().min(1),
});
/** What a parser builds. */
export type ChargeResult = z.input<typeof chargeResult>;
