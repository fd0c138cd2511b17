import { spawn } from 'node:child_process';
import { request } from 'node:http';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeedServer, FeedStore } from '../../../src/feed/index.ts';
import { atomEntry, call, feedServers, post, TOKENS, type LogLine } from './support.ts';

const servers = feedServers();
const SECRET = 'SECRET-CONTENT-4111111111111111';
let server: FeedServer;
let store: FeedStore;
let logs: LogLine[];

/** Everything the store holds, to show a refused request wrote nothing. */
function snapshot(): unknown {
  return store.feeds().map((f) => ({ ...f, entries: store.page(f.name, { pageSize: 1000 }).entries }));
}

beforeAll(async () => {
  ({ server, store, logs } = await servers.start({ maxEntryBytes: 64 * 1024 }));
  store.append('widgets', { title: 'one', content: 'first' });
  store.append('audit', { title: 'checkpoint', content: '{}', contentType: 'application/json' });
});

const ENTITY_BOMB = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
  + '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><entry xmlns="http://www.w3.org/2005/Atom"><title>&lol2;</title></entry>';
const EXTERNAL = '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><entry xmlns="http://www.w3.org/2005/Atom"><title>&x;</title></entry>';

interface Case { name: string; send: () => Promise<Response>; status: number; code: string }
const cases: Case[] = [
  { name: 'malformed XML', send: () => post(`${server.url}/feeds/widgets`, TOKENS.admin, `<entry xmlns="http://www.w3.org/2005/Atom"><title>${SECRET}</entry>`), status: 400, code: 'FEED_BAD_XML' },
  { name: 'an entity bomb (billion laughs)', send: () => post(`${server.url}/feeds/widgets`, TOKENS.admin, ENTITY_BOMB), status: 400, code: 'FEED_BAD_XML' },
  { name: 'an external entity', send: () => post(`${server.url}/feeds/widgets`, TOKENS.admin, EXTERNAL), status: 400, code: 'FEED_BAD_XML' },
  { name: 'a comment that never closes', send: () => post(`${server.url}/feeds/widgets`, TOKENS.admin, atomEntry('t', '<!--'.repeat(8192))), status: 400, code: 'FEED_BAD_XML' },
  { name: 'elements nested 1,000 deep', send: () => post(`${server.url}/feeds/widgets`, TOKENS.admin, atomEntry('t', 'x').replace('<title>', `${'<a>'.repeat(1_000)}${'</a>'.repeat(1_000)}<title>`)), status: 400, code: 'FEED_BAD_XML' },
  { name: 'an entry with no title', send: () => post(`${server.url}/feeds/widgets`, TOKENS.admin, '<entry xmlns="http://www.w3.org/2005/Atom"><content>x</content></entry>'), status: 400, code: 'FEED_BAD_ENTRY' },
  { name: 'a body that is not UTF-8', send: () => call(`${server.url}/feeds/widgets`, TOKENS.admin, { method: 'POST', headers: { 'content-type': 'application/atom+xml' }, body: Buffer.from([0x3c, 0xff, 0xfe]) }), status: 400, code: 'FEED_BAD_XML' },
  { name: 'a 10 MB entry', send: () => post(`${server.url}/feeds/widgets`, TOKENS.admin, atomEntry('big', 'x'.repeat(10 * 1024 * 1024))), status: 413, code: 'FEED_ENTRY_TOO_LARGE' },
  { name: 'a 10 MB entry sent chunked (no Content-Length)', send: () => postChunked(10 * 1024 * 1024), status: 413, code: 'FEED_ENTRY_TOO_LARGE' },
  { name: 'text/plain as the content type', send: () => call(`${server.url}/feeds/widgets`, TOKENS.admin, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: atomEntry('t', 'c') }), status: 415, code: 'FEED_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'no content type', send: () => call(`${server.url}/feeds/widgets`, TOKENS.admin, { method: 'POST', body: new Blob([atomEntry('t', 'c')]) }), status: 415, code: 'FEED_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'an unknown feed', send: () => call(`${server.url}/feeds/nosuch`, TOKENS.reader), status: 404, code: 'FEED_NOT_FOUND' },
  { name: 'an invalid feed name', send: () => call(`${server.url}/feeds/a%20b`, TOKENS.reader), status: 400, code: 'FEED_BAD_NAME' },
  ...['0', '-1', '1000000000', 'abc', '1.5', ''].map((size) => ({
    name: `page_size=${size}`, send: () => call(`${server.url}/feeds/widgets?page_size=${size}`, TOKENS.reader), status: 400, code: 'FEED_BAD_PAGE_SIZE',
  })),
  { name: 'an unknown start_after id', send: () => call(`${server.url}/feeds/widgets?start_after=99-nosuchentry0`, TOKENS.reader), status: 400, code: 'FEED_UNKNOWN_ENTRY' },
  { name: 'both start_after and start_at', send: () => call(`${server.url}/feeds/widgets?start_after=a&start_at=b`, TOKENS.reader), status: 400, code: 'FEED_BAD_QUERY' },
  { name: 'start_after twice', send: () => call(`${server.url}/feeds/widgets?start_after=a&start_after=b`, TOKENS.reader), status: 400, code: 'FEED_BAD_REQUEST' },
  { name: 'an unknown entry id', send: () => call(`${server.url}/feeds/widgets/entries/1-nosuchentry0`, TOKENS.reader), status: 404, code: 'FEED_UNKNOWN_ENTRY' },
  { name: 'an unknown path', send: () => call(`${server.url}/admin`, TOKENS.admin), status: 404, code: 'FEED_BAD_REQUEST' },
  { name: 'DELETE', send: () => call(`${server.url}/feeds/widgets`, TOKENS.admin, { method: 'DELETE' }), status: 405, code: 'FEED_BAD_REQUEST' },
  { name: 'no token', send: () => call(`${server.url}/feeds/widgets`, undefined), status: 401, code: 'FEED_UNAUTHORIZED' },
  { name: 'a wrong token', send: () => post(`${server.url}/feeds/widgets`, 'wrong-token', atomEntry('t', 'c')), status: 401, code: 'FEED_UNAUTHORIZED' },
  { name: 'Basic instead of Bearer', send: () => call(`${server.url}/feeds/widgets`, undefined, { headers: { authorization: 'Basic YTpi' } }), status: 401, code: 'FEED_UNAUTHORIZED' },
  { name: 'a POST without the append right', send: () => post(`${server.url}/feeds/widgets`, TOKENS.reader, atomEntry('t', 'c')), status: 403, code: 'FEED_FORBIDDEN' },
  { name: 'a GET without the read right', send: () => call(`${server.url}/feeds/audit`, TOKENS.widgets), status: 403, code: 'FEED_FORBIDDEN' },
  { name: 'a POST to the protected audit feed', send: () => post(`${server.url}/feeds/audit`, TOKENS.admin, atomEntry('forged', 'c')), status: 403, code: 'FEED_FORBIDDEN' },
  { name: 'a POST to the protected payments feed (alias path)', send: () => post(`${server.url}/feed=payments`, TOKENS.admin, atomEntry('forged', 'c')), status: 403, code: 'FEED_FORBIDDEN' },
];

function postChunked(bytes: number): Promise<Response> {
  const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) controller.enqueue(new TextEncoder().encode('<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content>'));
      if (sent >= bytes) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return call(`${server.url}/feeds/widgets`, TOKENS.admin, { method: 'POST', headers: { 'content-type': 'application/atom+xml' }, body, duplex: 'half' } as RequestInit);
}

describe('feed server, bad input', () => {
  it.each(cases)('answers $name with $status $code, writes nothing, and keeps serving', async ({ send, status, code }) => {
    const before = snapshot();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status, code, type: `tag:paygate,2026:problem/${code}` });
    expect(String(problem.detail).length).toBeGreaterThan(10);
    expect(JSON.stringify(problem)).not.toContain(SECRET);
    if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(snapshot()).toEqual(before);
    const good = await call(`${server.url}/feeds/widgets`, TOKENS.reader);
    expect(good.status).toBe(200);
  });

  it('never logs entry content', () => {
    expect(logs.some((l) => l.level === 'warn')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });

  it('answers 503 FEED_STORE_FAILED while another process holds the write lock, and appends again once it is released', async () => {
    const { server: locked, path } = await servers.start({}, { busyTimeoutMs: 0 });
    const holder = spawn(process.execPath, ['-e', `
      const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
      db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n');
      process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const refused = await post(`${locked.url}/feeds/widgets`, TOKENS.admin, atomEntry('t', 'c'));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ code: 'FEED_STORE_FAILED' });
    holder.stdin.write('go\n');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect((await post(`${locked.url}/feeds/widgets`, TOKENS.admin, atomEntry('t', 'c'))).status).toBe(201);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM entries').get()).toEqual({ n: 1 });
    db.close();
  });

  it('refuses an oversized declared body before reading it, and closes that connection', async () => {
    const status = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(`${server.url}/feeds/widgets`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/atom+xml', 'content-length': String(50 * 1024 * 1024) },
      }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
      });
      req.on('error', reject);
      req.write('<entry'); // the rest never comes: the answer must not wait for it
    });
    expect(status).toEqual({ status: 413, connection: 'close' });
  });
});
