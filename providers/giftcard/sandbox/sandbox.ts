import { startSandbox, type SandboxHandle } from '../../_sandbox-kit/sandbox.ts';
import { GiftcardApi } from './api.ts';
import { GiftcardBook, type GiftcardLedgerEntry } from './book.ts';
import { sendMalformed } from './broken.ts';
import { xmlEndpoint } from './endpoint.ts';
import type { GiftcardMalformed, GiftcardSandboxKnobs } from './knobs.ts';
import { giftcardSandboxOptionsSchema, type GiftcardSandboxOptions } from './options.ts';

/**
 * `startGiftcardSandbox`: a gift-card stored-value API (XML) imitation on a real HTTPS server, with a
 * ledger, failure knobs and call counters for tests and `paygate demo`. See the README. The
 * server, the knobs, the counters and the log are the sandbox kit's (`providers/_sandbox-kit`).
 */

export { LOG_LINES_KEPT } from '../../_sandbox-kit/sandbox.ts';

/** A running sandbox (`calls` counts per request type). */
export interface GiftcardSandbox extends SandboxHandle<GiftcardSandboxKnobs, GiftcardLedgerEntry> {
  /** The endpoint, e.g. `https://127.0.0.1:41234/svc`. */
  readonly url: string;
  /** The `X-Api-Key` value it accepts. */
  readonly apiKey: string;
  /** Restores the starting cards and default knobs; empties the ledger, the reference memory, the counters and the log. */
  reset(): void;
}

/** Starts a sandbox; options are checked (zod) and defaulted as documented in `options.ts`. */
export async function startGiftcardSandbox(options: GiftcardSandboxOptions): Promise<GiftcardSandbox> {
  const resolved = giftcardSandboxOptionsSchema.parse(options);
  const book = new GiftcardBook();
  const api = new GiftcardApi(book, resolved.apiKey);
  return startSandbox<GiftcardMalformed, GiftcardLedgerEntry, Pick<GiftcardSandbox, 'apiKey'>>({
    name: 'giftcard-sandbox',
    options: resolved,
    endpoint: xmlEndpoint(resolved.path, api),
    sendMalformed,
    book,
    api,
  }, { apiKey: resolved.apiKey });
}
