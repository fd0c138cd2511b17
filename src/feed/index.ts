/** The public surface of the feed store (the storage of `paygate feed`). */
export type {
  AppendOptions, AppendRequest, AppendResult, ChainProblem, ChainReport, FeedEntry, FeedInfo, FeedPage, FeedStore, NewEntry, PageQuery,
} from './store.ts';
export { openSqliteFeedStore } from './sqlite-store.ts';
export { feedStoreOptionsSchema, type FeedStoreOptions, type ResolvedFeedStoreOptions } from './options.ts';
export { FeedError, FEED_ERROR_CODES, type FeedErrorCode } from './errors.ts';
export { canonicalForm, entryHash, ZERO_HASH } from './chain.ts';
export { FEED_SCHEMA_VERSION } from './schema.ts';
