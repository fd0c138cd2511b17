import * as z from 'zod';

/**
 * The plugin's own settings: the worker config's `providers[].options` for `giftcard`. The
 * endpoint, the CA and the deadline are the entry's `endpoint`, `tls` and `timeout_ms`.
 * Messages name the rule, never the value.
 */
export const giftcardConfigSchema = z.strictObject({
  /** The `X-Api-Key` value the provider issued to the merchant. */
  api_key: z.string().regex(/^[\x21-\x7e]{8,128}$/, 'api_key must be 8 to 128 printable characters without spaces'),
});

/** The parsed settings. */
export type GiftcardConfig = z.output<typeof giftcardConfigSchema>;
