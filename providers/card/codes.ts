/**
 * CardGate's vocabulary mapped to paygate's standard one (docs/providers.md, "Results"): the
 * ISO 8583 style `ResponseCode` per kind of operation, and the `AvsResult` / `CvvResult` letters.
 * One line per documented code; an unknown code falls back to `PROCESSING_ERROR` (retryable) in
 * `mapProviderCode`, and the raw code stays in the message and in `provider_code`.
 */
import type { AvsResult, CvvResult, ProviderCodeTable } from '../../src/providers/index.ts';

/** CardGate's answer for "approved". */
export const APPROVED = '00';

/** CardGate's system error: always answered as a `soap:Server` fault, nothing processed. */
export const SYSTEM_ERROR = '96';

/** Codes shared by every operation. */
const COMMON: ProviderCodeTable = {
  // 96 normally comes as a fault (faults.ts); inside a result it is still "not processed".
  '96': { code: 'PROCESSING_ERROR', retryable: true },
};

/** Authorize and Sale: card declines. */
export const PAYMENT_CODES: ProviderCodeTable = {
  ...COMMON,
  '05': 'DO_NOT_HONOR',
  '51': 'INSUFFICIENT_FUNDS',
  '54': 'EXPIRED_CARD',
  '14': 'INVALID_NUMBER',
  '82': 'INCORRECT_CVC',
  '13': 'INVALID_AMOUNT',
  // On a payment, 12 means the MerchantRef (our idempotency key) was already used for another operation.
  '12': 'DUPLICATE_TRANSACTION',
};

/** Capture: 12 an authorization that cannot be captured (unknown, declined, voided, captured); 13 more than authorized. */
export const CAPTURE_CODES: ProviderCodeTable = { ...COMMON, '12': 'INVALID_AUTHORIZATION', '13': 'AMOUNT_EXCEEDS_AUTHORIZATION' };

/** Refund: 12 a payment that cannot be refunded; 13 more than what remains captured. */
export const REFUND_CODES: ProviderCodeTable = { ...COMMON, '12': 'INVALID_AUTHORIZATION', '13': 'AMOUNT_EXCEEDS_CAPTURE' };

/** Void: 12 a transaction that cannot be voided (unknown, declined, already voided, partly refunded). */
export const VOID_CODES: ProviderCodeTable = { ...COMMON, '12': 'INVALID_AUTHORIZATION', '13': 'INVALID_AMOUNT' };

/** CardGate's AvsResult letters. */
const AVS: Readonly<Record<string, AvsResult>> = { Y: 'match', A: 'address_only', Z: 'postcode_only', N: 'no_match', U: 'unavailable' };

/**
 * CardGate's CvvResult letters. `P` ("not processed") is what CardGate answers when no CVV was
 * sent; it maps to `not_processed` (the issuer did not check a code), `U` (issuer unavailable) to
 * `unavailable`.
 */
const CVV: Readonly<Record<string, CvvResult>> = { M: 'match', N: 'no_match', P: 'not_processed', U: 'unavailable' };

/** The standard AVS result for a CardGate letter; `undefined` when absent or unknown. */
export function avsOf(letter: string | undefined): AvsResult | undefined {
  return letter !== undefined && Object.hasOwn(AVS, letter) ? AVS[letter] : undefined;
}

/** The standard CVV result for a CardGate letter; `undefined` when absent or unknown. */
export function cvvOf(letter: string | undefined): CvvResult | undefined {
  return letter !== undefined && Object.hasOwn(CVV, letter) ? CVV[letter] : undefined;
}
