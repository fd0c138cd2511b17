/** The feed server's options and their defaults, in one place. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { FeedProtocolError } from '../protocol-errors.ts';

/** Where the server reports requests it refused and failures (never entry content). */
export interface FeedServerLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A right a client holds on a feed. */
export const FEED_RIGHTS = ['read', 'append'] as const;
export type FeedRight = (typeof FEED_RIGHTS)[number];

const feedKey = z.string().regex(/^(\*|[A-Za-z0-9._-]{1,128})$/, 'a feed name or *');

const clientSchema = z.strictObject({
  /** Who this is, for the log; never the token. */
  name: z.string().min(1).max(128),
  /** SHA-256 (hex) of the bearer token: the token itself is never configured. */
  tokenSha256: z.string().regex(/^[0-9a-fA-F]{64}$/, '64 hex digits').transform((s) => s.toLowerCase()),
  /** Rights per feed name; `*` applies to every feed. */
  feeds: z.record(feedKey, z.array(z.enum(FEED_RIGHTS))),
});

export const feedServerOptionsSchema = z.strictObject({
  listen: z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (see the started server's `url`). */
    port: z.number().int().min(0).max(65_535).default(0),
  }),
  /** PEM certificate chain and key. Required unless `listen.host` is a loopback address. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /**
   * The base of every link the server writes (`rel="self"`, `next`, `Location`), e.g. behind a
   * proxy; default: the address it listens on. Never taken from a request's Host header.
   */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  clients: z.array(clientSchema).default([]),
  /** Feeds filled by the events consumer: HTTP appends to them are refused whatever the rights. */
  protectedFeeds: z.array(z.string().min(1)).default(['audit', 'payments']),
  /** The largest POST body, in bytes (413 above it). */
  maxEntryBytes: z.number().int().min(1).default(1024 * 1024),
  /** The page size when a request gives no `page_size` (AtomMQ's default: 1000). */
  defaultPageSize: z.number().int().min(1).default(1_000),
  /** The largest `page_size` a request may ask for (400 above it); keep it ≤ the store's. */
  maxPageSize: z.number().int().min(1).default(10_000),
  log: z.custom<FeedServerLog>((v) => typeof v === 'object' && v !== null && typeof (v as FeedServerLog).warn === 'function', 'a logger with info, warn and error').optional(),
});

/** The options `startFeedServer` accepts (defaults may be left out). */
export type FeedServerOptions = z.input<typeof feedServerOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedFeedServerOptions = z.output<typeof feedServerOptionsSchema>;

/** Validates options, failing with FEED_SERVER_OPTION and every problem listed. */
export function resolveFeedServerOptions(options: FeedServerOptions): ResolvedFeedServerOptions {
  const parsed = feedServerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new FeedProtocolError('FEED_SERVER_OPTION', `invalid feed server options: ${problems}`);
  }
  const resolved = parsed.data;
  if (resolved.defaultPageSize > resolved.maxPageSize) {
    throw new FeedProtocolError('FEED_SERVER_OPTION', 'invalid feed server options: defaultPageSize must not exceed maxPageSize');
  }
  if (resolved.tls === undefined && !isLoopback(resolved.listen.host)) {
    throw new FeedProtocolError(
      'FEED_SERVER_OPTION',
      `the feed server would listen on ${resolved.listen.host} without TLS: bearer tokens and payment events would cross the network in clear. `
        + 'Give tls (cert, key) or listen on a loopback address (127.0.0.1, ::1).',
    );
  }
  return resolved;
}

/** Whether `host` names only this machine (plain HTTP is allowed there). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}
