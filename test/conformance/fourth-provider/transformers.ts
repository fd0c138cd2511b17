/** The loyalty provider's request documents (xmlbuilder2 object form). */
import type { BalancePayload, Config, RedeemPayload } from './schemas.ts';

function auth(config: Config): Record<string, string> {
  return { merchant: config.merchant, token: config.api_token };
}

/** `<redeem>`: the idempotency key travels as `reference` (the provider de-duplicates on it). */
export function toRedeem(payload: RedeemPayload, idempotencyKey: string, config: Config): Record<string, unknown> {
  return { redeem: { ...auth(config), member: payload.member, pin: payload.pin, points: String(payload.points), reference: idempotencyKey } };
}

/** `<balance>`. */
export function toBalance(payload: BalancePayload, config: Config): Record<string, unknown> {
  return { balance: { ...auth(config), member: payload.member, pin: payload.pin } };
}

/** `<lookup>`: what became of the call made with this reference. */
export function toLookup(idempotencyKey: string, config: Config): Record<string, unknown> {
  return { lookup: { ...auth(config), reference: idempotencyKey } };
}
