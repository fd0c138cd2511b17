import * as z from 'zod';
import { ProviderError } from '../errors.ts';
import { tlsOptionsSchema } from './tls.ts';
import { transcriptHookSchema } from './transcript.ts';

/**
 * Options every transport shares, with their defaults in one place. Each transport extends
 * {@link endpointOptionsSchema} with its own fields.
 */
export const TRANSPORT_DEFAULTS = Object.freeze({
  /** Whole call: connect, send, answer headers and body. */
  timeoutMs: 30_000,
  /** Connecting (TCP and TLS handshake); never longer than `timeoutMs`. */
  connectTimeoutMs: 10_000,
  /** Largest answer body read; a bigger one is refused while reading. */
  maxResponseBytes: 1024 * 1024,
  /** Connections kept open to the endpoint at most. */
  connections: 10,
  /** How long an idle kept-alive connection stays open (the server's hint may shorten it). */
  keepAliveTimeoutMs: 4_000,
});

const positiveMs = z.number().int().positive().max(600_000);

/** The endpoint part of every transport's options. */
export const endpointOptionsSchema = z.strictObject({
  /** `https://host[:port][/base/path]`; call paths are appended to the base path. Plain http is refused. */
  endpoint: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).refine((url) => {
    const parsed = new URL(url);
    return parsed.search === '' && parsed.hash === '' && parsed.username === '' && parsed.password === '';
  }, 'must have no query, fragment or credentials'),
  tls: tlsOptionsSchema.default({}),
  timeoutMs: positiveMs.default(TRANSPORT_DEFAULTS.timeoutMs),
  connectTimeoutMs: positiveMs.default(TRANSPORT_DEFAULTS.connectTimeoutMs),
  maxResponseBytes: z.number().int().positive().max(64 * 1024 * 1024).default(TRANSPORT_DEFAULTS.maxResponseBytes),
  connections: z.number().int().positive().max(1024).default(TRANSPORT_DEFAULTS.connections),
  keepAliveTimeoutMs: positiveMs.default(TRANSPORT_DEFAULTS.keepAliveTimeoutMs),
  /** Extra request headers sent on every call (e.g. an API version); never put secrets you do not want in a transcript here. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'header names are letters, digits and dashes'), z.string()).default({}),
  /** See {@link TranscriptHook}. */
  transcript: transcriptHookSchema.optional(),
});

/** What a plugin writes for the endpoint part. */
export type EndpointOptionsInput = z.input<typeof endpointOptionsSchema>;
/** The validated endpoint options. */
export type EndpointOptions = z.output<typeof endpointOptionsSchema>;

/**
 * Parses a transport's options or throws `ProviderError` `PROVIDER_INVALID` naming each bad
 * path and the problem, never the value (options hold keys and passwords).
 */
export function parseTransportOptions<S extends z.ZodType>(schema: S, input: unknown, transport: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.length === 0 ? '(options)' : issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw new ProviderError('PROVIDER_INVALID', `${transport} transport options: ${summary}`, { issues });
}
