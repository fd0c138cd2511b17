/**
 * The checkpointer on a real SQLite store: what a checkpoint holds, that the real openssl accepts
 * its detached signature, that it is written only when the feed grew, on its timer (fake timers,
 * no waiting), and that a concurrent writer's append between reading the tail and appending is
 * caught rather than recorded as a sound checkpoint.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CHECKPOINT_CONTENT_TYPE, CHECKPOINT_TITLE, checkpointSignedBytes, openSqliteSource, startCheckpointer, verifyFeed, type CheckpointContent,
} from '../../src/audit/index.ts';
import { openSqliteFeedStore, type FeedEntry, type FeedStore } from '../../src/feed/index.ts';
import { loadIdentity, type Identity } from '../../src/wire/index.ts';
import { feedStores, fill } from '../feed/support.ts';
import { openssl } from '../helpers/openssl.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';

const stores = feedStores();
let pki: TestPki;
let feedId: Identity;
let dir: string;

beforeAll(async () => {
  pki = await makeTestPki();
  feedId = loadIdentity(pki.feed.certPem, pki.feed.keyPem);
  dir = mkdtempSync(join(tmpdir(), 'paygate-checkpoint-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.useRealTimers();
});

const FIXED = new Date('2026-12-07T06:00:00.123Z');

describe('startCheckpointer', () => {
  it('cites the tail it follows and signs {feed, hash, seq, time}; openssl cms -verify accepts the signature', () => {
    const { store } = stores.open();
    fill(store, 'audit', 3);
    const cp = startCheckpointer({ store, identity: feedId, intervalMs: 0, clock: () => FIXED });
    const tail = store.page('audit').entries[2] as FeedEntry;
    const entry = cp.checkpoint('audit') as FeedEntry;
    expect(entry).toMatchObject({ seq: 4, title: 'checkpoint', contentType: 'application/json', prevHash: tail.hash });
    const content = JSON.parse(entry.content) as CheckpointContent;
    expect(Object.keys(content)).toEqual(['feed', 'seq', 'hash', 'time', 'signature']);
    expect(content).toMatchObject({ feed: 'audit', seq: 3, hash: tail.hash, time: FIXED.toISOString() });
    const signed = checkpointSignedBytes(content);
    expect(signed.toString('utf8')).toBe(`{"feed":"audit","hash":"${tail.hash}","seq":3,"time":"${FIXED.toISOString()}"}`);
    writeFileSync(join(dir, 'sig.der'), Buffer.from(content.signature, 'base64'));
    writeFileSync(join(dir, 'data.json'), signed);
    const out = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'sig.der'), '-content', join(dir, 'data.json'), '-CAfile', pki.ca.certPath]);
    expect(out.equals(signed)).toBe(true);
  });

  it('writes nothing when nothing was appended since the last checkpoint, nor for an empty, absent or unchained feed', () => {
    const { store } = stores.open();
    const cp = startCheckpointer({ store, identity: feedId, intervalMs: 0, feeds: ['audit', 'plain'] });
    expect(cp.checkpoint('audit')).toBeUndefined();
    fill(store, 'plain', 2, false);
    expect(cp.checkpoint('plain')).toBeUndefined();
    fill(store, 'audit', 2);
    expect(cp.checkpoint('audit')?.seq).toBe(3);
    expect(cp.checkpoint('audit')).toBeUndefined();
    fill(store, 'audit', 1);
    expect(cp.checkpoint('audit')?.seq).toBe(5);
    // A fresh checkpointer (a restarted server) finds the tail by paging from the start.
    const again = startCheckpointer({ store, identity: feedId, intervalMs: 0 });
    expect(again.checkpoint('audit')).toBeUndefined();
  });

  it('takes the tail for its own checkpoint only when its own signature says so, not for a look-alike any writer can append', () => {
    const { store } = stores.open();
    fill(store, 'widgets', 2);
    const cp = startCheckpointer({ store, identity: feedId, intervalMs: 0, feeds: ['widgets'] });
    const first = cp.checkpoint('widgets') as FeedEntry;
    // A look-alike (title and media type of a checkpoint), and a copy of the real one's content.
    store.append('widgets', { title: CHECKPOINT_TITLE, content: '{}', contentType: CHECKPOINT_CONTENT_TYPE });
    expect(cp.checkpoint('widgets')?.seq).toBe(5);
    store.append('widgets', { title: CHECKPOINT_TITLE, content: first.content, contentType: CHECKPOINT_CONTENT_TYPE });
    expect(cp.checkpoint('widgets')?.seq).toBe(7);
    expect(cp.checkpoint('widgets')).toBeUndefined();
  });

  it('reads the tail with one indexed lookup, never by paging the feed', () => {
    const { store } = stores.open({ defaultPageSize: 100 });
    for (let i = 0; i < 5; i += 1) store.appendMany(Array.from({ length: 100 }, (_, n) => ({ feed: 'audit', entry: { title: `e${i}.${n}`, content: 'x' } })));
    const calls: string[] = [];
    const counting = new Proxy(store, {
      get(target, name) {
        const value = Reflect.get(target, name) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const cp = startCheckpointer({ store: counting, identity: feedId, intervalMs: 0 });
    expect(cp.checkpoint('audit')?.seq).toBe(501);
    expect(calls).not.toContain('page');
    expect(calls).toContain('tail');
    cp.stop();
  });

  it('checkpoints every feed that grew on each interval, and stops', () => {
    vi.useFakeTimers();
    const { store } = stores.open();
    const cp = startCheckpointer({ store, identity: feedId, intervalMs: 1_000, feeds: ['audit', 'payments'] });
    fill(store, 'audit', 2);
    fill(store, 'payments', 1);
    vi.advanceTimersByTime(1_000);
    expect(store.feeds().map((f) => [f.name, f.lastSeq])).toEqual([['audit', 3], ['payments', 2]]);
    vi.advanceTimersByTime(1_000);
    expect(store.feeds().map((f) => f.lastSeq)).toEqual([3, 2]);
    fill(store, 'audit', 1);
    cp.stop();
    vi.advanceTimersByTime(5_000);
    expect(store.feeds().map((f) => f.lastSeq)).toEqual([4, 2]);
  });

  it('reports a failed timed checkpoint to onError and keeps going', () => {
    vi.useFakeTimers();
    const { store } = stores.open();
    fill(store, 'audit', 1);
    const errors: unknown[] = [];
    const cp = startCheckpointer({ store, identity: feedId, intervalMs: 500, feeds: ['bad name!', 'audit'], onError: (e) => errors.push(e) });
    vi.advanceTimersByTime(500);
    expect(errors).toHaveLength(0); // an absent feed is nothing to do, not an error
    store.close();
    vi.advanceTimersByTime(500);
    expect(errors[0]).toMatchObject({ code: 'FEED_CLOSED' });
    cp.stop();
  });

  it('refuses an identity without the feed role, and bad options', () => {
    const { store } = stores.open();
    const gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
    expect(() => startCheckpointer({ store, identity: gateway })).toThrow(expect.objectContaining({ code: 'AUDIT_BAD_OPTION', message: expect.stringMatching(/not a feed signer/) }));
    expect(() => startCheckpointer({ store, identity: feedId, intervalMs: -1 })).toThrow(expect.objectContaining({ code: 'AUDIT_BAD_OPTION' }));
  });

  it('another writer appending between the tail read and the checkpoint: the checkpoint is read, signed and appended again, and still cites its predecessor', async () => {
    const { store, path } = stores.open();
    fill(store, 'audit', 2);
    const other = openSqliteFeedStore({ path }); // another writer on the same file
    let raced = 0;
    // The store as the checkpointer sees it, except that the other writer appends just before each of its first two appends.
    const racing: FeedStore = Object.assign(Object.create(store) as FeedStore, {
      append: (...args: Parameters<FeedStore['append']>) => {
        if (raced < 2) {
          raced += 1;
          other.append('audit', { title: `late ${raced}`, content: 'from elsewhere' });
        }
        return store.append(...args);
      },
      feeds: () => store.feeds(),
      tail: (feed: string) => store.tail(feed),
    });
    const cp = startCheckpointer({ store: racing, identity: feedId, intervalMs: 0 });
    const written = cp.checkpoint('audit');
    expect(raced).toBe(2);
    expect(written).toMatchObject({ seq: 5, title: 'checkpoint' });
    expect(JSON.parse(written?.content ?? '{}')).toMatchObject({ seq: 4 });
    other.close();
    const source = openSqliteSource(path, 'audit');
    try {
      const report = await verifyFeed(source, { trust: [pki.ca.certPem] });
      expect(report.broken).toBeUndefined();
      expect(report.checkpoints).toBe(1);
    } finally {
      source.close();
    }
  });

  it('gives up with AUDIT_CHECKPOINT_RACE, writing no checkpoint, when other appends keep coming first', () => {
    const { store, path } = stores.open();
    fill(store, 'audit', 2);
    const other = openSqliteFeedStore({ path });
    const racing: FeedStore = Object.assign(Object.create(store) as FeedStore, {
      append: (...args: Parameters<FeedStore['append']>) => {
        other.append('audit', { title: 'late', content: 'from elsewhere' });
        return store.append(...args);
      },
      feeds: () => store.feeds(),
      tail: (feed: string) => store.tail(feed),
    });
    const cp = startCheckpointer({ store: racing, identity: feedId, intervalMs: 0 });
    expect(() => cp.checkpoint('audit')).toThrow(expect.objectContaining({ code: 'AUDIT_CHECKPOINT_RACE' }));
    expect(store.page('audit').entries.map((e) => e.title)).not.toContain('checkpoint');
    other.close();
  });

});
