/** The feed store's options and their defaults, in one place. */
import { z } from 'zod';
import { FeedError } from './errors.ts';

export const feedStoreOptionsSchema = z
  .strictObject({
    /** The SQLite file; its folder is created (mode 0700) when missing. */
    path: z.string().min(1),
    /** The largest page a query may ask for. */
    maxPageSize: z.number().int().min(1).max(100_000).default(10_000),
    /** The page size when a query gives none (AtomMQ's `page_size` default). */
    defaultPageSize: z.number().int().min(1).default(1_000),
    /** The largest `content` accepted, in UTF-8 bytes. */
    maxContentBytes: z.number().int().min(1).default(1024 * 1024),
    /**
     * SQLite's `synchronous` in WAL mode: FULL fsyncs the WAL at every commit, so an append that
     * returned survives a power loss; NORMAL may lose the last appends (never corrupts).
     */
    synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
    /** How long a write waits for another process's lock before failing with FEED_STORE_FAILED. */
    busyTimeoutMs: z.number().int().nonnegative().default(5_000),
  })
  .refine((o) => o.defaultPageSize <= o.maxPageSize, { message: 'defaultPageSize must not exceed maxPageSize', path: ['defaultPageSize'] });

/** The options `openSqliteFeedStore` accepts (defaults may be left out). */
export type FeedStoreOptions = z.input<typeof feedStoreOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedFeedStoreOptions = z.output<typeof feedStoreOptionsSchema>;

/** Validates options, failing with FEED_BAD_OPTION and every problem listed. */
export function resolveFeedStoreOptions(options: FeedStoreOptions): ResolvedFeedStoreOptions {
  const parsed = feedStoreOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new FeedError('FEED_BAD_OPTION', `invalid feed store options: ${problems}`);
  }
  return parsed.data;
}
