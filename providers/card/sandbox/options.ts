/**
 * Options of {@link startCardSandbox}, checked with zod: a sandbox started with a typo in its
 * options fails at once instead of behaving like a different provider.
 */
import * as z from 'zod';

/** PEM text: the shape is checked here, the content by `node:tls` when the server starts. */
const pem = (what: string) => z.string().regex(/^-----BEGIN [A-Z ]+-----/m, `${what} must be PEM text`);

/** A function receiving one log line, already scrubbed of card data and credentials. */
export type CardSandboxLogSink = (line: string) => void;

export const cardSandboxOptionsSchema = z.strictObject({
  /** Interface to listen on; loopback by default. */
  host: z.string().min(1).default('127.0.0.1'),
  /** TCP port; 0 picks a free one (read it back from `url`). */
  port: z.number().int().min(0).max(65_535).default(0),
  /** The server's TLS certificate and key, PEM (the dev PKI's `tls` role). */
  tls: z.strictObject({ cert: pem('tls.cert'), key: pem('tls.key') }),
  /** The WS-Security UsernameToken the sandbox accepts. */
  username: z.string().min(1).default('cardgate'),
  password: z.string().min(1).default('cardgate-sandbox'),
  /** Path of the SOAP endpoint; the WSDL is served at `<path>?wsdl`. */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~\-/]*$/, 'path must start with / and hold URL path characters only')
    .default('/cardgate'),
  /** Where log lines go (scrubbed); silent by default. */
  log: z
    .custom<CardSandboxLogSink>((value) => typeof value === 'function', 'log must be a function')
    .optional(),
  /** Largest request body accepted, in bytes (larger ones get 413). */
  maxBodyBytes: z.number().int().positive().default(1_048_576),
});

/** What callers pass to {@link startCardSandbox}. */
export type CardSandboxOptions = z.input<typeof cardSandboxOptionsSchema>;
/** The options after defaults. */
export type ResolvedCardSandboxOptions = z.output<typeof cardSandboxOptionsSchema>;
