/**
 * AtomMQ's documented curl calls, run with the real curl binary against our server. Adapted where
 * our server is stricter by design: the entry is POSTed as `application/atom+xml` in the Atom
 * namespace (AtomMQ's example relies on curl -d's form content type and an un-namespaced
 * `<entry>`), with text content (XHTML content is refused: it cannot round-trip byte for byte), and
 * every call carries a bearer token. The ETag is the server's opaque tag, not an entry id.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAtomFeed, type FeedServer } from '../../../src/feed/index.ts';
import { feedServers, TOKENS } from './support.ts';

const run = promisify(execFile);
const servers = feedServers();
let server: FeedServer;

beforeAll(async () => {
  ({ server } = await servers.start());
});

/** Runs curl with the token; gives the status, headers and body. */
async function curl(...args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-D', '-', '-H', `Authorization: Bearer ${TOKENS.widgets}`, ...args]);
  const split = stdout.indexOf('\r\n\r\n');
  const headers = stdout.slice(0, split);
  return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1]), headers, body: stdout.slice(split + 4) };
}

const titles = (body: string): string[] => parseAtomFeed(body).entries.map((e) => e.title);

describe('AtomMQ\'s curl examples', () => {
  it('POST adds an entry, creating the feed; GET returns the messages oldest first; start_after, start_at, page_size, ETag', async () => {
    const url = `${server.url}/feeds/widgets`;
    for (const message of ['allo', 'bonjour', 'hello', 'hola']) {
      const posted = await curl('-H', 'Content-Type: application/atom+xml', '-d',
        `<entry xmlns="http://www.w3.org/2005/Atom"> <title>${message}</title> <content type="text">an important message</content> </entry>`, url);
      expect(posted.status).toBe(201);
      expect(posted.headers).toMatch(new RegExp(`\\r\\nlocation: ${url}/entries/`, 'i'));
    }
    const all = await curl(url);
    expect(all.status).toBe(200);
    expect(titles(all.body)).toEqual(['allo', 'bonjour', 'hello', 'hola']);
    const ids = parseAtomFeed(all.body).entries.map((e) => e.id);

    expect(titles((await curl(`${url}?start_after=${ids[1]}`)).body)).toEqual(['hello', 'hola']);
    expect(titles((await curl(`${url}?start_at=${ids[1]}`)).body)).toEqual(['bonjour', 'hello', 'hola']);
    const paged = await curl(`${url}?page_size=2`);
    expect(titles(paged.body)).toEqual(['allo', 'bonjour']);
    expect(parseAtomFeed(paged.body).next).toBe(`${url}?start_after=${ids[1]}&page_size=2`);

    const etag = /\r\netag: ("[^"]+")/i.exec(all.headers)?.[1];
    expect(etag).toBeDefined();
    const unchanged = await curl('-H', `If-None-Match: ${etag}`, url);
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBe('');
    // The /feed=<name> alias of AtomMQ's model.
    expect(titles((await curl(`${server.url}/feed=widgets?start_after=${ids[2]}`)).body)).toEqual(['hola']);
  });
});
