/**
 * Masking for everything the sandbox keeps or logs: a card number shows its first six and last
 * four digits only (PCI DSS), whether or not it passes Luhn, and shorter numbers show nothing.
 * The CVV2 and the API password and signature are never kept at all.
 */

/** `4111111111111111` → `411111******1111`; fewer than 13 digits → all `*`. */
export function maskAccount(account: string): string {
  if (account.length < 13) return '*'.repeat(account.length);
  return `${account.slice(0, 6)}${'*'.repeat(account.length - 10)}${account.slice(-4)}`;
}
