import { failure, type PaypalErrorCode, type PaypalFailure } from './errors.ts';
import { PAYPAL_CURRENCIES, parseAmount } from './money.ts';
import type { NvpParams } from './nvp.ts';

/** Reading `AMT` + `CURRENCYCODE` from a request, with PayPal's errors for the bad cases. */

/** An amount read from a request. */
export interface RequestMoney {
  readonly minor: number;
  readonly currency: string;
}

/**
 * `AMT` in `CURRENCYCODE` (default USD, as PayPal's). An unsupported currency is 10605; a
 * missing, malformed or zero amount is `badAmount` (10401 for payments, 10004 elsewhere).
 */
export function readMoney(params: NvpParams, badAmount: PaypalErrorCode): RequestMoney | PaypalFailure {
  const currency = params.get('CURRENCYCODE') ?? 'USD';
  if (!PAYPAL_CURRENCIES.has(currency)) return failure(10605);
  const minor = parseAmount(params.get('AMT'), currency);
  if (minor === undefined || minor === 0) {
    return failure(badAmount, badAmount === 10401 ? undefined : 'The amount is missing or invalid for the currency.');
  }
  return { minor, currency };
}

/** Whether `value` is a failure rather than money. */
export function isFailure<T extends object>(value: T | PaypalFailure): value is PaypalFailure {
  return 'ok' in value && value.ok === false;
}
