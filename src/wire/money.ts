import * as z from 'zod';

/**
 * Money on the wire: integer minor units plus an ISO 4217 code, e.g.
 * `{ value: 1999, currency: EUR }` for 19.99 EUR. Floats never carry amounts.
 *
 * Which codes exist and how many minor digits each has come from the ICU data built into Node
 * (`Intl`), so there is no table of ours to go stale: JPY 0, EUR 2, BHD 3.
 */

/** Codes this Node knows; read once, the list does not change while the process runs. */
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));
const exponents = new Map<string, number>();

/** Whether `code` is an ISO 4217 currency code known to this runtime. */
export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

/**
 * Number of minor-unit digits of a currency (JPY 0, EUR 2, BHD 3).
 *
 * @throws RangeError for a code that is not a known ISO 4217 currency.
 */
export function currencyExponent(code: string): number {
  let exponent = exponents.get(code);
  if (exponent === undefined) {
    if (!isCurrency(code)) throw new RangeError('unknown ISO 4217 currency code');
    exponent = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
      .maximumFractionDigits;
    // Never undefined for style 'currency'; the fallback only satisfies the type.
    exponent ??= 2;
    exponents.set(code, exponent);
  }
  return exponent;
}

/** An ISO 4217 currency code: three upper-case letters that the runtime knows. */
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'currency must be three upper-case letters (ISO 4217)')
  .refine(isCurrency, 'currency is not a known ISO 4217 code');

/** An amount: non-negative safe-integer minor units and a currency. Key order is the wire order. */
export const moneySchema = z.strictObject({
  value: z
    .number()
    .int('amount must be an integer number of minor units')
    .nonnegative('amount must not be negative'),
  currency: currencySchema,
});

/** A validated amount. */
export type Money = z.output<typeof moneySchema>;

/**
 * Formats an amount for logs and messages, exactly (no floating point): `19.99 EUR`,
 * `1000 JPY`, `1.500 BHD`. Not meant for customers: no locale, no symbol.
 */
export function formatMoney(money: Money): string {
  const exponent = currencyExponent(money.currency);
  const sign = money.value < 0 ? '-' : '';
  const digits = String(Math.abs(money.value)).padStart(exponent + 1, '0');
  const units = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${sign}${units} ${money.currency}`;
}
