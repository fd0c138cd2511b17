/**
 * A feed parser nobody here wrote (Debian's python3-feedparser, installed by scripts/test-tools.sh)
 * reads every page of a 10,000-entry feed by following rel="next", and uses the ETag.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeedServer, FeedStore } from '../../../src/feed/index.ts';
import { feedServers, TOKENS } from './support.ts';

const run = promisify(execFile);
const servers = feedServers();
let server: FeedServer;
let store: FeedStore;

const WALK = `
import json, sys, feedparser
url, token = sys.argv[1], sys.argv[2]
headers = {'Authorization': 'Bearer ' + token}
pages = 0
while url:
    d = feedparser.parse(url, request_headers=headers)
    if d.bozo or d.status != 200:
        sys.exit('page %s: status %s, bozo %r' % (url, d.get('status'), d.get('bozo_exception')))
    pages += 1
    for e in d.entries:
        print(json.dumps({'id': e.id, 'title': e.title, 'content': e.content[0].value}))
    url = next((l.href for l in d.feed.get('links', []) if l.rel == 'next'), None)
print(json.dumps({'pages': pages}))
`;

const CONDITIONAL = `
import json, sys, feedparser
url, token = sys.argv[1], sys.argv[2]
first = feedparser.parse(url, request_headers={'Authorization': 'Bearer ' + token})
again = feedparser.parse(url, etag=first.etag, request_headers={'Authorization': 'Bearer ' + token})
print(json.dumps({'etag': first.etag, 'status': again.status, 'entries': len(again.entries)}))
`;

async function python(script: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/python3', ['-c', script, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

beforeAll(async () => {
  ({ server, store } = await servers.start());
  for (let batch = 0; batch < 10; batch += 1) {
    store.appendMany(Array.from({ length: 1000 }, (_, i) => {
      const n = batch * 1000 + i + 1;
      return { feed: 'widgets', entry: { title: `message ${n}`, content: `body ${n} <&>\r\nend` } };
    }));
  }
});

describe('python3-feedparser against the feed server', () => {
  it('walks 10,000 entries by rel=next: each exactly once, in order, content intact', async () => {
    const lines = (await python(WALK, `${server.url}/feeds/widgets`, TOKENS.reader)).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.pop();
    expect(summary).toEqual({ pages: 10 }); // AtomMQ's default page of 1000; the last page has no rel=next
    const stored = store.page('widgets', { pageSize: 10_000 }).entries;
    expect(lines).toHaveLength(10_000);
    expect(lines.map((l) => l.id)).toEqual(stored.map((e) => `tag:paygate,2026:widgets/${e.id}`));
    expect(lines.map((l) => l.title)).toEqual(stored.map((e) => e.title));
    // Inner CR LF kept (written as &#13;); feedparser strips leading/trailing whitespace itself.
    expect(lines[41]!.content).toBe('body 42 <&>\r\nend');
  }, 120_000);

  it('gets 304 for an unchanged feed\'s ETag and 200 with the new entry once it grew', async () => {
    const url = `${server.url}/feeds/widgets?start_after=${store.page('widgets', { pageSize: 10_000 }).entries.at(-1)!.id}`;
    const unchanged = JSON.parse(await python(CONDITIONAL, url, TOKENS.reader)) as { etag: string; status: number; entries: number };
    expect(unchanged).toMatchObject({ status: 304, entries: 0 });
    store.append('widgets', { title: 'message 10001', content: 'new' });
    const grown = await run('/usr/bin/python3', ['-c', `
import json, sys, feedparser
d = feedparser.parse(sys.argv[1], etag=sys.argv[3], request_headers={'Authorization': 'Bearer ' + sys.argv[2]})
print(json.dumps({'status': d.status, 'titles': [e.title for e in d.entries]}))`, url, TOKENS.reader, unchanged.etag]);
    expect(JSON.parse(grown.stdout)).toEqual({ status: 200, titles: ['message 10001'] });
  });
});
