/**
 * The SQLite feed store on real files: AtomMQ's append and paging semantics, page-size bounds,
 * ETags, options, the schema on disk, and typed errors.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { FEED_SCHEMA_VERSION, FeedError, feedStoreOptionsSchema, openSqliteFeedStore, type FeedStore } from '../../src/feed/index.ts';
import { feedStores, fill } from './support.ts';

const stores = feedStores();

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(FeedError);
    return (error as FeedError).code;
  }
  return undefined;
}

const titles = (store: FeedStore, feed: string, query = {}): string[] => store.page(feed, query).entries.map((e) => e.title);

describe('append', () => {
  it('creates the feed on the first append and numbers entries 1, 2, 3 with distinct URL-safe ids', () => {
    const { store } = stores.open();
    expect(store.feeds()).toEqual([]);
    const [a, b] = [store.append('orders', { title: 'one', content: 'x' }), store.append('orders', { title: 'two', content: 'y', contentType: 'application/json' })];
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Date(a.time).toISOString()).toBe(a.time);
    expect(a.contentType).toBe('text/plain');
    expect(b.contentType).toBe('application/json');
    expect(store.feeds()).toEqual([{ name: 'orders', chained: true, lastSeq: 2, created: expect.any(String) }]);
    expect(store.get('orders', b.id)).toEqual(b);
  });

  it('is durable: a reopened store returns the same entries', () => {
    const { store, path } = stores.open();
    const ids = fill(store, 'f', 3);
    store.close();
    const again = openSqliteFeedStore({ path });
    try {
      expect(again.page('f').entries.map((e) => e.id)).toEqual(ids);
    } finally {
      again.close();
    }
  });

  it('an unchained feed carries no hashes, and an append cannot change a feed\'s kind', () => {
    const { store } = stores.open();
    const entry = store.append('plain', { title: 't', content: 'c' }, { chained: false });
    expect(entry.hash).toBeUndefined();
    expect(entry.prevHash).toBeUndefined();
    expect(store.get('plain', entry.id).hash).toBeUndefined();
    expect(codeOf(() => store.append('plain', { title: 't', content: 'c' }, { chained: true }))).toBe('FEED_BAD_ENTRY');
    expect(store.append('plain', { title: 't2', content: 'c' }).seq).toBe(2);
  });

  it('refuses bad names and entries with typed errors', () => {
    const { store } = stores.open({ maxContentBytes: 8 });
    expect(codeOf(() => store.append('a/b', { title: 't', content: 'c' }))).toBe('FEED_BAD_NAME');
    expect(codeOf(() => store.append('', { title: 't', content: 'c' }))).toBe('FEED_BAD_NAME');
    expect(codeOf(() => store.append('f', { title: '', content: 'c' }))).toBe('FEED_BAD_ENTRY');
    expect(codeOf(() => store.append('f', { title: 't', content: 'ééééé' }))).toBe('FEED_BAD_ENTRY');
    expect(store.append('f', { title: 't', content: '12345678' }).seq).toBe(1);
  });
});

describe('page', () => {
  const { store } = stores.open();
  const ids = fill(store, 'q', 5);

  it('returns entries oldest first; start_after those after the id, start_at from it on', () => {
    expect(titles(store, 'q')).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(titles(store, 'q', { startAfter: ids[1] })).toEqual(['e3', 'e4', 'e5']);
    expect(titles(store, 'q', { startAt: ids[1] })).toEqual(['e2', 'e3', 'e4', 'e5']);
    expect(titles(store, 'q', { startAfter: ids[4] })).toEqual([]);
  });

  it('pages by page_size with a next link only while more entries follow', () => {
    const first = store.page('q', { pageSize: 2 });
    expect(first.entries.map((e) => e.title)).toEqual(['e1', 'e2']);
    expect(first.next).toBe(ids[1]);
    expect(store.page('q', { startAfter: ids[2], pageSize: 2 })).toEqual({ entries: store.page('q', { startAt: ids[3] }).entries });
    expect(store.page('q', { pageSize: 5 }).next).toBeUndefined();
  });

  it('fails with typed errors on an unknown id, unknown feed, both starts, or a page size out of bounds', () => {
    expect(codeOf(() => store.page('q', { startAfter: 'nope' }))).toBe('FEED_UNKNOWN_ENTRY');
    expect(codeOf(() => store.page('q', { startAt: 'nope' }))).toBe('FEED_UNKNOWN_ENTRY');
    expect(codeOf(() => store.get('q', 'nope'))).toBe('FEED_UNKNOWN_ENTRY');
    // An id of another feed is unknown here.
    const other = store.append('other', { title: 'o', content: 'o' });
    expect(codeOf(() => store.page('q', { startAfter: other.id }))).toBe('FEED_UNKNOWN_ENTRY');
    expect(codeOf(() => store.page('missing'))).toBe('FEED_NOT_FOUND');
    expect(codeOf(() => store.get('missing', ids[0] as string))).toBe('FEED_NOT_FOUND');
    expect(codeOf(() => store.page('q', { startAfter: ids[0], startAt: ids[1] }))).toBe('FEED_BAD_QUERY');
    for (const pageSize of [0, -1, 10_001, 1.5, Number.NaN]) {
      expect(codeOf(() => store.page('q', { pageSize }))).toBe('FEED_BAD_PAGE_SIZE');
    }
    expect(store.page('q', { pageSize: 1 }).entries).toHaveLength(1);
    expect(store.page('q', { pageSize: 10_000 }).entries).toHaveLength(5);
  });

  it('uses the default page size (1000) when a query gives none', () => {
    const { store: big } = stores.open({ synchronous: 'NORMAL' });
    fill(big, 'b', 1_001);
    const page = big.page('b');
    expect(page.entries).toHaveLength(1_000);
    expect(page.next).toBe(page.entries.at(-1)?.id);
  });

  it('looks start_after up through the (feed, id) index, never a scan', () => {
    const { path } = stores.open();
    const db = new Database(path, { readonly: true });
    try {
      const plan = db.prepare('EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE feed = ? AND id = ?').all('q', 'x') as { detail: string }[];
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING (COVERING )?INDEX entries_by_id/);
      const paging = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM entries WHERE feed = ? AND seq >= ? ORDER BY seq LIMIT ?').all('q', 1, 2) as { detail: string }[];
      expect(paging.map((p) => p.detail).join(' ')).toMatch(/USING (INDEX|PRIMARY KEY)/);
      expect(paging.map((p) => p.detail).join(' ')).not.toMatch(/TEMP B-TREE/);
    } finally {
      db.close();
    }
  });
});

describe('10,000 entries', () => {
  it('paged with start_after return each entry exactly once, in order', () => {
    // synchronous=NORMAL: 10,000 fsyncs would measure the disk, not the paging under test.
    const { store } = stores.open({ synchronous: 'NORMAL' });
    const ids = fill(store, 'bulk', 10_000);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = store.page('bulk', after === undefined ? { pageSize: 777 } : { startAfter: after, pageSize: 777 });
      seen.push(...page.entries.map((e) => e.id));
      after = page.next;
      pages += 1;
    } while (after !== undefined);
    expect(pages).toBe(Math.ceil(10_000 / 777));
    expect(seen).toEqual(ids);
    expect(store.verifyChain('bulk')).toEqual({ count: 10_000 });
  });
});

describe('etag', () => {
  it('changes when an entry is appended to the feed, and not on reads or other feeds\' appends', () => {
    const { store } = stores.open();
    const ids = fill(store, 'e', 2);
    const before = store.etag('e');
    const query = { startAfter: ids[0] as string, pageSize: 10 };
    const withQuery = store.etag('e', query);
    expect(withQuery).not.toBe(before);
    store.page('e');
    store.get('e', ids[0] as string);
    store.append('elsewhere', { title: 't', content: 'c' });
    expect(store.etag('e')).toBe(before);
    expect(store.etag('e', { pageSize: 1_000 })).toBe(before);
    expect(store.etag('e', query)).toBe(withQuery);
    store.append('e', { title: 't', content: 'c' });
    expect(store.etag('e')).not.toBe(before);
    expect(store.etag('e', query)).not.toBe(withQuery);
    expect(store.etag('e')).toMatch(/^"[^"]+"$/);
    expect(codeOf(() => store.etag('missing'))).toBe('FEED_NOT_FOUND');
    expect(codeOf(() => store.etag('e', { pageSize: 0 }))).toBe('FEED_BAD_PAGE_SIZE');
  });
});

describe('the store', () => {
  it('validates its options with FEED_BAD_OPTION', () => {
    expect(codeOf(() => openSqliteFeedStore({ path: '' }))).toBe('FEED_BAD_OPTION');
    expect(codeOf(() => openSqliteFeedStore({ path: '/x', maxPageSize: 0 }))).toBe('FEED_BAD_OPTION');
    expect(codeOf(() => openSqliteFeedStore({ path: '/x', maxPageSize: 10, defaultPageSize: 11 }))).toBe('FEED_BAD_OPTION');
    expect(codeOf(() => openSqliteFeedStore({ path: '/x', extra: 1 } as never))).toBe('FEED_BAD_OPTION');
  });

  it('writes a versioned schema in WAL mode, synchronous=FULL by default', () => {
    const { store, path } = stores.open();
    fill(store, 'f', 1);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(FEED_SCHEMA_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
    // synchronous is a setting of the store's own connection, not of the file: its default is checked here.
    expect(feedStoreOptionsSchema.parse({ path }).synchronous).toBe('FULL');
  });

  it('refuses a file written by a newer schema', () => {
    const { store, path } = stores.open();
    store.close();
    const db = new Database(path);
    db.pragma(`user_version = ${FEED_SCHEMA_VERSION + 1}`);
    db.close();
    expect(codeOf(() => openSqliteFeedStore({ path }))).toBe('FEED_STORE_FAILED');
  });

  it('fails with FEED_CLOSED after close', () => {
    const { store } = stores.open();
    fill(store, 'f', 1);
    store.close();
    expect(codeOf(() => store.page('f'))).toBe('FEED_CLOSED');
    expect(codeOf(() => store.append('f', { title: 't', content: 'c' }))).toBe('FEED_CLOSED');
  });
});

describe('de-duplication keys and appendMany', () => {
  it('an entry whose key the feed holds is not appended again; the stored one is returned', () => {
    const { store } = stores.open();
    const first = store.append('audit', { title: 'one', content: 'a', key: 'k1' });
    const again = store.append('audit', { title: 'other', content: 'b', key: 'k1' });
    expect(again).toEqual(first);
    expect(titles(store, 'audit')).toEqual(['one']);
    // Keys are per feed.
    expect(store.append('payments', { title: 'p', content: 'c', key: 'k1' }).seq).toBe(1);
    expect(store.verifyChain('audit')).toEqual({ count: 1 });
  });

  it('appendMany commits every append in order, reporting which were new', () => {
    const { store } = stores.open();
    store.append('audit', { title: 'zero', content: 'z', key: 'k0' });
    const results = store.appendMany([
      { feed: 'audit', entry: { title: 'one', content: 'a', key: 'k1' } },
      { feed: 'audit', entry: { title: 'dup', content: 'a', key: 'k0' } },
      { feed: 'payments', entry: { title: 'p', content: 'b' } },
      { feed: 'audit', entry: { title: 'dup-in-batch', content: 'a', key: 'k1' } },
    ]);
    expect(results.map((r) => [r.entry.title, r.created])).toEqual([['one', true], ['zero', false], ['p', true], ['one', false]]);
    expect(titles(store, 'audit')).toEqual(['zero', 'one']);
    expect(store.verifyChain('audit')).toEqual({ count: 2 });
  });

  it('appendMany with one invalid append writes nothing', () => {
    const { store } = stores.open();
    const code = codeOf(() => store.appendMany([
      { feed: 'audit', entry: { title: 'one', content: 'a' } },
      { feed: 'audit', entry: { title: '', content: 'b' } },
    ]));
    expect(code).toBe('FEED_BAD_ENTRY');
    expect(store.feeds()).toEqual([]);
    expect(codeOf(() => store.append('audit', { title: 't', content: 'c', key: '' }))).toBe('FEED_BAD_ENTRY');
  });

  it('upgrades a version-1 file in place: its entries stay, keys work', () => {
    const { path } = stores.open();
    const db = new Database(path);
    db.exec('DROP INDEX entries_by_key; ALTER TABLE entries DROP COLUMN key; PRAGMA user_version = 1;');
    db.close();
    const store = openSqliteFeedStore({ path });
    store.append('audit', { title: 'k', content: 'x', key: 'k' });
    expect(store.append('audit', { title: 'k2', content: 'y', key: 'k' }).title).toBe('k');
    store.close();
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(FEED_SCHEMA_VERSION);
    check.close();
  });
});

describe('characters Atom cannot carry', () => {
  it.each([
    ['a control character in the title', { title: 'a\u0001b', content: 'x' }],
    ['a control character in the content', { title: 't', content: 'x\u001by' }],
    ['a lone surrogate', { title: 't', content: 'x\ud800y' }],
    ['U+FFFE', { title: 't\ufffe', content: 'x' }],
    ['a tab in the media type (an XML attribute turns it into a space)', { title: 't', content: 'x', contentType: 'text/x;\ta=b' }],
    ['a line feed in the media type', { title: 't', content: 'x', contentType: 'text/x;\na=b' }],
  ])('refuses %s with FEED_BAD_ENTRY and writes nothing', (_what, entry) => {
    const { store } = stores.open();
    expect(codeOf(() => store.append('notes', entry))).toBe('FEED_BAD_ENTRY');
    expect(store.feeds()).toEqual([]);
  });

  it('accepts tab, LF, CR, astral characters and JSON-escaped controls', () => {
    const { store } = stores.open();
    const content = `a\tb\nc\r\n😀 ${JSON.stringify('\u0001\ud800')}`;
    expect(store.append('notes', { title: 'ok 😀', content }).content).toBe(content);
  });
});

describe('tail and afterSeq', () => {
  it('tail is the last entry, undefined for no feed entry, FEED_NOT_FOUND for no feed', () => {
    const { store } = stores.open();
    expect(codeOf(() => store.tail('audit'))).toBe('FEED_NOT_FOUND');
    fill(store, 'audit', 3);
    expect(store.tail('audit')).toEqual(store.page('audit').entries[2]);
  });

  it('afterSeq appends only while the feed still ends there; FEED_TAIL_MOVED writes nothing', () => {
    const { store } = stores.open();
    expect(store.append('audit', { title: 'first', content: 'a' }, { afterSeq: 0 }).seq).toBe(1);
    expect(store.append('audit', { title: 'second', content: 'b' }, { afterSeq: 1 }).seq).toBe(2);
    expect(codeOf(() => store.append('audit', { title: 'stale', content: 'c' }, { afterSeq: 1 }))).toBe('FEED_TAIL_MOVED');
    expect(codeOf(() => store.append('fresh', { title: 'x', content: 'c' }, { afterSeq: 4 }))).toBe('FEED_TAIL_MOVED');
    expect(store.feeds().map((f) => f.name)).toEqual(['audit']);
    expect(titles(store, 'audit')).toEqual(['first', 'second']);
  });
});
