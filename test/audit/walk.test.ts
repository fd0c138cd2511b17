/**
 * The verifier's streaming link check (src/audit/walk.ts) and the store's walkChain
 * (FeedStore.verifyChain) must report the same first broken link for every kind of tampering:
 * an auditor and the server then never disagree about where a chain breaks.
 */
import { describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { openSqliteSource, verifyFeed } from '../../src/audit/index.ts';
import { entryHash } from '../../src/feed/index.ts';
import { feedStores, fill } from '../feed/support.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { rehashFrom, swapSeq, tamper, type Row } from './support.ts';

const stores = feedStores();

const CASES: Record<string, (db: Database.Database) => void> = {
  'content altered': (db) => db.prepare("UPDATE entries SET content = 'x' WHERE feed = 'f' AND seq = 3").run(),
  'time altered': (db) => db.prepare("UPDATE entries SET time = '2020-01-01T00:00:00.000Z' WHERE feed = 'f' AND seq = 1").run(),
  'prev_hash altered': (db) => db.prepare(`UPDATE entries SET prev_hash = '${'ab'.repeat(32)}' WHERE feed = 'f' AND seq = 4`).run(),
  'first prev_hash altered and re-hashed': (db) => {
    const r = db.prepare("SELECT * FROM entries WHERE feed = 'f' AND seq = 1").get() as Row;
    const prevHash = 'cd'.repeat(32);
    const hash = entryHash({ feed: 'f', id: r.id, seq: 1, time: r.time, title: r.title, content: r.content, contentType: r.content_type, prevHash });
    db.prepare("UPDATE entries SET prev_hash = ?, hash = ? WHERE feed = 'f' AND seq = 1").run(prevHash, hash);
  },
  'one entry altered and re-hashed alone': (db) => {
    db.prepare("UPDATE entries SET title = 'changed' WHERE feed = 'f' AND seq = 3").run();
    const r = db.prepare("SELECT * FROM entries WHERE feed = 'f' AND seq = 3").get() as Row;
    const hash = entryHash({ feed: 'f', id: r.id, seq: 3, time: r.time, title: r.title, content: r.content, contentType: r.content_type, prevHash: r.prev_hash });
    db.prepare("UPDATE entries SET hash = ? WHERE feed = 'f' AND seq = 3").run(hash);
  },
  'entry deleted': (db) => db.prepare("DELETE FROM entries WHERE feed = 'f' AND seq = 2").run(),
  'tail deleted': (db) => db.prepare("DELETE FROM entries WHERE feed = 'f' AND seq >= 5").run(),
  'every entry deleted': (db) => db.prepare("DELETE FROM entries WHERE feed = 'f'").run(),
  'two entries swapped': (db) => swapSeq(db, 'f', 2, 5),
  'entry renumbered below its place': (db) => db.prepare("UPDATE entries SET seq = 0 WHERE feed = 'f' AND seq = 1").run(),
  'middle rewritten and everything after re-hashed (only checkpoints can tell)': (db) => {
    db.prepare("UPDATE entries SET content = 'rewritten' WHERE feed = 'f' AND seq = 3").run();
    rehashFrom(db, 'f', 3);
  },
};

describe('the streaming link check agrees with the store\'s walkChain', () => {
  for (const [name, edit] of Object.entries(CASES)) {
    it(name, async () => {
      const pki = await makeTestPki();
      const { store, path } = stores.open();
      fill(store, 'f', 6);
      tamper(path, edit);
      const expected = store.verifyChain('f');
      // The edit took effect: the chain alone sees it, except the one case made to pass it.
      expect(expected.broken === undefined).toBe(name.includes('only checkpoints can tell'));
      const source = openSqliteSource(path, 'f');
      try {
        const report = await verifyFeed(source, { trust: [pki.ca.certPem] });
        expect(report.count).toBe(expected.count);
        expect(report.broken).toEqual(expected.broken);
      } finally {
        source.close();
      }
    });
  }
});
