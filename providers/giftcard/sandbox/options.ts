import * as z from 'zod';

/**
 * Options of {@link startGiftcardSandbox}, checked with zod: everything but the TLS pair has a
 * default, so `startGiftcardSandbox({ tls: { cert, key } })` is a working sandbox.
 */

/** The API key the sandbox accepts when none is configured (it guards nothing: it is a sandbox). */
export const DEFAULT_GIFTCARD_API_KEY = 'gc-sandbox-key-7Hq2Lw9Zt4Xm';

const nonEmpty = z.string().min(1);

/** A log sink for the sandbox's one line per call (lines carry masked card numbers only). */
export type SandboxLog = (line: string) => void;

export const giftcardSandboxOptionsSchema = z.strictObject({
  /** Interface to listen on. */
  host: nonEmpty.default('127.0.0.1'),
  /** Port; 0 picks a free one (read it back from `url`). */
  port: z.number().int().min(0).max(65_535).default(0),
  /** The server's certificate and private key, PEM (tests: the dev PKI's `tls` role). */
  tls: z.strictObject({ cert: nonEmpty, key: nonEmpty }),
  /** The value callers must send in the `X-Api-Key` header. */
  apiKey: z.string().regex(/^[\x21-\x7e]{8,128}$/, 'apiKey must be 8 to 128 printable characters without spaces').default(DEFAULT_GIFTCARD_API_KEY),
  /** The endpoint's path; anything else is answered 404. */
  path: z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, 'path must start with / and use URL path characters').default('/svc'),
  /** Receives one line per call besides the in-memory `logLines`. */
  log: z.custom<SandboxLog>((value) => typeof value === 'function', 'log must be a function').optional(),
});

/** What callers pass to {@link startGiftcardSandbox}. */
export type GiftcardSandboxOptions = z.input<typeof giftcardSandboxOptionsSchema>;
/** The options with their defaults applied. */
export type ResolvedGiftcardSandboxOptions = z.output<typeof giftcardSandboxOptionsSchema>;
