/**
 * The feed store's contract: an append-only, ordered log of entries per named feed (AtomMQ's
 * model: a feed is a queue, an entry a message). The SQLite engine (sqlite-store.ts) is the
 * default; the interface exists so that another engine (PostgreSQL) can replace it unchanged.
 */

/** What a caller appends; the store assigns the id, sequence, time and (for chained feeds) hashes. */
export interface NewEntry {
  /** The Atom `title`; non-empty. */
  readonly title: string;
  /** The Atom `content`, stored verbatim. */
  readonly content: string;
  /** The content's media type; `text/plain` when absent. */
  readonly contentType?: string;
  /**
   * A de-duplication key (1-256 characters), unique within the feed: appending an entry whose key
   * the feed already holds appends nothing and returns the entry stored under it. It lets an
   * at-least-once producer (a redelivered message) be recorded exactly once. Not part of the
   * chain's canonical form: it is bookkeeping, derived by the producer from the content.
   */
  readonly key?: string;
}

/** One append of {@link FeedStore.appendMany}. */
export interface AppendRequest {
  readonly feed: string;
  readonly entry: NewEntry;
  readonly options?: AppendOptions;
}

/** What an append gave: the entry, and whether it is new (false: its key was already stored). */
export interface AppendResult {
  readonly entry: FeedEntry;
  readonly created: boolean;
}

/** How a feed is created on its first append. */
export interface AppendOptions {
  /**
   * Whether the feed is a tamper-evident chain (default `true`). Fixed when the feed is created;
   * a later append that asks for the other kind fails with FEED_BAD_ENTRY.
   */
  readonly chained?: boolean;
  /**
   * Append only if the feed's last entry is still this sequence (0: the feed is empty or absent);
   * otherwise nothing is written and the append fails with FEED_TAIL_MOVED. For an entry that
   * cites its predecessor (a signed checkpoint): read `tail`, build the entry, append with `afterSeq`.
   */
  readonly afterSeq?: number;
}

/** An entry as stored. */
export interface FeedEntry {
  /** Opaque, stable, URL-safe id (`<seq>-<12 random base64url chars>`), unique within its feed. */
  readonly id: string;
  readonly feed: string;
  /** 1, 2, 3… within the feed: the order of appends. */
  readonly seq: number;
  /** When it was appended, ISO 8601 UTC with milliseconds. */
  readonly time: string;
  readonly title: string;
  readonly content: string;
  readonly contentType: string;
  /** Chained feeds only: SHA-256 hex of the predecessor's canonical form (64 zeros for the first entry). */
  readonly prevHash?: string;
  /** Chained feeds only: SHA-256 hex of this entry's canonical form. */
  readonly hash?: string;
}

/** Which part of a feed to read; at most one of `startAfter` and `startAt`. */
export interface PageQuery {
  /** Only entries after this one. */
  readonly startAfter?: string;
  /** This entry and those after it. */
  readonly startAt?: string;
  /** At most this many entries (1..`maxPageSize`); the store's `defaultPageSize` when absent. */
  readonly pageSize?: number;
}

/** One page, oldest first. */
export interface FeedPage {
  readonly entries: readonly FeedEntry[];
  /** When more entries follow: the id to pass as `startAfter` for the next page (`rel="next"`). */
  readonly next?: string;
}

/** A feed as listed by {@link FeedStore.feeds}. */
export interface FeedInfo {
  readonly name: string;
  readonly chained: boolean;
  /** The sequence of the last entry appended (0 for none). */
  readonly lastSeq: number;
  readonly created: string;
}

/** What is wrong with the first broken link of a chain. */
export type ChainProblem =
  /** The entry's fields no longer hash to its recorded `hash`, or its successor recorded another hash for it. */
  | 'altered'
  /** One or more sequence numbers are missing before this entry (or after the last one). */
  | 'missing'
  /** The entry's `prev_hash` is the hash of another entry of the feed: entries were reordered. */
  | 'out_of_order';

/** The result of {@link FeedStore.verifyChain}. */
export interface ChainReport {
  /** How many entries verified, in order, before the first broken link (all of them when whole). */
  readonly count: number;
  /** The first broken link, absent when the chain is whole. */
  readonly broken?: { readonly id: string; readonly seq: number; readonly problem: ChainProblem; readonly detail: string };
}

/** The storage of `paygate feed`. Every method is synchronous and fails only with a `FeedError`. */
export interface FeedStore {
  /**
   * Appends an entry, creating the feed on the first append. Durable when it returns. With a
   * `key` the feed already holds: appends nothing and returns the stored entry.
   */
  append(feed: string, entry: NewEntry, options?: AppendOptions): FeedEntry;
  /**
   * Several appends in one transaction (one commit, one fsync): all are stored or none is. Each
   * is checked first; an invalid one fails the whole call with its FeedError and nothing is
   * written. Results in the order given.
   */
  appendMany(requests: readonly AppendRequest[]): AppendResult[];
  /** Entries oldest first, per {@link PageQuery}. */
  page(feed: string, query?: PageQuery): FeedPage;
  /** The feed's last entry (one indexed read); undefined when the feed is empty. FEED_NOT_FOUND when absent. */
  tail(feed: string): FeedEntry | undefined;
  /** One entry by id (FEED_UNKNOWN_ENTRY when absent). */
  get(feed: string, id: string): FeedEntry;
  /** An entity tag for `page(feed, query)`: changes when an entry is appended, costs one indexed read. */
  etag(feed: string, query?: PageQuery): string;
  /** Every feed, by name. */
  feeds(): FeedInfo[];
  /** Walks a chained feed in order and reports the first broken link. */
  verifyChain(feed: string): ChainReport;
  close(): void;
}
