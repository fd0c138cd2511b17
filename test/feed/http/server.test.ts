import { request } from 'node:https';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_CONTENT_TYPE, CHECKPOINT_TITLE } from '../../../src/audit/index.ts';
import { parseAtomEntry, parseAtomFeed, startFeedServer } from '../../../src/feed/index.ts';
import { makeTestPki } from '../../helpers/pki.ts';
import { feedStores } from '../support.ts';
import { atomEntry, call, CLIENTS, feedServers, post, TOKENS } from './support.ts';

const servers = feedServers();

describe('feed server', () => {
  it('POST creates the feed and answers 201 with Location and the stored entry; GET reads it back oldest first', async () => {
    const { server, store } = await servers.start();
    const first = await post(`${server.url}/feed=widgets`, TOKENS.widgets, atomEntry('allo', 'an important message'));
    expect(first.status).toBe(201);
    const stored = parseAtomEntry(await first.text());
    expect(stored).toEqual({ title: 'allo', content: 'an important message', contentType: 'text/plain' });
    const location = first.headers.get('location');
    expect(location).toMatch(new RegExp(`^${server.url}/feeds/widgets/entries/1-[A-Za-z0-9_-]{12}$`));
    await post(`${server.url}/feeds/widgets`, TOKENS.widgets, atomEntry('second', 'two'));
    const one = await call(location!, TOKENS.reader);
    expect(one.status).toBe(200);
    expect(parseAtomEntry(await one.text()).title).toBe('allo');
    const feed = await call(`${server.url}/feeds/widgets`, TOKENS.reader);
    expect(feed.headers.get('content-type')).toMatch(/^application\/atom\+xml/);
    const parsed = parseAtomFeed(await feed.text());
    expect(parsed.entries.map((e) => e.title)).toEqual(['allo', 'second']);
    expect(parsed.entries).toEqual(store.page('widgets').entries);
    expect(parsed.next).toBeUndefined();
  });

  it('pages with start_after (short or tag id), start_at and page_size, with rel=next while more follow', async () => {
    const { server, store } = await servers.start();
    const ids = Array.from({ length: 7 }, (_, i) => store.append('widgets', { title: `e${i + 1}`, content: String(i + 1) }).id);
    const titles = async (query: string): Promise<{ titles: string[]; next?: string }> => {
      const parsed = parseAtomFeed(await (await call(`${server.url}/feeds/widgets${query}`, TOKENS.reader)).text());
      return { titles: parsed.entries.map((e) => e.title), ...(parsed.next ? { next: parsed.next } : {}) };
    };
    expect(await titles(`?start_after=${ids[2]}`)).toEqual({ titles: ['e4', 'e5', 'e6', 'e7'] });
    expect(await titles(`?start_after=${encodeURIComponent(`tag:paygate,2026:widgets/${ids[2]}`)}`)).toEqual({ titles: ['e4', 'e5', 'e6', 'e7'] });
    expect(await titles(`?start_at=${ids[2]}&page_size=2`)).toEqual({
      titles: ['e3', 'e4'], next: `${server.url}/feeds/widgets?start_after=${ids[3]}&page_size=2`,
    });
    expect(await titles(`?start_after=${ids[6]}`)).toEqual({ titles: [] });
    // Following rel=next visits every entry once.
    const seen: string[] = [];
    let next: string | undefined = `${server.url}/feeds/widgets?page_size=3`;
    while (next !== undefined) {
      const parsed = parseAtomFeed(await (await call(next, TOKENS.reader)).text());
      seen.push(...parsed.entries.map((e) => e.id));
      next = parsed.next;
    }
    expect(seen).toEqual(ids);
  });

  it('answers 304 to an unchanged feed\'s ETag and 200 once it grew; every GET has an ETag', async () => {
    const { server, store } = await servers.start();
    store.append('widgets', { title: 'a', content: 'a' });
    const url = `${server.url}/feeds/widgets?page_size=10`;
    const first = await call(url, TOKENS.reader);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"/);
    const same = await call(url, TOKENS.reader, { headers: { 'if-none-match': etag } });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    store.append('widgets', { title: 'b', content: 'b' });
    const grown = await call(url, TOKENS.reader, { headers: { 'if-none-match': etag } });
    expect(grown.status).toBe(200);
    expect(grown.headers.get('etag')).not.toBe(etag);
    for (const path of ['/', `/feeds/widgets/entries/${store.page('widgets').entries[0]!.id}`]) {
      const res = await call(`${server.url}${path}`, TOKENS.reader);
      const tag = res.headers.get('etag')!;
      expect(tag).toBeTruthy();
      expect((await call(`${server.url}${path}`, TOKENS.reader, { headers: { 'if-none-match': tag } })).status).toBe(304);
    }
  });

  it('answers 400 FEED_UNKNOWN_ENTRY, never 304, to an unknown start id even with If-None-Match: *', async () => {
    const { server, store } = await servers.start();
    const known = store.append('widgets', { title: 'a', content: 'a' });
    for (const query of ['start_after=nope', 'start_at=nope', 'start_after=1-AAAAAAAAAAAA']) {
      const res = await call(`${server.url}/feeds/widgets?${query}`, TOKENS.reader, { headers: { 'if-none-match': '*' } });
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('FEED_UNKNOWN_ENTRY');
    }
    // A known one still gets its 304, and an unknown feed its 404.
    expect((await call(`${server.url}/feeds/widgets?start_after=${known.id}`, TOKENS.reader, { headers: { 'if-none-match': '*' } })).status).toBe(304);
    expect((await call(`${server.url}/feeds/nosuch?start_after=nope`, TOKENS.reader, { headers: { 'if-none-match': '*' } })).status).toBe(404);
  });

  it('refuses (403 FEED_FORBIDDEN, nothing stored) an entry shaped as a signed checkpoint, so no appender can raise a false alarm', async () => {
    const { server, store } = await servers.start();
    store.append('widgets', { title: 'a', content: 'a' });
    const json = Buffer.from('{}').toString('base64');
    for (const type of [CHECKPOINT_CONTENT_TYPE, CHECKPOINT_CONTENT_TYPE.toUpperCase()]) {
      const res = await post(`${server.url}/feeds/widgets`, TOKENS.widgets, atomEntry(CHECKPOINT_TITLE, json, type));
      expect(res.status, type).toBe(403);
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe('FEED_FORBIDDEN');
      expect(problem.detail).toMatch(/signed checkpoint/);
    }
    expect(store.page('widgets').entries).toHaveLength(1);
    // The same title with another type, or JSON under another title, is an ordinary entry.
    expect((await post(`${server.url}/feeds/widgets`, TOKENS.widgets, atomEntry(CHECKPOINT_TITLE, 'a note'))).status).toBe(201);
    expect((await post(`${server.url}/feeds/widgets`, TOKENS.widgets, atomEntry('checkpoints', json, CHECKPOINT_CONTENT_TYPE))).status).toBe(201);
  });

  it('answers HEAD with the GET\'s status and headers and no body', async () => {
    const { server, store } = await servers.start();
    store.append('widgets', { title: 'a', content: 'a' });
    const get = await call(`${server.url}/feeds/widgets`, TOKENS.reader);
    const head = await call(`${server.url}/feeds/widgets`, TOKENS.reader, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(get.headers.get('etag'));
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(await head.text()).toBe('');
  });

  it('lists in the service document only the feeds the token may read', async () => {
    const { server, store } = await servers.start();
    store.append('widgets', { title: 'w', content: 'w' });
    store.append('gadgets', { title: 'g', content: 'g' });
    const all = await (await call(`${server.url}/`, TOKENS.reader)).text();
    expect(all).toContain('/feeds/widgets"');
    expect(all).toContain('/feeds/gadgets"');
    const some = await (await call(`${server.url}/`, TOKENS.widgets)).text();
    expect(some).toContain('/feeds/widgets"');
    expect(some).not.toContain('gadgets');
  });

  it('writes links from publicUrl, never from the Host header', async () => {
    const { server, store } = await servers.start({ publicUrl: 'https://feeds.example.com/' });
    store.append('widgets', { title: 'a', content: 'a' });
    store.append('widgets', { title: 'b', content: 'b' });
    const res = await call(`${server.url}/feeds/widgets?page_size=1`, TOKENS.reader, { headers: { host: 'evil.example' } });
    const xml = await res.text();
    expect(xml).not.toContain('evil.example');
    expect(parseAtomFeed(xml).next).toMatch(/^https:\/\/feeds\.example\.com\/feeds\/widgets\?start_after=1-/);
  });

  it('serves HTTPS with the test PKI\'s TLS identity, trusted through its CA', async () => {
    const pki = await makeTestPki();
    const { server, store } = await servers.start({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
    store.append('widgets', { title: 'secure', content: 's' });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${server.url}/feeds/widgets`, { ca: pki.ca.certPem, headers: { authorization: `Bearer ${TOKENS.reader}` } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(text));
      });
      req.on('error', reject).end();
    });
    expect(parseAtomFeed(body).entries.map((e) => e.title)).toEqual(['secure']);
  });

  it('answers 500 for a page holding an entry XML cannot carry, logs which entry (not its text), and keeps serving', async () => {
    const { server, store, logs, path } = await servers.start();
    // The store refuses such a title at append; a file edited outside paygate can still hold one.
    const bad = store.append('odd', { title: 'placeholder', content: 'x' });
    const db = new Database(path);
    db.prepare('UPDATE entries SET title = ? WHERE id = ?').run('bell \u0007 SECRET-TITLE', bad.id);
    db.close();
    store.append('widgets', { title: 'fine', content: 'y' });
    const res = await call(`${server.url}/feeds/odd`, TOKENS.reader);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: 'FEED_INTERNAL_ERROR', detail: 'the feed server failed; see its log' });
    const logged = JSON.stringify(logs.filter((l) => l.level === 'error'));
    expect(logged).toContain(bad.id);
    expect(logged).not.toContain('SECRET-TITLE');
    expect((await call(`${server.url}/feeds/widgets`, TOKENS.reader)).status).toBe(200);
  });

  it('refuses to listen off loopback without TLS, naming the fix', async () => {
    const { store } = feedStores().open();
    await expect(startFeedServer(store, { listen: { host: '0.0.0.0', port: 0 }, clients: CLIENTS })).rejects.toMatchObject({
      code: 'FEED_SERVER_OPTION', message: expect.stringMatching(/without TLS.*tls \(cert, key\)/),
    });
    await expect(startFeedServer(store, { listen: { host: '127.0.0.1', port: 0 }, clients: [{ name: 'x', tokenSha256: 'abc', feeds: {} }] }))
      .rejects.toMatchObject({ code: 'FEED_SERVER_OPTION' });
  });
});
