/**
 * `paygate audit verify` as an auditor runs it (the real bin, in a child process): exit 0 and the
 * report for an intact feed, 2 and the first broken link for a tampered one, 1 and one line when it
 * could not verify (usage, unreadable file, refused token); the token from PAYGATE_FEED_TOKEN.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFeedServer, type FeedServer } from '../../src/feed/index.ts';
import { loadIdentity } from '../../src/wire/index.ts';
import { feedStores } from '../feed/support.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { fillAudit, rehashFrom, rowAt, tamper } from './support.ts';

const BIN = fileURLToPath(new URL('../../bin/paygate.js', import.meta.url));
const TOKEN = 'cli-auditor-token-42';

interface Run { code: number; stdout: string; stderr: string }

function paygate(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, PAYGATE_FEED_TOKEN: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error as { code?: unknown }).code;
      if (typeof code !== 'number') reject(error ?? new Error('no exit code'));
      else resolve({ code, stdout, stderr });
    });
  });
}

const stores = feedStores();
let pki: TestPki;
let intact: string;
let broken: string;
let brokenId: string;
let server: FeedServer;

beforeAll(async () => {
  pki = await makeTestPki();
  const feedId = loadIdentity(pki.feed.certPem, pki.feed.keyPem);
  const a = stores.open();
  fillAudit(a.store, feedId);
  intact = a.path;
  const b = stores.open();
  fillAudit(b.store, feedId);
  broken = b.path;
  brokenId = rowAt(broken, 'audit', 7).id;
  tamper(broken, (db) => db.prepare("UPDATE entries SET title = 'card refund ok' WHERE feed = 'audit' AND seq = 7").run());
  server = await startFeedServer(a.store, {
    listen: { host: '127.0.0.1' },
    clients: [{ name: 'auditor', tokenSha256: createHash('sha256').update(TOKEN).digest('hex'), feeds: { '*': ['read'] } }],
  });
});
afterAll(async () => {
  await server.close();
});

describe('paygate audit verify', () => {
  it('--role-oid replaces the feed role: with serverAuth asked for, the feed\'s checkpoints (signed by a certificate without it) are bad', async () => {
    const run = await paygate(['audit', 'verify', '--db', intact, '--trust', pki.ca.certPath, '--role-oid', '1.3.6.1.5.5.7.3.1']);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/BROKEN at seq 5 .*bad_checkpoint: its signer may not sign checkpoints/);
  });

  it('exit 0 for an intact feed (file or HTTP with the token from the environment), 2 naming the first broken link', async () => {
    const [file, http, tampered, json] = await Promise.all([
      paygate(['audit', 'verify', '--db', intact, '--trust', pki.ca.certPath]),
      paygate(['audit', 'verify', '--feed', `${server.url}/feeds/audit`, '--page-size', '4', '--trust', pki.feed.certPath], { PAYGATE_FEED_TOKEN: TOKEN }),
      paygate(['audit', 'verify', '--db', broken, '--name', 'audit', '--trust', pki.ca.certPath]),
      paygate(['audit', 'verify', '--db', broken, '--trust', pki.ca.certPath, '--json']),
    ]);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout).toMatch(/entries verified: 11 \(seq 1\.\.11, /);
    expect(file.stdout).toMatch(/checkpoints verified: 2 \(last at seq 9, .*\); 2 entries after it not yet checkpointed/);
    expect(file.stdout.trim().split('\n').at(-1)).toBe('INTACT');
    expect(http.code, http.stderr).toBe(0);
    expect(http.stdout).toBe(file.stdout);
    expect(tampered.code).toBe(2);
    expect(tampered.stdout).toContain(`BROKEN at seq 7 (entry ${brokenId}): altered: its fields no longer hash to its recorded hash`);
    expect(tampered.stdout).toMatch(/entries verified: 6 \(seq 1\.\.6/);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ count: 6, broken: { seq: 7, id: brokenId, problem: 'altered' } });
  });

  it('exit 1 and one line when it cannot verify: usage, a missing file, an unreadable --trust, a refused token', async () => {
    const runs = await Promise.all([
      paygate(['audit', 'verify', '--trust', pki.ca.certPath]),
      paygate(['audit', 'verify', '--db', intact, '--feed', `${server.url}/feeds/audit`, '--trust', pki.ca.certPath]),
      paygate(['audit', 'verify', '--db', intact]),
      paygate(['audit', 'verify', '--db', `${intact}.missing`, '--trust', pki.ca.certPath]),
      paygate(['audit', 'verify', '--db', intact, '--trust', `${pki.dir}/nope.pem`]),
      paygate(['audit', 'verify', '--feed', `${server.url}/feeds/audit`, '--token', 'wrong', '--trust', pki.ca.certPath]),
      paygate(['audit', 'verify', '--db', intact, '--trust', pki.ca.certPath, '--role-oid', 'feed']),
    ]);
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    const [neither, both, noTrust, missing, trust, token, oid] = runs as [Run, Run, Run, Run, Run, Run, Run];
    expect(oid.stderr).toMatch(/^paygate: AUDIT_BAD_OPTION: .*feedRoleOids/);
    expect(neither.stderr).toMatch(/exactly one of --feed <url> and --db <file>/);
    expect(both.stderr).toMatch(/exactly one of/);
    expect(noTrust.stderr).toMatch(/--trust/);
    expect(missing.stderr).toMatch(/^paygate: AUDIT_SOURCE_FAILED: cannot read the feed store/);
    expect(trust.stderr).toMatch(/^paygate: FILE_UNREADABLE: --trust /);
    expect(token.stderr).toMatch(/^paygate: AUDIT_SOURCE_FAILED: GET .*: 401/);
    expect(token.stderr).not.toContain('wrong');
    for (const r of runs) expect(r.stdout).toBe('');
  });

  it('exit 1 and one line for a feed URL whose path is not percent-encoded UTF-8', async () => {
    const run = await paygate(['audit', 'verify', '--feed', 'http://127.0.0.1:1/feeds/%E0', '--trust', pki.ca.certPath]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^paygate: AUDIT_BAD_OPTION: .*percent-encoded UTF-8\n$/);
    expect(run.stdout).toBe('');
  });

  it('exit 2, not 1, for an entry whose hashes were removed from the file', async () => {
    const { store, path } = stores.open();
    fillAudit(store, loadIdentity(pki.feed.certPem, pki.feed.keyPem));
    tamper(path, (db) => db.prepare("UPDATE entries SET hash = NULL, prev_hash = NULL WHERE feed = 'audit' AND seq = 2").run());
    const run = await paygate(['audit', 'verify', '--db', path, '--trust', pki.ca.certPath]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toMatch(/BROKEN at seq 2 .*altered: it has no hash in a chained feed/);
  });

  it('--expect-checkpoint (what the last run printed) and --max-uncheckpointed: exit 2 for a trail rewritten and cut before the kept checkpoint', async () => {
    const first = await paygate(['audit', 'verify', '--db', intact, '--trust', pki.ca.certPath]);
    const kept = /^last checkpoint: (9:[0-9a-f]{64})$/m.exec(first.stdout)?.[1];
    expect(kept, first.stdout).toBe(`9:${rowAt(intact, 'audit', 9).hash}`);
    const { store, path } = stores.open();
    fillAudit(store, loadIdentity(pki.feed.certPem, pki.feed.keyPem));
    store.close();
    tamper(path, (db) => {
      db.prepare("UPDATE entries SET title = 'card refund ok' WHERE feed = 'audit' AND seq = 7").run();
      db.prepare("DELETE FROM entries WHERE feed = 'audit' AND seq >= 9").run();
      db.prepare("UPDATE feeds SET last_seq = 8 WHERE name = 'audit'").run();
      rehashFrom(db, 'audit', 7);
    });
    const hash = (kept as string).slice(2);
    const [again, plain, cut, policy, malformed] = await Promise.all([
      paygate(['audit', 'verify', '--db', intact, '--trust', pki.ca.certPath, '--expect-checkpoint', kept as string, '--max-uncheckpointed', '2']),
      paygate(['audit', 'verify', '--db', path, '--trust', pki.ca.certPath]),
      paygate(['audit', 'verify', '--db', path, '--trust', pki.ca.certPath, '--expect-checkpoint', `9:${hash}`]),
      paygate(['audit', 'verify', '--db', path, '--trust', pki.ca.certPath, '--max-uncheckpointed', '2']),
      paygate(['audit', 'verify', '--db', path, '--trust', pki.ca.certPath, '--expect-checkpoint', '9']),
    ]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(plain.code).toBe(0); // what signatures alone can show
    expect(cut.code).toBe(2);
    expect(cut.stdout).toContain(`BROKEN at seq 9: expected_checkpoint: the checkpoint kept as 9:${hash} is not there: the feed ends at seq 8`);
    expect(policy.code).toBe(2);
    expect(policy.stdout).toMatch(/BROKEN at seq 8 .*uncheckpointed: .*3 entries, more than the 2 allowed/);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/--expect-checkpoint "9": expected <seq>:<64 hex digits/);
  });
});
