import type { ProviderCodeTable, StandardErrorCode } from '../../src/providers/index.ts';

/**
 * PayPal NVP error codes (`L_ERRORCODE0`) → paygate's standard codes. One line per documented
 * code; an unknown code becomes `PROCESSING_ERROR` (retryable) with the raw code in the message.
 */
export const PAYPAL_CODES: ProviderCodeTable = Object.freeze<ProviderCodeTable>({
  // The provider's side.
  '10001': { code: 'PROCESSING_ERROR', retryable: true }, // Internal Error: nothing recorded, try again
  '10002': 'CONFIGURATION_ERROR', // Security error: USER / PWD / SIGNATURE wrong
  '10004': { code: 'PROCESSING_ERROR', retryable: false }, // invalid argument (refined per action below)
  '81002': { code: 'PROCESSING_ERROR', retryable: false }, // Unspecified Method: a plugin bug
  // Card payments.
  '10401': 'INVALID_AMOUNT',
  '10417': 'INSUFFICIENT_FUNDS',
  '10502': 'EXPIRED_CARD',
  '10508': 'INVALID_EXPIRY',
  '10605': 'CURRENCY_NOT_SUPPORTED',
  '10748': 'INCORRECT_CVC', // CVV2 missing or malformed
  '10759': 'INVALID_NUMBER',
  '15004': 'INCORRECT_CVC',
  '15005': 'CARD_DECLINED',
  // Captures and voids.
  '10600': 'INVALID_AUTHORIZATION', // authorization voided
  '10601': 'INVALID_AUTHORIZATION', // authorization expired
  '10602': 'ALREADY_CAPTURED', // authorization completed
  '10609': 'INVALID_AUTHORIZATION', // transaction id invalid
  '10610': 'AMOUNT_EXCEEDS_AUTHORIZATION',
  // Refunds (10009 is refined by its long message below).
  '10009': 'ALREADY_REFUNDED',
});

/** Which action an answer belongs to, for the refinements. */
export type PaypalAction = 'sale' | 'authorize' | 'capture' | 'refund' | 'void' | 'status';

/**
 * Where one PayPal code means different things: 10009 (refund refused) says why only in
 * `L_LONGMESSAGE0`; 10004 on a refund or a lookup is an unknown transaction id; 10600 on a void
 * is an authorization already voided.
 */
export function refineCode(action: PaypalAction, providerCode: string, longMessage: string): StandardErrorCode | undefined {
  if (providerCode === '10009') {
    if (/remaining amount|exceeds/i.test(longMessage)) return 'AMOUNT_EXCEEDS_CAPTURE';
    if (/type of transaction/i.test(longMessage)) return 'INVALID_AUTHORIZATION';
    return 'ALREADY_REFUNDED';
  }
  if (providerCode === '10004' && (action === 'refund' || action === 'status') && /transaction id/i.test(longMessage)) {
    return 'INVALID_AUTHORIZATION';
  }
  if (providerCode === '10600' && action === 'void') return 'ALREADY_VOIDED';
  return undefined;
}
