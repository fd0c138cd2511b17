/**
 * Request transformers: a validated payload (plus the idempotency key and the credentials) into
 * the provider's own request, here the name-value fields of an HTTPS form POST.
 * `revealSecret` is the one door to the clear card number: use it here and nowhere else.
 */
import { revealSecret } from '../../src/wire/index.ts';
import type { ChargePayload, Config } from './schemas.ts';

/** TODO(transformers): your provider's field names and formats for a charge. */
export function toChargeFields(payload: ChargePayload, idempotencyKey: string, config: Config): Record<string, string> {
  const { card } = payload;
  return {
    MERCHANT: config.merchant_id,
    API_KEY: config.api_key,
    // The provider de-duplicates on it, and `status` finds the charge by it.
    IDEMPOTENCY_KEY: idempotencyKey,
    ORDER: payload.order_id,
    AMOUNT: String(payload.amount.value),
    CURRENCY: payload.amount.currency,
    CARD_NUMBER: revealSecret(card.number),
    EXPIRY: `${String(card.exp_month).padStart(2, '0')}${card.exp_year}`,
    ...(card.cvc === undefined ? {} : { CVV: revealSecret(card.cvc) }),
  };
}

/** TODO(status): how your provider looks up an earlier call (here: by the idempotency key we sent). */
export function toStatusFields(idempotencyKey: string, config: Config): Record<string, string> {
  return { MERCHANT: config.merchant_id, API_KEY: config.api_key, IDEMPOTENCY_KEY: idempotencyKey };
}
