/**
 * verifyFeed on the SQLite source: an untouched store verifies whole, and each kind of tampering
 * done to the file directly (sqlite3, no paygate code) is named at the right entry: a field
 * altered, an entry deleted, the tail deleted, two entries swapped, a checkpoint forged (content
 * changed and the chain re-hashed after it, so only its signature can tell), a checkpoint signed
 * by a certificate without the feed role or of another CA, a checkpoint citing the wrong entry.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSqliteSource, signCheckpoint, verifyFeed, type VerifyOptions, type VerifyReport } from '../../src/audit/index.ts';
import type { FeedStore } from '../../src/feed/index.ts';
import { loadIdentity, type Identity } from '../../src/wire/index.ts';
import { feedStores } from '../feed/support.ts';
import { issueCertificate } from '../../src/certs/devca.ts';
import { makeForeignPki, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { fillAudit, rehashFrom, rowAt, swapSeq, tamper } from './support.ts';

const stores = feedStores();
let pki: TestPki;
let feedId: Identity;

beforeAll(async () => {
  pki = await makeTestPki();
  feedId = loadIdentity(pki.feed.certPem, pki.feed.keyPem);
});

/** A store with feed `audit` filled by {@link fillAudit}. */
function build(): { store: FeedStore; path: string } {
  const opened = stores.open();
  fillAudit(opened.store, feedId);
  return opened;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function verify(path: string, trust: string[] = [pki.ca.certPem]): Promise<VerifyReport> {
  const source = openSqliteSource(path, 'audit');
  try {
    return await verifyFeed(source, { trust });
  } finally {
    source.close();
  }
}

describe('verifyFeed (SQLite file)', () => {
  it('an untouched store verifies whole: count, range, checkpoints, what no checkpoint covers yet', async () => {
    const { store, path } = build();
    store.close(); // everything in the main file, as an auditor's copy would be
    const before = sha256(path);
    const report = await verify(path);
    expect(report.broken).toBeUndefined();
    expect(report).toMatchObject({ feed: 'audit', count: 11, checkpoints: 2, uncheckpointed: 2, first: { seq: 1 }, last: { seq: 11 }, lastCheckpoint: { seq: 9 } });
    expect(report.first?.time).toBe(rowAt(path, 'audit', 1).time);
    // Read-only: the database file is the same bytes after the walk.
    expect(sha256(path)).toBe(before);
    // Trusting the feed certificate itself (pinned) works as well as its CA.
    expect((await verify(path, [pki.feed.certPem])).broken).toBeUndefined();
  });

  it('names an entry whose field was altered in the file', async () => {
    const { path } = build();
    tamper(path, (db) => db.prepare("UPDATE entries SET content = replace(content, '\"n\":1', '\"n\":7') WHERE feed = 'audit' AND seq = 2").run());
    const report = await verify(path);
    expect(report.broken).toMatchObject({ seq: 2, id: rowAt(path, 'audit', 2).id, problem: 'altered' });
    expect(report.count).toBe(1);
  });

  it('names the entry after a deleted one, and the last one left when the tail is deleted', async () => {
    const { path } = build();
    tamper(path, (db) => db.prepare("DELETE FROM entries WHERE feed = 'audit' AND seq = 7").run());
    expect((await verify(path)).broken).toMatchObject({ seq: 8, id: rowAt(path, 'audit', 8).id, problem: 'missing' });
    const other = build();
    tamper(other.path, (db) => db.prepare("DELETE FROM entries WHERE feed = 'audit' AND seq >= 10").run());
    const report = await verify(other.path);
    expect(report.broken).toMatchObject({ seq: 9, problem: 'missing' });
    expect(report.broken?.detail).toContain('10..11');
  });

  it('names an entry whose hashes were removed (set to NULL) as altered, not as an unchained feed', async () => {
    for (const edit of ['hash = NULL, prev_hash = NULL', 'hash = NULL', 'prev_hash = NULL']) {
      const { path } = build();
      tamper(path, (db) => db.prepare(`UPDATE entries SET title = 'forged', ${edit} WHERE feed = 'audit' AND seq = 7`).run());
      const report = await verify(path);
      expect(report.broken, edit).toMatchObject({ seq: 7, id: rowAt(path, 'audit', 7).id, problem: 'altered', detail: expect.stringMatching(/no (hash|prev_hash) in a chained feed/) });
      expect(report.count).toBe(6);
    }
  });

  it('names the first entry when the feed\'s record was changed to unchained while its entries carry hashes', async () => {
    const { path } = build();
    tamper(path, (db) => db.prepare("UPDATE feeds SET chained = 0 WHERE name = 'audit'").run());
    const report = await verify(path);
    expect(report.broken).toMatchObject({ seq: 1, id: rowAt(path, 'audit', 1).id, problem: 'altered', detail: expect.stringMatching(/records feed audit as unchained, yet its entries carry hashes/) });
    expect(report.count).toBe(0);
  });

  it('names an entry moved before its predecessor (two entries swapped)', async () => {
    const { path } = build();
    const third = rowAt(path, 'audit', 3);
    const fourth = rowAt(path, 'audit', 4);
    tamper(path, (db) => swapSeq(db, 'audit', 3, 4));
    const report = await verify(path);
    expect(report.broken).toMatchObject({ seq: 3, id: fourth.id, problem: 'out_of_order' });
    expect(report.broken?.detail).toContain(third.id);
  });

  it('names a forged checkpoint whose chain was re-hashed after it: only the signature catches it', async () => {
    const { path } = build();
    const row = rowAt(path, 'audit', 5);
    const forged = JSON.stringify({ ...JSON.parse(row.content) as object, time: '2020-01-01T00:00:00.000Z' });
    tamper(path, (db) => {
      db.prepare("UPDATE entries SET content = ? WHERE feed = 'audit' AND seq = 5").run(forged);
      rehashFrom(db, 'audit', 5);
    });
    const report = await verify(path);
    expect(report.broken).toMatchObject({ seq: 5, id: row.id, problem: 'bad_checkpoint' });
    expect(report.broken?.detail).toMatch(/signature does not verify/);
    expect(report.count).toBe(4);
  });

  it('names a checkpoint signed by a certificate without the feed role, or of another CA', async () => {
    const { store, path } = build();
    const tail = store.page('audit', { startAt: rowAt(path, 'audit', 11).id }).entries[0];
    const gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
    const claim = { feed: 'audit', seq: 11, hash: tail?.hash ?? '', time: new Date().toISOString() };
    const entry = store.append('audit', { title: 'checkpoint', content: signCheckpoint(claim, gateway), contentType: 'application/json' });
    const report = await verify(path);
    expect(report.broken).toMatchObject({ seq: 12, id: entry.id, problem: 'bad_checkpoint' });
    expect(report.broken?.detail).toMatch(/may not sign checkpoints.*gateway/);

    const foreign = await makeForeignPki();
    const other = build();
    const last = rowAt(other.path, 'audit', 11);
    const stranger = loadIdentity(foreign.client.certPem, foreign.client.keyPem);
    other.store.append('audit', { title: 'checkpoint', content: signCheckpoint({ ...claim, hash: last.hash }, stranger), contentType: 'application/json' });
    expect((await verify(other.path)).broken).toMatchObject({ seq: 12, problem: 'bad_checkpoint', detail: expect.stringMatching(/not trusted/) });
  });

  it('judges a signer\'s validity at the checkpoint\'s time: an expired feed certificate still vouches for what it signed in time', async () => {
    // Inside the test CA's validity (from 5 minutes before it was made): valid 4 to 1 minutes ago.
    const minute = 60_000;
    const now = Date.now();
    const { certPem, keyPem } = await issueCertificate({
      keyPem: pki.feed.keyPem, issuer: pki.ca, commonName: 'paygate old feed', profile: 'smime', signerRole: 'feed',
      notBefore: new Date(now - 4 * minute), notAfter: new Date(now - minute),
    });
    const old = loadIdentity(certPem, keyPem);
    const { store, path } = stores.open();
    const checkpointAt = (time: Date): void => {
      const tail = store.page('audit', { pageSize: 10_000 }).entries.at(-1);
      const claim = { feed: 'audit', seq: tail?.seq ?? 0, hash: tail?.hash ?? '', time: time.toISOString() };
      store.append('audit', { title: 'checkpoint', content: signCheckpoint(claim, old), contentType: 'application/json' });
    };
    store.append('audit', { title: 'e', content: 'one' });
    checkpointAt(new Date(now - 2 * minute));
    store.append('audit', { title: 'e', content: 'two' });
    checkpointAt(new Date(now));
    const report = await verify(path);
    expect(report.checkpoints, JSON.stringify(report.broken)).toBe(1);
    expect(report.broken).toMatchObject({ seq: 4, problem: 'bad_checkpoint', detail: expect.stringMatching(/not trusted: .*expired/) });
  });

  it('names a validly signed checkpoint that cites another entry than its predecessor', async () => {
    const { store, path } = build();
    const earlier = rowAt(path, 'audit', 10);
    store.append('audit', { title: 'checkpoint', content: signCheckpoint({ feed: 'audit', seq: 10, hash: earlier.hash, time: new Date().toISOString() }, feedId), contentType: 'application/json' });
    const report = await verify(path);
    expect(report.broken).toMatchObject({ seq: 12, problem: 'bad_checkpoint', detail: expect.stringMatching(/cites seq 10.*follows seq 11/) });
    expect(report.count).toBe(11);
  });

  describe('a rewritten trail whose later checkpoints were deleted (the chain re-hashed): only what the auditor kept shows it', () => {
    /** Rewrites entry 7, cuts the tail from 9 (a checkpoint) on, lowers the recorded last seq and re-hashes from 7. */
    function rewritten(): { path: string; kept: string } {
      const { path } = build();
      const kept = rowAt(path, 'audit', 9).hash;
      tamper(path, (db) => {
        db.prepare("UPDATE entries SET title = 'card refund ok' WHERE feed = 'audit' AND seq = 7").run();
        db.prepare("DELETE FROM entries WHERE feed = 'audit' AND seq >= 9").run();
        db.prepare("UPDATE feeds SET last_seq = 8 WHERE name = 'audit'").run();
        rehashFrom(db, 'audit', 7);
      });
      return { path, kept };
    }

    async function verifyWith(path: string, options: Partial<VerifyOptions>): Promise<VerifyReport> {
      const source = openSqliteSource(path, 'audit');
      try {
        return await verifyFeed(source, { trust: [pki.ca.certPem], ...options });
      } finally {
        source.close();
      }
    }

    it('verifies intact without them (what the chain and signatures alone can show)', async () => {
      const report = await verify(rewritten().path);
      expect(report.broken).toBeUndefined();
      expect(report).toMatchObject({ count: 8, checkpoints: 1, uncheckpointed: 3 });
    });

    it('a kept checkpoint: intact while it is there unchanged; broken when it is gone, not a checkpoint, or another one', async () => {
      const { path } = build();
      const intact = await verify(path);
      expect(intact.lastCheckpoint).toMatchObject({ seq: 9, hash: rowAt(path, 'audit', 9).hash });
      const kept = [{ seq: 5, hash: rowAt(path, 'audit', 5).hash }, { seq: 9, hash: rowAt(path, 'audit', 9).hash }];
      expect((await verifyWith(path, { expectCheckpoints: kept })).broken).toBeUndefined();

      const cut = rewritten();
      expect((await verifyWith(cut.path, { expectCheckpoints: [{ seq: 9, hash: cut.kept }] })).broken).toMatchObject({
        seq: 9, id: '', problem: 'expected_checkpoint', detail: expect.stringMatching(new RegExp(`kept as 9:${cut.kept} is not there: the feed ends at seq 8`)),
      });
      // Entries renumbered over the deleted checkpoint: seq 9 is now an ordinary entry.
      const renumbered = build();
      tamper(renumbered.path, (db) => {
        db.prepare("DELETE FROM entries WHERE feed = 'audit' AND seq = 9").run();
        db.prepare("UPDATE entries SET seq = seq - 1 WHERE feed = 'audit' AND seq > 9").run();
        db.prepare("UPDATE feeds SET last_seq = 10 WHERE name = 'audit'").run();
        rehashFrom(db, 'audit', 9);
      });
      expect((await verifyWith(renumbered.path, { expectCheckpoints: [{ seq: 9, hash: cut.kept }] })).broken).toMatchObject({
        seq: 9, problem: 'expected_checkpoint', detail: expect.stringMatching(/seq 9 is an entry that is not a checkpoint/),
      });
      expect((await verifyWith(path, { expectCheckpoints: [{ seq: 5, hash: kept[1]!.hash }] })).broken).toMatchObject({
        seq: 5, problem: 'expected_checkpoint', detail: expect.stringMatching(/seq 5 is a checkpoint with hash/),
      });
    });

    it('a policy on what follows the last checkpoint: broken past the limit', async () => {
      const { path } = build();
      expect((await verifyWith(path, { maxUncheckpointed: 2 })).broken).toBeUndefined();
      expect((await verifyWith(path, { maxUncheckpointed: 1 })).broken).toMatchObject({ seq: 11, problem: 'uncheckpointed' });
      expect((await verifyWith(rewritten().path, { maxUncheckpointed: 2 })).broken).toMatchObject({
        seq: 8, problem: 'uncheckpointed', detail: expect.stringMatching(/checkpoint \(seq 5\) is followed by 3 entries, more than the 2 allowed/),
      });
    });

    it('refuses a malformed or contradictory expectation as a bad option', async () => {
      const { path } = build();
      const hash = rowAt(path, 'audit', 5).hash;
      await expect(verifyWith(path, { expectCheckpoints: [{ seq: 5, hash: 'nope' }] })).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION' });
      await expect(verifyWith(path, { expectCheckpoints: [{ seq: 5, hash }, { seq: 5, hash: '0'.repeat(64) }] })).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION' });
      await expect(verifyWith(path, { maxUncheckpointed: -1 })).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION' });
    });
  });

  it('refuses what it cannot read: a missing file, an unknown or unchained feed, no trust', async () => {
    expect(() => openSqliteSource('/nonexistent/feed.sqlite', 'audit')).toThrow(expect.objectContaining({ code: 'AUDIT_SOURCE_FAILED' }));
    const { store, path } = build();
    expect(() => openSqliteSource(path, 'nope')).toThrow(expect.objectContaining({ code: 'AUDIT_SOURCE_FAILED' }));
    store.append('plain', { title: 't', content: 'c' }, { chained: false });
    expect(() => openSqliteSource(path, 'plain')).toThrow(expect.objectContaining({ code: 'AUDIT_NOT_CHAINED' }));
    const source = openSqliteSource(path, 'audit');
    try {
      await expect(verifyFeed(source, { trust: [] })).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION' });
    } finally {
      source.close();
    }
  });
});
