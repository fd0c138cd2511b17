import { startSandbox, type SandboxHandle } from '../../_sandbox-kit/sandbox.ts';
import { PaypalBook, type PaypalLedgerEntry } from './book.ts';
import { sendMalformed } from './broken.ts';
import { PaypalApi } from './dispatch.ts';
import { nvpEndpoint } from './endpoint.ts';
import type { PaypalMalformed, PaypalSandboxKnobs } from './knobs.ts';
import { paypalSandboxOptionsSchema, type PaypalCredentials, type PaypalSandboxOptions } from './options.ts';

/**
 * `startPaypalSandbox`: a PayPal classic-API (NVP) imitation on a real HTTPS server, with a
 * ledger, failure knobs and call counters for tests and `paygate demo`. See the README. The
 * server, the knobs, the counters and the log are the sandbox kit's (`providers/_sandbox-kit`).
 */

export { LOG_LINES_KEPT } from '../../_sandbox-kit/sandbox.ts';

/** A running sandbox (`calls` counts per METHOD). */
export interface PaypalSandbox extends SandboxHandle<PaypalSandboxKnobs, PaypalLedgerEntry> {
  /** The endpoint, e.g. `https://127.0.0.1:41234/nvp`. */
  readonly url: string;
  /** The credentials it accepts (USER, PWD, SIGNATURE). */
  readonly credentials: PaypalCredentials;
  /** Empties the ledger, the MSGSUBID memory, the counters and the log, and restores the default knobs. */
  reset(): void;
}

/** Starts a sandbox; options are checked (zod) and defaulted as documented in `options.ts`. */
export async function startPaypalSandbox(options: PaypalSandboxOptions): Promise<PaypalSandbox> {
  const resolved = paypalSandboxOptionsSchema.parse(options);
  const book = new PaypalBook();
  const api = new PaypalApi(book, resolved.credentials);
  return startSandbox<PaypalMalformed, PaypalLedgerEntry, Pick<PaypalSandbox, 'credentials'>>({
    name: 'paypal-sandbox',
    options: resolved,
    endpoint: nvpEndpoint(resolved.path, api),
    sendMalformed,
    book,
    api,
  }, { credentials: resolved.credentials });
}
