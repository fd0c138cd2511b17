import { maskPan } from '../../../src/wire/index.ts';
import { GiftcardApi } from './api.ts';
import { GiftcardBook, type GiftcardLedgerEntry } from './book.ts';
import { xmlEndpoint } from './endpoint.ts';
import { exchange, type CallCounter } from './exchange.ts';
import { defaultKnobs, type GiftcardSandboxKnobs } from './knobs.ts';
import { HttpsListener } from './listener.ts';
import { giftcardSandboxOptionsSchema, type GiftcardSandboxOptions } from './options.ts';

/**
 * `startGiftcardSandbox`: a gift-card stored-value API (XML) imitation on a real HTTPS server, with a
 * ledger, failure knobs and call counters for tests and `paygate demo`. See the README.
 */

/** How many log lines `logLines` keeps (oldest dropped first). */
export const LOG_LINES_KEPT = 1000;

/** A running sandbox. */
export interface GiftcardSandbox {
  /** The endpoint, e.g. `https://127.0.0.1:41234/svc`. */
  readonly url: string;
  /** The `X-Api-Key` value it accepts. */
  readonly apiKey: string;
  /** Every money movement so far, oldest first (a snapshot; card numbers masked). */
  readonly ledger: readonly GiftcardLedgerEntry[];
  /** The failure knobs; set fields directly. */
  readonly knobs: GiftcardSandboxKnobs;
  /** Requests received: all of them, and per request type (a snapshot). */
  readonly calls: Readonly<CallCounter>;
  /** The sandbox's log lines, oldest first (masked). */
  readonly logLines: readonly string[];
  /** Whether it is down (not listening). */
  readonly isDown: boolean;
  /** Stops listening and cuts every connection: calls get ECONNREFUSED until {@link up}. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Restores the starting cards and default knobs; empties the ledger, the reference memory, the counters and the log. */
  reset(): void;
  /** Stops for good. */
  close(): Promise<void>;
}

/** Starts a sandbox; options are checked (zod) and defaulted as documented in `options.ts`. */
export async function startGiftcardSandbox(options: GiftcardSandboxOptions): Promise<GiftcardSandbox> {
  const resolved = giftcardSandboxOptionsSchema.parse(options);
  const book = new GiftcardBook();
  const api = new GiftcardApi(book, resolved.apiKey);
  const knobs = defaultKnobs();
  const calls: CallCounter = { total: 0, byOperation: {} };
  const lines: string[] = [];
  const log = (line: string): void => {
    const masked = maskPan(`giftcard-sandbox ${line}`);
    lines.push(masked);
    if (lines.length > LOG_LINES_KEPT) lines.shift();
    resolved.log?.(masked);
  };
  const context = { endpoint: xmlEndpoint(resolved.path, api), knobs, calls, log };
  const listener = new HttpsListener(resolved.host, resolved.port, resolved.tls, (req, res) => void exchange(req, res, context));
  await listener.start();
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  let closed = false;
  return {
    url: `https://${host}:${listener.port}${resolved.path}`,
    apiKey: resolved.apiKey,
    get ledger() { return book.ledger(); },
    knobs,
    get calls() { return { total: calls.total, byOperation: { ...calls.byOperation } }; },
    get logLines() { return [...lines]; },
    get isDown() { return !listener.listening; },
    down: () => listener.stop(),
    async up() {
      if (closed) throw new Error('the sandbox is closed');
      await listener.start();
    },
    reset() {
      book.clear();
      api.reset();
      Object.assign(knobs, defaultKnobs());
      calls.total = 0;
      calls.byOperation = {};
      lines.length = 0;
    },
    async close() {
      closed = true;
      await listener.stop();
    },
  };
}
