/**
 * The tamper-evident chain on real SQLite files: a whole chain verifies, and each kind of
 * tampering done with raw SQL (a field altered, an entry altered and re-hashed, an entry
 * deleted, the tail deleted, two entries swapped) is detected, naming the entry.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { canonicalForm, entryHash, FeedError, openSqliteFeedStore, ZERO_HASH, type FeedStore } from '../../src/feed/index.ts';
import { feedStores, fill } from './support.ts';

const stores = feedStores();

/** A closed store file with 5 chained entries, tampered with by `sql`, then reopened and verified. */
function tampered(sql: (db: Database.Database, ids: string[]) => void): { report: ReturnType<FeedStore['verifyChain']>; ids: string[] } {
  const { store, path } = stores.open();
  const ids = fill(store, 'audit', 5);
  expect(store.verifyChain('audit')).toEqual({ count: 5 });
  store.close();
  const db = new Database(path);
  try {
    sql(db, ids);
  } finally {
    db.close();
  }
  const again = openSqliteFeedStore({ path });
  try {
    return { report: again.verifyChain('audit'), ids };
  } finally {
    again.close();
  }
}

describe('the chain', () => {
  it('links each entry to its predecessor\'s canonical form, from 64 zeros', () => {
    const { store } = stores.open();
    const [first, second] = [store.append('audit', { title: 'a', content: 'x' }), store.append('audit', { title: 'b', content: 'y' })];
    expect(first.prevHash).toBe(ZERO_HASH);
    expect(first.hash).toBe(entryHash({ ...first, prevHash: ZERO_HASH }));
    expect(second.prevHash).toBe(first.hash);
    expect(canonicalForm({ ...first, prevHash: ZERO_HASH })).toBe(JSON.stringify({
      content: 'x', content_type: 'text/plain', feed: 'audit', id: first.id, prev_hash: ZERO_HASH, seq: 1, time: first.time, title: 'a',
    }));
    expect(store.verifyChain('audit')).toEqual({ count: 2 });
  });

  it('refuses to verify an unchained or unknown feed', () => {
    const { store } = stores.open();
    fill(store, 'plain', 2, false);
    expect(() => store.verifyChain('plain')).toThrow(expect.objectContaining({ code: 'FEED_NOT_CHAINED' }));
    expect(() => store.verifyChain('plain')).toThrow(FeedError);
    expect(() => store.verifyChain('none')).toThrow(expect.objectContaining({ code: 'FEED_NOT_FOUND' }));
  });

  it('stays whole under appends interleaved across feeds', () => {
    const { store } = stores.open();
    for (let i = 0; i < 50; i += 1) store.append(i % 2 === 0 ? 'a' : 'b', { title: `t${i}`, content: 'c' });
    expect(store.verifyChain('a')).toEqual({ count: 25 });
    expect(store.verifyChain('b')).toEqual({ count: 25 });
  });
});

describe('tampering is detected, naming the entry', () => {
  it('a field altered with raw SQL', () => {
    const { report, ids } = tampered((db, ids) => db.prepare("UPDATE entries SET content = 'forged' WHERE id = ?").run(ids[2]));
    expect(report).toEqual({ count: 2, broken: { id: ids[2], seq: 3, problem: 'altered', detail: expect.any(String) } });
  });

  it('a field altered and the entry re-hashed: its successor names it', () => {
    const { report, ids } = tampered((db, ids) => {
      const row = db.prepare('SELECT * FROM entries WHERE id = ?').get(ids[1]) as Record<string, string | number>;
      const forged = {
        feed: 'audit', id: String(row.id), seq: Number(row.seq), time: String(row.time), title: String(row.title),
        content: 'forged', contentType: String(row.content_type), prevHash: String(row.prev_hash),
      };
      db.prepare('UPDATE entries SET content = ?, hash = ? WHERE id = ?').run('forged', entryHash(forged), ids[1]);
    });
    expect(report.broken).toMatchObject({ id: ids[1], seq: 2, problem: 'altered' });
  });

  it('a prev_hash altered', () => {
    const { report, ids } = tampered((db, ids) => db.prepare('UPDATE entries SET prev_hash = ? WHERE id = ?').run('f'.repeat(64), ids[3]));
    expect(report.broken).toMatchObject({ id: ids[3], seq: 4, problem: 'altered' });
  });

  it('an entry deleted', () => {
    const { report, ids } = tampered((db, ids) => db.prepare('DELETE FROM entries WHERE id = ?').run(ids[1]));
    expect(report).toEqual({ count: 1, broken: { id: ids[2], seq: 3, problem: 'missing', detail: expect.stringContaining('2') } });
  });

  it('the last entry deleted', () => {
    const { report, ids } = tampered((db, ids) => db.prepare('DELETE FROM entries WHERE id = ?').run(ids[4]));
    expect(report).toEqual({ count: 4, broken: { id: ids[3], seq: 4, problem: 'missing', detail: expect.stringContaining('5') } });
  });

  it('an entry moved before the first', () => {
    const { report, ids } = tampered((db, ids) => db.prepare('UPDATE entries SET seq = 0 WHERE id = ?').run(ids[3]));
    expect(report.broken).toMatchObject({ id: ids[3], seq: 0 });
    expect(report.count).toBe(0);
  });

  it('two entries swapped', () => {
    const { report, ids } = tampered((db, ids) => {
      db.transaction(() => {
        db.prepare('UPDATE entries SET seq = -2 WHERE id = ?').run(ids[1]);
        db.prepare('UPDATE entries SET seq = 2 WHERE id = ?').run(ids[2]);
        db.prepare('UPDATE entries SET seq = 3 WHERE id = ?').run(ids[1]);
      })();
    });
    expect(report).toEqual({ count: 1, broken: { id: ids[2], seq: 2, problem: 'out_of_order', detail: expect.stringContaining(String(ids[1])) } });
  });
});
