import { currencyExponent, type Money } from '../../src/wire/index.ts';

/**
 * Amounts between paygate and PayPal: paygate carries integer minor units (`{ value: 1999,
 * currency: 'EUR' }`), PayPal's `AMT` is a decimal string with exactly the currency's minor
 * digits (`19.99`, JPY `1000`, BHD `1.500`), no sign and no thousands separator.
 */

/** `AMT` for an amount: `1999 EUR` → `19.99`, `1000 JPY` → `1000`. Integer arithmetic only. */
export function toAmt(money: Money): string {
  const exponent = currencyExponent(money.currency);
  const digits = String(money.value).padStart(exponent + 1, '0');
  return exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * An amount PayPal answered with, back in minor units.
 *
 * @throws Error when `amt` is not a decimal with the currency's minor digits (a malformed answer:
 *   the handler's fault path, so the worker reconciles).
 */
export function fromAmt(amt: string | undefined, currency: string | undefined): Money {
  if (amt === undefined || currency === undefined || !/^[A-Z]{3}$/.test(currency)) {
    throw new Error('paypal answered without a readable amount and currency');
  }
  let exponent: number;
  try {
    exponent = currencyExponent(currency);
  } catch {
    throw new Error('paypal answered with an unknown currency');
  }
  const pattern = exponent === 0 ? /^(\d{1,15})$/ : new RegExp(`^(\\d{1,15})\\.(\\d{${exponent}})$`);
  const match = pattern.exec(amt);
  if (match === null) throw new Error('paypal answered with an amount that is not a decimal of the currency');
  const value = Number(`${match[1] ?? ''}${match[2] ?? ''}`);
  if (!Number.isSafeInteger(value)) throw new Error('paypal answered with an amount out of range');
  return { value, currency };
}
