/**
 * The SQLite engine of {@link FeedStore} (better-sqlite3): one file, WAL, `synchronous=FULL` by
 * default, so an append is on disk when it returns.
 *
 * Appends run in one `BEGIN IMMEDIATE` transaction that reads the feed's last sequence and hash
 * and writes the entry and the new tail: the write lock is taken up front, so two appends (even
 * from two processes) never share a predecessor. Reads are index lookups: (feed, id) finds the
 * sequence of `startAfter`/`startAt`, (feed, seq) orders the page; nothing scans the feed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { entryHash, walkChain, ZERO_HASH, type ChainedRow } from './chain.ts';
import { checkFeedName as checkName, checkNewEntry } from './entry-checks.ts';
import { FeedError } from './errors.ts';
import { resolveFeedStoreOptions, type FeedStoreOptions, type ResolvedFeedStoreOptions } from './options.ts';
import { ensureSchema } from './schema.ts';
import type {
  AppendOptions, AppendRequest, AppendResult, ChainReport, FeedEntry, FeedInfo, FeedPage, FeedStore, NewEntry, PageQuery,
} from './store.ts';

interface FeedRow { name: string; chained: number; created: string; last_seq: number; last_hash: string | null }
interface EntryRow {
  feed: string; seq: number; id: string; time: string; title: string; content: string;
  content_type: string; prev_hash: string | null; hash: string | null;
}

/** Opens (creating when missing) a feed store on a SQLite file. */
export function openSqliteFeedStore(options: FeedStoreOptions): FeedStore {
  const resolved = resolveFeedStoreOptions(options);
  return guard(() => new SqliteFeedStore(resolved));
}

class SqliteFeedStore implements FeedStore {
  readonly #db: SqliteDatabase;
  readonly #options: ResolvedFeedStoreOptions;
  readonly #sql: ReturnType<typeof prepare>;

  constructor(options: ResolvedFeedStoreOptions) {
    this.#options = options;
    mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    this.#db = new Database(options.path, { timeout: options.busyTimeoutMs });
    try {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${options.synchronous}`);
      this.#db.pragma('foreign_keys = ON');
      ensureSchema(this.#db);
      this.#sql = prepare(this.#db);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  append(feed: string, entry: NewEntry, options: AppendOptions = {}): FeedEntry {
    const [result] = this.appendMany([{ feed, entry, options }]);
    return (result as AppendResult).entry;
  }

  appendMany(requests: readonly AppendRequest[]): AppendResult[] {
    for (const { feed, entry } of requests) {
      checkName(feed);
      this.#checkEntry(entry);
    }
    return this.#run(() =>
      this.#db.transaction(() => requests.map(({ feed, entry, options }) => this.#appendInTransaction(feed, entry, options ?? {}))).immediate(),
    );
  }

  page(feed: string, query: PageQuery = {}): FeedPage {
    checkName(feed);
    const size = this.#pageSize(query);
    if (query.startAfter !== undefined && query.startAt !== undefined) {
      throw new FeedError('FEED_BAD_QUERY', 'give startAfter or startAt, not both');
    }
    return this.#run(() => {
      this.#feed(feed);
      const from = this.#firstSeq(feed, query);
      const rows = this.#sql.pageFrom.all(feed, from, size + 1) as EntryRow[];
      const entries = rows.slice(0, size).map(toEntry);
      const last = entries.at(-1);
      return rows.length > size && last !== undefined ? { entries, next: last.id } : { entries };
    });
  }

  tail(feed: string): FeedEntry | undefined {
    checkName(feed);
    return this.#run(() => {
      this.#feed(feed);
      const row = this.#sql.tail.get(feed) as EntryRow | undefined;
      return row === undefined ? undefined : toEntry(row);
    });
  }

  get(feed: string, id: string): FeedEntry {
    checkName(feed);
    return this.#run(() => {
      this.#feed(feed);
      const row = this.#sql.entryById.get(feed, id) as EntryRow | undefined;
      if (row === undefined) throw new FeedError('FEED_UNKNOWN_ENTRY', `feed ${feed} has no entry ${JSON.stringify(id)}`);
      return toEntry(row);
    });
  }

  etag(feed: string, query: PageQuery = {}): string {
    checkName(feed);
    const size = this.#pageSize(query);
    return this.#run(() => {
      const { last_seq: lastSeq } = this.#feed(feed);
      const shape = JSON.stringify([feed, query.startAfter ?? null, query.startAt ?? null, size]);
      const digest = createHash('sha256').update(shape).digest('base64url').slice(0, 16);
      return `"${lastSeq}.${digest}"`;
    });
  }

  feeds(): FeedInfo[] {
    return this.#run(() => (this.#sql.allFeeds.all() as FeedRow[]).map((r) => ({
      name: r.name, chained: r.chained === 1, lastSeq: r.last_seq, created: r.created,
    })));
  }

  verifyChain(feed: string): ChainReport {
    checkName(feed);
    return this.#run(() => {
      // One read transaction: the walk sees one snapshot even while appends go on.
      return this.#db.transaction(() => {
        const info = this.#feed(feed);
        if (info.chained !== 1) throw new FeedError('FEED_NOT_CHAINED', `feed ${feed} was created unchained: it has no hashes to verify`);
        const rows = (this.#sql.walk.iterate(feed) as IterableIterator<EntryRow>);
        const chained = mapRows(rows, toChainedRow);
        return walkChain(chained, info.last_seq, (hash) => (this.#sql.idByHash.get(feed, hash) as { id: string } | undefined)?.id);
      }).deferred();
    });
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #appendInTransaction(feed: string, entry: NewEntry, options: AppendOptions): AppendResult {
    if (entry.key !== undefined) {
      const stored = this.#sql.entryByKey.get(feed, entry.key) as EntryRow | undefined;
      if (stored !== undefined) return { entry: toEntry(stored), created: false };
    }
    const wantChained = options.chained ?? true;
    let row = this.#sql.feedByName.get(feed) as FeedRow | undefined;
    if (row === undefined) {
      row = { name: feed, chained: wantChained ? 1 : 0, created: new Date().toISOString(), last_seq: 0, last_hash: null };
      this.#sql.insertFeed.run(row.name, row.chained, row.created);
    } else if (options.chained !== undefined && (row.chained === 1) !== wantChained) {
      throw new FeedError('FEED_BAD_ENTRY', `feed ${feed} is ${row.chained === 1 ? '' : 'not '}chained; an append cannot change that`);
    }
    if (options.afterSeq !== undefined && options.afterSeq !== row.last_seq) {
      throw new FeedError('FEED_TAIL_MOVED', `feed ${feed} ends at entry ${row.last_seq}, not ${options.afterSeq}: the entry was not appended`);
    }
    const seq = row.last_seq + 1;
    const base = {
      feed, seq, id: `${seq}-${randomBytes(9).toString('base64url')}`, time: new Date().toISOString(),
      title: entry.title, content: entry.content, contentType: entry.contentType ?? 'text/plain',
    };
    const chain = row.chained === 1 ? chainOf(base, row.last_hash ?? ZERO_HASH) : undefined;
    this.#sql.insertEntry.run(base.feed, seq, base.id, base.time, base.title, base.content, base.contentType,
      chain?.prevHash ?? null, chain?.hash ?? null, entry.key ?? null);
    this.#sql.advanceFeed.run(seq, chain?.hash ?? null, feed);
    return { entry: chain === undefined ? base : { ...base, ...chain }, created: true };
  }

  #checkEntry(entry: NewEntry): void {
    checkNewEntry(entry, this.#options.maxContentBytes);
  }

  #pageSize(query: PageQuery): number {
    const size = query.pageSize ?? this.#options.defaultPageSize;
    if (!Number.isInteger(size) || size < 1 || size > this.#options.maxPageSize) {
      throw new FeedError('FEED_BAD_PAGE_SIZE', `page size must be an integer in 1..${this.#options.maxPageSize}, got ${size}`);
    }
    return size;
  }

  #feed(feed: string): FeedRow {
    const row = this.#sql.feedByName.get(feed) as FeedRow | undefined;
    if (row === undefined) throw new FeedError('FEED_NOT_FOUND', `no feed named ${feed}`);
    return row;
  }

  /** The first sequence a query returns (an index lookup on (feed, id) when an id is given). */
  #firstSeq(feed: string, query: PageQuery): number {
    const id = query.startAfter ?? query.startAt;
    if (id === undefined) return 1;
    const found = this.#sql.seqById.get(feed, id) as { seq: number } | undefined;
    if (found === undefined) throw new FeedError('FEED_UNKNOWN_ENTRY', `feed ${feed} has no entry ${JSON.stringify(id)}`);
    return query.startAfter !== undefined ? found.seq + 1 : found.seq;
  }

  #run<T>(work: () => T): T {
    if (!this.#db.open) throw new FeedError('FEED_CLOSED', 'the feed store is closed');
    return guard(work);
  }
}

function prepare(db: SqliteDatabase): Record<
  'feedByName' | 'insertFeed' | 'insertEntry' | 'entryByKey' | 'tail' | 'advanceFeed' | 'pageFrom' | 'entryById' | 'seqById' | 'allFeeds' | 'walk' | 'idByHash',
  Statement
> {
  return {
    feedByName: db.prepare('SELECT name, chained, created, last_seq, last_hash FROM feeds WHERE name = ?'),
    insertFeed: db.prepare('INSERT INTO feeds (name, chained, created) VALUES (?, ?, ?)'),
    insertEntry: db.prepare(`INSERT INTO entries (feed, seq, id, time, title, content, content_type, prev_hash, hash, key)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    entryByKey: db.prepare('SELECT * FROM entries WHERE feed = ? AND key = ?'),
    tail: db.prepare('SELECT * FROM entries WHERE feed = ? ORDER BY seq DESC LIMIT 1'),
    advanceFeed: db.prepare('UPDATE feeds SET last_seq = ?, last_hash = ? WHERE name = ?'),
    pageFrom: db.prepare('SELECT * FROM entries WHERE feed = ? AND seq >= ? ORDER BY seq LIMIT ?'),
    entryById: db.prepare('SELECT * FROM entries WHERE feed = ? AND id = ?'),
    seqById: db.prepare('SELECT seq FROM entries WHERE feed = ? AND id = ?'),
    allFeeds: db.prepare('SELECT name, chained, created, last_seq, last_hash FROM feeds ORDER BY name'),
    walk: db.prepare('SELECT * FROM entries WHERE feed = ? ORDER BY seq'),
    // Only on a broken link (telling reordering from alteration), so a scan is acceptable here.
    idByHash: db.prepare('SELECT id FROM entries WHERE feed = ? AND hash = ? LIMIT 1'),
  };
}

function chainOf(base: Omit<ChainedRow, 'prevHash' | 'hash'>, prevHash: string): { prevHash: string; hash: string } {
  return { prevHash, hash: entryHash({ ...base, prevHash }) };
}

function toEntry(r: EntryRow): FeedEntry {
  const base = { id: r.id, feed: r.feed, seq: r.seq, time: r.time, title: r.title, content: r.content, contentType: r.content_type };
  return r.hash === null || r.prev_hash === null ? base : { ...base, prevHash: r.prev_hash, hash: r.hash };
}

function toChainedRow(r: EntryRow): ChainedRow {
  return { ...toEntry(r), prevHash: r.prev_hash ?? '', hash: r.hash ?? '' };
}

function* mapRows<A, B>(rows: Iterable<A>, f: (a: A) => B): Generator<B> {
  for (const row of rows) yield f(row);
}

/** Runs `work`, turning anything but a FeedError (SQLite's errors, a full disk) into FEED_STORE_FAILED. */
function guard<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof FeedError) throw error;
    throw new FeedError('FEED_STORE_FAILED', `feed store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
