/**
 * The feed server of bench:feed in a process of its own, so that the load generator's HTTP
 * clients do not share its event loop. argv: <sqlite path> <token sha256>. Prints its URL.
 */
import { openSqliteFeedStore, startFeedServer } from '../src/feed/index.ts';

const [path, tokenSha256] = process.argv.slice(2) as [string, string];
const store = openSqliteFeedStore({ path });
const server = await startFeedServer(store, {
  listen: { host: '127.0.0.1', port: 0 },
  clients: [{ name: 'bench', tokenSha256, feeds: { '*': ['read', 'append'] } }],
});
console.log(server.url);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().then(() => {
    store.close();
    process.exit(0);
  });
});
