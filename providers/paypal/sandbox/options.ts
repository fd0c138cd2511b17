import * as z from 'zod';

/**
 * Options of {@link startPaypalSandbox}, checked with zod: everything but the TLS pair has a
 * default, so `startPaypalSandbox({ tls: { cert, key } })` is a working sandbox.
 */

/** The API credentials the sandbox accepts when none are configured (they guard nothing: it is a sandbox). */
export const DEFAULT_PAYPAL_CREDENTIALS = Object.freeze({
  user: 'sandbox-merchant_api1.paygate.test',
  pwd: 'SANDBOXPWD1234',
  signature: 'Sandbox.Signature-A1b2C3d4E5f6G7h8',
});

const nonEmpty = z.string().min(1);

/** The classic API's three-token authentication (USER, PWD, SIGNATURE in every request). */
export const paypalCredentialsSchema = z.strictObject({ user: nonEmpty, pwd: nonEmpty, signature: nonEmpty });

/** A log sink for the sandbox's one line per call (lines carry masked card numbers only). */
export type SandboxLog = (line: string) => void;

export const paypalSandboxOptionsSchema = z.strictObject({
  /** Interface to listen on. */
  host: nonEmpty.default('127.0.0.1'),
  /** Port; 0 picks a free one (read it back from `url`). */
  port: z.number().int().min(0).max(65_535).default(0),
  /** The server's certificate and private key, PEM (tests: the dev PKI's `tls` role). */
  tls: z.strictObject({ cert: nonEmpty, key: nonEmpty }),
  /** The credentials callers must send. */
  credentials: paypalCredentialsSchema.default({ ...DEFAULT_PAYPAL_CREDENTIALS }),
  /** The endpoint's path; anything else is answered 404. */
  path: z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, 'path must start with / and use URL path characters').default('/nvp'),
  /** Receives one line per call besides the in-memory `logLines`. */
  log: z.custom<SandboxLog>((value) => typeof value === 'function', 'log must be a function').optional(),
});

/** What callers pass to {@link startPaypalSandbox}. */
export type PaypalSandboxOptions = z.input<typeof paypalSandboxOptionsSchema>;
/** The options with their defaults applied. */
export type ResolvedPaypalSandboxOptions = z.output<typeof paypalSandboxOptionsSchema>;
/** USER / PWD / SIGNATURE. */
export type PaypalCredentials = z.output<typeof paypalCredentialsSchema>;
