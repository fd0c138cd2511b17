/**
 * NVP amounts: a decimal string with exactly the currency's number of minor digits (`19.99` EUR,
 * `1000` JPY), a period as separator, no thousands separator, no sign. The sandbox keeps amounts
 * as integer minor units and converts at the edge, so no float ever carries money.
 *
 * Minor digits come from ISO 4217 as Node's ICU data reports them (JPY 0, EUR 2), the same source
 * paygate's wire uses; PayPal's own no-decimal rule for HUF and TWD is not imitated.
 */

/** The currencies PayPal's classic API accepts; any other code is answered with error 10605. */
export const PAYPAL_CURRENCIES: ReadonlySet<string> = new Set([
  'AUD', 'BRL', 'CAD', 'CHF', 'CZK', 'DKK', 'EUR', 'GBP', 'HKD', 'HUF', 'ILS', 'JPY',
  'MXN', 'MYR', 'NOK', 'NZD', 'PHP', 'PLN', 'SEK', 'SGD', 'THB', 'TWD', 'USD',
]);

/** Minor digits of `currency` (a code from {@link PAYPAL_CURRENCIES}). */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** `AMT` text → minor units, or `undefined` when it is not a well-formed amount for `currency`. */
export function parseAmount(text: string | undefined, currency: string): number | undefined {
  if (text === undefined) return undefined;
  const digits = minorDigits(currency);
  const pattern = digits === 0 ? /^(\d{1,12})$/ : new RegExp(`^(\\d{1,12})\\.(\\d{${digits}})$`);
  const match = pattern.exec(text);
  if (!match) return undefined;
  return Number(`${match[1]}${match[2] ?? ''}`);
}

/** Minor units → `AMT` text (`1999`, EUR → `19.99`). */
export function formatAmount(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const text = String(minor).padStart(digits + 1, '0');
  return digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
