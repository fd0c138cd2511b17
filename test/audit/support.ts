/**
 * The audit tests' tampering kit: edits a feed store's SQLite file directly (as an attacker with
 * the file would), with the sqlite3 library and no paygate code in between, and re-hashes the
 * chain after an edit when the test wants only the checkpoints' signatures to catch it.
 */
import Database from 'better-sqlite3';
import { startCheckpointer } from '../../src/audit/index.ts';
import { entryHash, type FeedStore } from '../../src/feed/index.ts';
import type { Identity } from '../../src/wire/index.ts';

/**
 * Fills feed `audit` of `store` as the feed server would: 1-4 entries, 5 checkpoint, 6-8
 * entries, 9 checkpoint, 10-11 entries (JSON content with a CR and non-ASCII text).
 */
export function fillAudit(store: FeedStore, feedSigner: Identity): void {
  const cp = startCheckpointer({ store, identity: feedSigner, intervalMs: 0 });
  const add = (n: number): void => {
    for (let i = 0; i < n; i += 1) store.append('audit', { title: `card capture ok ${i}`, content: `{"n":${i}}\r\nZoë`, contentType: 'application/json' });
  };
  add(4);
  cp.checkpoint('audit');
  add(3);
  cp.checkpoint('audit');
  add(2);
}

/** An entry row as stored. */
export interface Row {
  seq: number; id: string; time: string; title: string; content: string; content_type: string; prev_hash: string; hash: string;
}

/** Runs `edit` on the file in one transaction (no paygate code involved). */
export function tamper(path: string, edit: (db: Database.Database) => void): void {
  const db = new Database(path);
  try {
    db.transaction(() => edit(db))();
  } finally {
    db.close();
  }
}

/** The row of `feed` at `seq`. */
export function rowAt(path: string, feed: string, seq: number): Row {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM entries WHERE feed = ? AND seq = ?').get(feed, seq) as Row;
  } finally {
    db.close();
  }
}

/**
 * Recomputes `prev_hash` and `hash` of every entry of `feed` from `fromSeq` on, and the feed's
 * recorded tail hash: after it the chain is consistent again, whatever was edited.
 */
export function rehashFrom(db: Database.Database, feed: string, fromSeq: number): void {
  const rows = db.prepare('SELECT * FROM entries WHERE feed = ? AND seq >= ? ORDER BY seq').all(feed, fromSeq) as Row[];
  const before = db.prepare('SELECT hash FROM entries WHERE feed = ? AND seq = ?').get(feed, fromSeq - 1) as { hash: string } | undefined;
  let prevHash = before?.hash ?? '0'.repeat(64);
  const update = db.prepare('UPDATE entries SET prev_hash = ?, hash = ? WHERE feed = ? AND seq = ?');
  for (const r of rows) {
    const hash = entryHash({ feed, id: r.id, seq: r.seq, time: r.time, title: r.title, content: r.content, contentType: r.content_type, prevHash });
    update.run(prevHash, hash, feed, r.seq);
    prevHash = hash;
  }
  db.prepare('UPDATE feeds SET last_hash = ? WHERE name = ?').run(prevHash, feed);
}

/** Swaps the places of the entries at `a` and `b` (their seq numbers), nothing else. */
export function swapSeq(db: Database.Database, feed: string, a: number, b: number): void {
  const move = db.prepare('UPDATE entries SET seq = ? WHERE feed = ? AND seq = ?');
  move.run(-1, feed, a);
  move.run(a, feed, b);
  move.run(b, feed, -1);
}
