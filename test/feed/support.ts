/** Temp-folder SQLite feed stores for the feed tests, removed after the file's tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteFeedStore, type FeedStore, type FeedStoreOptions } from '../../src/feed/index.ts';

/** A fresh folder per test file; `open` gives a store on a new file inside it. */
export function feedStores(): { open: (options?: Partial<FeedStoreOptions>) => { store: FeedStore; path: string } } {
  const root = mkdtempSync(join(tmpdir(), 'paygate-feed-'));
  const opened: FeedStore[] = [];
  let n = 0;
  afterAll(() => {
    for (const store of opened) store.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    open(options = {}) {
      n += 1;
      const path = options.path ?? join(root, `feed-${n}`, 'feed.sqlite');
      const store = openSqliteFeedStore({ ...options, path });
      opened.push(store);
      return { store, path };
    },
  };
}

/** Appends `count` entries titled `e1`, `e2`… and returns their ids in order. */
export function fill(store: FeedStore, feed: string, count: number, chained = true): string[] {
  return Array.from({ length: count }, (_, i) => store.append(feed, { title: `e${i + 1}`, content: `body ${i + 1}` }, { chained }).id);
}
