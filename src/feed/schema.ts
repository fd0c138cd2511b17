/**
 * The SQLite schema of the feed store, versioned by `PRAGMA user_version`. Created at open;
 * a file from a newer version is refused rather than misread.
 */
import type { Database } from 'better-sqlite3';
import { FeedError } from './errors.ts';

export const FEED_SCHEMA_VERSION = 2;

const SCHEMA_V1 = `
CREATE TABLE feeds (
  name TEXT PRIMARY KEY,
  chained INTEGER NOT NULL,
  created TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_hash TEXT
) WITHOUT ROWID;
CREATE TABLE entries (
  feed TEXT NOT NULL REFERENCES feeds(name),
  seq INTEGER NOT NULL,
  id TEXT NOT NULL,
  time TEXT NOT NULL,
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  content_type TEXT NOT NULL,
  prev_hash TEXT,
  hash TEXT,
  PRIMARY KEY (feed, seq)
);
CREATE UNIQUE INDEX entries_by_id ON entries (feed, id);
`;

/** Version 2: the producers' de-duplication key (NewEntry.key). */
const TO_V2 = `
ALTER TABLE entries ADD COLUMN key TEXT;
CREATE UNIQUE INDEX entries_by_key ON entries (feed, key) WHERE key IS NOT NULL;
`;

/** Creates the schema in an empty file, accepts the current one, refuses a newer one. */
export function ensureSchema(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > FEED_SCHEMA_VERSION) {
    throw new FeedError('FEED_STORE_FAILED', `feed store schema version ${version} is newer than this paygate's (${FEED_SCHEMA_VERSION})`);
  }
  if (version === FEED_SCHEMA_VERSION) return;
  db.transaction(() => {
    // Another process may have upgraded the file while this one waited for the lock.
    const now = db.pragma('user_version', { simple: true }) as number;
    if (now < 1) db.exec(SCHEMA_V1);
    if (now < 2) db.exec(TO_V2);
    db.pragma(`user_version = ${FEED_SCHEMA_VERSION}`);
  }).immediate();
}
