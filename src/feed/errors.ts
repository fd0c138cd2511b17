import { PaygateError } from '../errors.ts';

/** Stable codes of the feed store's failures (see docs/feed.md). */
export const FEED_ERROR_CODES = [
  /** An option given to `openSqliteFeedStore` is invalid. */
  'FEED_BAD_OPTION',
  /** A feed name is not 1–128 characters of `A-Z a-z 0-9 . _ -`. */
  'FEED_BAD_NAME',
  /** An entry to append is invalid (empty title, content over the size limit, chaining differs from the feed's). */
  'FEED_BAD_ENTRY',
  /** A page query gives both `startAfter` and `startAt`. */
  'FEED_BAD_QUERY',
  /** A page size outside 1..`maxPageSize`. */
  'FEED_BAD_PAGE_SIZE',
  /** `verifyChain` on a feed created unchained: it has no hashes to check. */
  'FEED_NOT_CHAINED',
  /** No feed of that name (a feed exists once something was appended to it). */
  'FEED_NOT_FOUND',
  /** `startAfter`, `startAt` or `get` names an id that is not an entry of that feed. */
  'FEED_UNKNOWN_ENTRY',
  /** An append with `afterSeq` found the feed's last entry moved on: nothing was written. */
  'FEED_TAIL_MOVED',
  /** The SQLite file could not be opened, read or written, or was written by a newer schema. */
  'FEED_STORE_FAILED',
  /** The store was used after `close()`. */
  'FEED_CLOSED',
] as const;

export type FeedErrorCode = (typeof FEED_ERROR_CODES)[number];

/** A typed failure of the feed store. */
export class FeedError extends PaygateError {
  declare readonly code: FeedErrorCode;

  constructor(code: FeedErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
