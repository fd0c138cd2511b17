/**
 * `loyalty`, a fourth provider built from the docs alone: a points programme reached by XML
 * over HTTPS, written only from docs/providers.md and providers/_template. Its schemas.
 */
import * as z from 'zod';
import { providerResultFields } from '../../../src/providers/index.ts';

/** The worker config's `options`: the merchant (public) and its API token (a secret). */
export const configSchema = z.strictObject({
  merchant: z.string().min(1, 'merchant must not be empty'),
  api_token: z.string().min(8, 'api_token looks too short'),
});
export type Config = z.output<typeof configSchema>;

const memberId = z.string().regex(/^LM-\d{4}$/, 'member ids look like LM-1001');
const pin = z.string().regex(/^\d{6}$/, 'a member PIN has 6 digits');

/** Redeem points from a member's account. */
export const redeemRequest = z.strictObject({ member: memberId, pin, points: z.number().int().positive().max(1_000_000) });
export type RedeemPayload = z.output<typeof redeemRequest>;
export const redeemResult = z.strictObject({ ...providerResultFields, redemption_id: z.string().min(1), remaining: z.number().int() });
export type RedeemResult = z.input<typeof redeemResult>;

/** A member's points balance. */
export const balanceRequest = z.strictObject({ member: memberId, pin });
export type BalancePayload = z.output<typeof balanceRequest>;
export const balanceResult = z.strictObject({ ...providerResultFields, points: z.number().int() });
export type BalanceResult = z.input<typeof balanceResult>;
