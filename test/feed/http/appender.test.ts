import { describe, expect, it } from 'vitest';
import { GroupAppender } from '../../../src/feed/http/appender.ts';
import { atomEntry, feedServers, post, TOKENS } from './support.ts';
import { feedStores } from '../support.ts';

const stores = feedStores();
const servers = feedServers();

describe('group commit of POSTs', () => {
  it('commits appends queued in the same turn together, in order, each resolved with its stored entry', async () => {
    const { store } = stores.open();
    const appender = new GroupAppender(store);
    const entries = await Promise.all(Array.from({ length: 20 }, (_, i) => appender.append('widgets', { title: `e${i}`, content: String(i) })));
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(store.page('widgets').entries).toEqual(entries);
    expect(store.verifyChain('widgets')).toEqual({ count: 20 });
  });

  it('stores the valid appends of a batch and refuses only the invalid one', async () => {
    const { store } = stores.open({ maxContentBytes: 100 });
    const appender = new GroupAppender(store);
    const results = await Promise.allSettled([
      appender.append('widgets', { title: 'a', content: 'ok' }),
      appender.append('widgets', { title: 'b', content: 'x'.repeat(101) }),
      appender.append('widgets', { title: 'c', content: 'ok' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'FEED_BAD_ENTRY' });
    expect(store.page('widgets').entries.map((e) => e.title)).toEqual(['a', 'c']);
  });

  it('answers 50 concurrent POSTs with 201 each, every entry stored once and the chain whole', async () => {
    const { server, store } = await servers.start();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(`${server.url}/feeds/widgets`, TOKENS.widgets, atomEntry(`m${i}`, `body ${i}`))));
    expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 201));
    const locations = new Set(answers.map((r) => r.headers.get('location')));
    expect(locations.size).toBe(50);
    const stored = store.page('widgets').entries;
    expect(stored.map((e) => e.title).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`).sort());
    expect(store.verifyChain('widgets')).toEqual({ count: 50 });
  });
});
