/** The public surface of the feed store (the storage of `paygate feed`). */
export type {
  AppendOptions, AppendRequest, AppendResult, ChainProblem, ChainReport, FeedEntry, FeedInfo, FeedPage, FeedStore, NewEntry, PageQuery,
} from './store.ts';
export { openSqliteFeedStore } from './sqlite-store.ts';
export { feedStoreOptionsSchema, type FeedStoreOptions, type ResolvedFeedStoreOptions } from './options.ts';
export { FeedError, FEED_ERROR_CODES, type FeedErrorCode } from './errors.ts';
export { canonicalForm, checkChainEnd, checkChainLink, entryHash, ZERO_HASH, type BrokenLink, type ChainedRow } from './chain.ts';
export { FEED_SCHEMA_VERSION } from './schema.ts';
export {
  ATOM_MEDIA_TYPE, ATOM_NS, APP_NS, PG_NS, entryTagId, entryUrl, feedTagId, feedUrl, parseAtomEntry, parseAtomFeed, renderEntry, renderFeed, renderService,
  type AtomContext, type FeedDocument, type ParsedEntry, type ParsedFeed,
} from './atom.ts';
export { FeedProtocolError, FEED_PROTOCOL_ERROR_CODES, type FeedProtocolErrorCode } from './protocol-errors.ts';
export { startFeedServer, type FeedServer } from './http/server.ts';
export { feedServerOptionsSchema, FEED_RIGHTS, type FeedRight, type FeedServerLog, type FeedServerOptions, type ResolvedFeedServerOptions } from './http/options.ts';
export {
  createEventsConsumer, startEventsConsumer, EventsConsumer, DEFAULT_EVENTS_QUEUE, eventsConsumerOptionsSchema,
  type EventsConsumerEvents, type EventsConsumerOptions, type EventsConsumerStats, type EventsLog,
} from './events-consumer.ts';
export { EventsError, EVENTS_ERROR_CODES, type EventsErrorCode } from './events-errors.ts';
