/**
 * verifyFeed over HTTP against the real feed server (startFeedServer on a real SQLite store,
 * plain HTTP on loopback and HTTPS with the test PKI's TLS certificate): small pages so the walk
 * follows many rel="next" links, the same findings as reading the file, and the refusals (a wrong
 * token, a next link to another origin, plain HTTP off loopback).
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHttpSource, openSqliteSource, verifyFeed, type ChainSource, type VerifyReport } from '../../src/audit/index.ts';
import { renderFeed } from '../../src/feed/atom.ts';
import { startFeedServer, type FeedServer, type FeedServerOptions, type FeedStore } from '../../src/feed/index.ts';
import { loadIdentity, type Identity } from '../../src/wire/index.ts';
import { feedStores } from '../feed/support.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { fillAudit, rehashFrom, rowAt, swapSeq, tamper } from './support.ts';

const TOKEN = 'auditor-token-0123456789';
const stores = feedStores();
const servers: FeedServer[] = [];
let pki: TestPki;
let feedId: Identity;

beforeAll(async () => {
  pki = await makeTestPki();
  feedId = loadIdentity(pki.feed.certPem, pki.feed.keyPem);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(store: FeedStore, extra: Partial<FeedServerOptions> = {}): Promise<FeedServer> {
  const server = await startFeedServer(store, {
    listen: { host: '127.0.0.1' },
    clients: [{ name: 'auditor', tokenSha256: createHash('sha256').update(TOKEN).digest('hex'), feeds: { audit: ['read'] } }],
    ...extra,
  });
  servers.push(server);
  return server;
}

async function run(source: ChainSource): Promise<VerifyReport> {
  try {
    return await verifyFeed(source, { trust: [pki.ca.certPem] });
  } finally {
    source.close();
  }
}

describe('verifyFeed over HTTP (the real feed server)', () => {
  it('walks every page of an untouched feed and reports what the file gives', async () => {
    const { store, path } = stores.open();
    fillAudit(store, feedId);
    const server = await serve(store);
    const overHttp = await run(openHttpSource(`${server.url}/feeds/audit`, { token: TOKEN, pageSize: 2 }));
    expect(overHttp.broken).toBeUndefined();
    expect(overHttp).toMatchObject({ count: 11, checkpoints: 2, lastCheckpoint: { seq: 9 } });
    expect(overHttp).toEqual(await run(openSqliteSource(path, 'audit')));
    // AtomMQ's path works as well.
    expect((await run(openHttpSource(`${server.url}/feed=audit`, { token: TOKEN }))).count).toBe(11);
  });

  it('names the same broken link as the file: entries swapped across a page boundary, a forged checkpoint', async () => {
    const swapped = stores.open();
    fillAudit(swapped.store, feedId);
    tamper(swapped.path, (db) => swapSeq(db, 'audit', 6, 7));
    const forged = stores.open();
    fillAudit(forged.store, feedId);
    const cp = rowAt(forged.path, 'audit', 9);
    tamper(forged.path, (db) => {
      db.prepare("UPDATE entries SET content = ? WHERE feed = 'audit' AND seq = 9").run(JSON.stringify({ ...JSON.parse(cp.content) as object, time: '2020-01-01T00:00:00.000Z' }));
      rehashFrom(db, 'audit', 9);
    });
    for (const { store, path } of [swapped, forged]) {
      const server = await serve(store);
      const overHttp = await run(openHttpSource(`${server.url}/feeds/audit`, { token: TOKEN, pageSize: 3 }));
      const fromFile = await run(openSqliteSource(path, 'audit'));
      expect(fromFile.broken).toBeDefined();
      expect(overHttp).toEqual(fromFile);
    }
  });

  it('names an entry served without its hashes as altered, as the file does', async () => {
    const { store, path } = stores.open();
    fillAudit(store, feedId);
    tamper(path, (db) => db.prepare("UPDATE entries SET title = 'forged', hash = NULL, prev_hash = NULL WHERE feed = 'audit' AND seq = 3").run());
    const server = await serve(store);
    const overHttp = await run(openHttpSource(`${server.url}/feeds/audit`, { token: TOKEN, pageSize: 2 }));
    expect(overHttp.broken).toMatchObject({ seq: 3, problem: 'altered' });
    expect(overHttp).toEqual(await run(openSqliteSource(path, 'audit')));
  });

  it('reads over HTTPS with the server\'s CA', async () => {
    const { store } = stores.open();
    fillAudit(store, feedId);
    const server = await serve(store, { tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
    const url = server.url.replace('127.0.0.1', 'localhost');
    expect((await run(openHttpSource(`${url}/feeds/audit`, { token: TOKEN, ca: pki.ca.certPem }))).count).toBe(11);
  });

  it('refuses: a wrong token (401 with the server\'s problem), a next link to another origin, plain HTTP off loopback, a URL naming no feed', async () => {
    const { store } = stores.open();
    fillAudit(store, feedId);
    const server = await serve(store);
    await expect(run(openHttpSource(`${server.url}/feeds/audit`, { token: 'wrong' }))).rejects.toMatchObject({ code: 'AUDIT_SOURCE_FAILED', message: expect.stringMatching(/401/) });
    const elsewhere = await serve(store, { publicUrl: 'http://127.0.0.2:9' });
    await expect(run(openHttpSource(`${elsewhere.url}/feeds/audit`, { token: TOKEN, pageSize: 4 }))).rejects.toMatchObject({ code: 'AUDIT_BAD_RESPONSE', message: expect.stringMatching(/127\.0\.0\.2:9/) });
    expect(() => openHttpSource('http://feeds.example.com/feeds/audit')).toThrow(expect.objectContaining({ code: 'AUDIT_BAD_OPTION' }));
    expect(() => openHttpSource(`${server.url}/entries`)).toThrow(expect.objectContaining({ code: 'AUDIT_BAD_OPTION' }));
  });

  it('refuses a path that is not percent-encoded UTF-8 as a bad option, not a crash', () => {
    expect(() => openHttpSource('http://127.0.0.1:1/feeds/%E0')).toThrow(expect.objectContaining({ code: 'AUDIT_BAD_OPTION', message: expect.stringMatching(/percent-encoded/) }));
  });

  it('stops a hostile server\'s endless paging: an empty page whose next link is itself, empty pages leading round in a circle', async () => {
    // The server answers every GET with an empty page of feed audit whose rel="next" is the
    // page the query names: itself, or the other page of a circle of two.
    const requests: string[] = [];
    const hostile = createServer((req, res) => {
      requests.push(req.url ?? '');
      const url = new URL(req.url ?? '/', base);
      const mode = url.pathname.startsWith('/self/') ? 'self' : 'circle';
      const next = mode === 'self' ? (url.searchParams.get('start_after') ?? 'a') : url.searchParams.get('start_after') === 'a' ? 'b' : 'a';
      const page = renderFeed({ name: 'audit', entries: [], updated: new Date(0).toISOString(), next }, { publicUrl: `${base}${url.pathname.replace(/\/feeds\/audit.*$/, '')}` });
      res.writeHead(200, { 'content-type': 'application/atom+xml' }).end(page);
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    try {
      await expect(run(openHttpSource(`${base}/feeds/audit`))).rejects.toMatchObject({ code: 'AUDIT_BAD_RESPONSE', message: expect.stringMatching(/empty page with a rel="next" link/) });
      const self = `${base}/self/feeds/audit?start_after=a`;
      await expect(run(openHttpSource(self))).rejects.toMatchObject({ code: 'AUDIT_BAD_RESPONSE', message: expect.stringMatching(/points back to the page itself/) });
      expect(requests).toHaveLength(2);
    } finally {
      hostile.close();
    }
  });
});
