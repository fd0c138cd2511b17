/**
 * A second process appending to a feed store (test/feed/concurrency.test.ts): waits for "go"
 * on stdin so both processes start together, appends `count` entries, exits 0.
 *
 * Between appends it yields to the timer queue: without a pause, SQLite's busy handler lets
 * one process finish all its appends while the other sleeps, and the two never contend. The
 * pause paces the load; nothing the test asserts depends on its length.
 */
import { setTimeout as pause } from 'node:timers/promises';
import { openSqliteFeedStore } from '../../src/feed/index.ts';

const [path, feed, countText, tag] = process.argv.slice(2) as [string, string, string, string];
const store = openSqliteFeedStore({ path });
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  void (async () => {
    for (let i = 0; i < Number(countText); i += 1) {
      store.append(feed, { title: `${tag}${i}`, content: tag });
      await pause(1);
    }
    store.close();
    process.exit(0);
  })();
});
