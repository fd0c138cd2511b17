/**
 * Where the verifier reads a feed from: the feed server's SQLite file (opened read-only) or its
 * HTTP API (http-source.ts). Either way entries arrive one at a time in sequence order, so a feed
 * of millions of entries is walked in constant memory.
 */
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { FEED_SCHEMA_VERSION, type FeedEntry } from '../feed/index.ts';
import { AuditError } from './errors.ts';

/** A feed to verify, as the verifier reads it. */
export interface ChainSource {
  /** The feed's name. */
  readonly feed: string;
  /** Where it is read from, for messages (a path or a URL). */
  readonly where: string;
  /** The sequence of the feed's last entry as recorded apart from the entries (lets a deleted tail be seen); undefined when the source has none. */
  readonly lastSeq: number | undefined;
  /**
   * Set when the source records the feed as unchained although its entries carry hashes: the
   * record was changed after the fact (the verifier reports the chain broken at its first entry).
   */
  readonly unchainedRecordOfChainedFeed?: boolean;
  /**
   * The feed's entries, oldest first, as stored: an entry whose hashes were removed comes without
   * them (the verifier reports it altered). Fails with AuditError (AUDIT_SOURCE_FAILED,
   * AUDIT_BAD_RESPONSE, AUDIT_NOT_CHAINED).
   */
  entries(): AsyncIterable<FeedEntry>;
  /** Which entry (id) carries this hash, if the source can tell; asked only at a broken link. */
  idOfHash(hash: string): string | undefined;
  close(): void;
}

interface EntryRow {
  feed: string; seq: number; id: string; time: string; title: string; content: string;
  content_type: string; prev_hash: string | null; hash: string | null;
}

/**
 * Opens feed `feed` of a feed store's SQLite file read-only (the file must exist; nothing is ever
 * written, so a copy taken for an audit stays as it was).
 */
export function openSqliteSource(path: string, feed: string): ChainSource {
  const walk = openReadOnly(path);
  const lookup = openReadOnly(path); // the walk's statement keeps its connection busy until it ends
  try {
    const version = walk.pragma('user_version', { simple: true }) as number;
    if (version < 1 || version > FEED_SCHEMA_VERSION) {
      throw new AuditError('AUDIT_SOURCE_FAILED', `${path} is not a feed store this paygate reads (schema version ${version})`);
    }
    const info = walk.prepare('SELECT chained, last_seq FROM feeds WHERE name = ?').get(feed) as { chained: number; last_seq: number } | undefined;
    if (info === undefined) throw new AuditError('AUDIT_SOURCE_FAILED', `${path} holds no feed named ${feed}`);
    // A feed recorded unchained whose entries carry hashes was chained: the record was changed.
    const hashed = info.chained !== 1 && walk.prepare('SELECT 1 FROM entries WHERE feed = ? AND (hash IS NOT NULL OR prev_hash IS NOT NULL) LIMIT 1').get(feed) !== undefined;
    if (info.chained !== 1 && !hashed) throw new AuditError('AUDIT_NOT_CHAINED', `feed ${feed} was created unchained: it has no hashes to verify`);
    const byHash = lookup.prepare('SELECT id FROM entries WHERE feed = ? AND hash = ? LIMIT 1');
    return {
      feed,
      where: path,
      lastSeq: info.last_seq,
      ...(hashed ? { unchainedRecordOfChainedFeed: true } : {}),
      entries: () => sqliteEntries(walk, feed, path),
      idOfHash: (hash) => sqlite(path, () => (byHash.get(feed, hash) as { id: string } | undefined)?.id),
      close: () => {
        walk.close();
        lookup.close();
      },
    };
  } catch (error) {
    walk.close();
    lookup.close();
    throw error instanceof AuditError ? error : sqliteFailed(path, error);
  }
}

async function* sqliteEntries(db: SqliteDatabase, feed: string, path: string): AsyncGenerator<FeedEntry> {
  // One statement: SQLite reads it in one snapshot, so appends made meanwhile are not half-seen.
  const rows = sqlite(path, () => db.prepare('SELECT * FROM entries WHERE feed = ? ORDER BY seq').iterate(feed) as IterableIterator<EntryRow>);
  try {
    for (;;) {
      const next = sqlite(path, () => rows.next());
      if (next.done === true) return;
      const r = next.value;
      yield {
        id: r.id, feed: r.feed, seq: r.seq, time: r.time, title: r.title, content: r.content, contentType: r.content_type,
        ...(r.prev_hash === null ? {} : { prevHash: r.prev_hash }),
        ...(r.hash === null ? {} : { hash: r.hash }),
      };
    }
  } finally {
    rows.return?.(); // a walk stopped at a broken link releases the statement (and its snapshot)
  }
}

function openReadOnly(path: string): SqliteDatabase {
  try {
    return new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw sqliteFailed(path, error);
  }
}

function sqlite<T>(path: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw error instanceof AuditError ? error : sqliteFailed(path, error);
  }
}

function sqliteFailed(path: string, error: unknown): AuditError {
  const reason = error instanceof Error ? error.message : String(error);
  return new AuditError('AUDIT_SOURCE_FAILED', `cannot read the feed store ${path}: ${reason}`, { cause: error });
}
