/**
 * Masking for everything the sandbox keeps or logs: a card number shows its first six and last
 * four digits only (PCI DSS), whether or not it passes Luhn, and shorter numbers show nothing.
 * PINs and the API key are never kept at all.
 */

/** `6036280000000011` → `603628******0011`; fewer than 13 digits → all `*`. */
export function maskCard(account: string): string {
  if (account.length < 13) return '*'.repeat(account.length);
  return `${account.slice(0, 6)}${'*'.repeat(account.length - 10)}${account.slice(-4)}`;
}
