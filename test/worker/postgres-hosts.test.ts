/**
 * Several hosts on one PostgreSQL store: two processes, each with a pool of its own (as two
 * gateway hosts have), race for the same 200 keys from the same millisecond, in the same order,
 * four claims in flight each. Exactly one of them gets `new` for each key, the other sees the
 * winner's entry (never a conflict or an error), and the database names the winner as holder.
 * Once through `claim` (the worker's path: one transaction with the request id's record), once
 * through `begin` alone (statements that commit on their own).
 */
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { migratePostgres } from '../../src/worker/postgres-migrations.ts';
import { describePostgres, dropTestDatabases, freshDatabase, sql } from '../helpers/postgres.ts';

afterAll(dropTestDatabases);

const STORE_MODULE = new URL('../../src/worker/postgres-store.ts', import.meta.url).pathname;
const KEYS = 200;

/**
 * The racer, run by `node --import tsx -e` with: store module, URL, keys, worker id, mode. It
 * opens the store, says it is ready, waits for the start time (epoch ms) on the IPC channel and
 * spins until then, then claims keys 0 … KEYS-1 four at a time and reports the keys it won and a
 * count per outcome (or the error that stopped it).
 */
const RACER = `
const [storeModule, url, keys, workerId, mode] = process.argv.slice(1);
const { PostgresStore } = await import(storeModule);
const store = await PostgresStore.open({ url, migrate: false, poolSize: 4 });
process.send({ ready: true });
process.once('message', async (startAt) => {
  try {
    while (Date.now() < startAt);
    const won = [];
    const kinds = {};
    let next = 0;
    const lane = async () => {
      while (next < Number(keys)) {
        const i = next++;
        const begin = { provider: 'card', idempotencyKey: 'key-' + i, requestId: 'req-' + workerId + '-' + i, payloadDigest: 'digest-' + i, workerId };
        const outcome = mode === 'claim'
          ? (await store.claim({ requestId: begin.requestId, expiresAt: Date.now() + 60000, begin })).begun
          : await store.begin(begin);
        kinds[outcome.kind] = (kinds[outcome.kind] ?? 0) + 1;
        if (outcome.kind === 'new') won.push(i);
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    await store.close();
    process.send({ won, kinds }, () => process.exit(0));
  } catch (error) {
    process.send({ error: String(error && error.message) }, () => process.exit(1));
  }
});
`;

type Report = { won: number[]; kinds: Record<string, number> };

async function race(url: string, mode: 'claim' | 'begin'): Promise<[Report, Report]> {
  const children = ['wa', 'wb'].map((id) =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RACER, STORE_MODULE, url, String(KEYS), id, mode], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  // Each racer says it is ready, then sends its report; exiting before the report fails the test.
  const racers = children.map((child) => {
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const report = new Promise<Report>((resolve, reject) => {
      child.on('message', (message: { ready?: true; error?: string } | Report) => {
        if ('ready' in message) ready();
        else if ('error' in message) reject(new Error(`a racer failed: ${message.error}`));
        else resolve(message as Report);
      });
      child.once('exit', (code) => reject(new Error(`a racer exited with ${code} before reporting`)));
    });
    report.catch(() => undefined); // awaited below
    return { isReady, report };
  });
  await Promise.race([Promise.all(racers.map((r) => r.isReady)), Promise.all(racers.map((r) => r.report))]);
  const startAt = Date.now() + 200;
  for (const child of children) child.send(startAt);
  return (await Promise.all(racers.map((r) => r.report))) as [Report, Report];
}

describePostgres('PostgreSQL store: two hosts racing for the same keys', () => {
  for (const mode of ['claim', 'begin'] as const) {
    it(`give exactly one new per key (${mode})`, async () => {
      const url = await freshDatabase();
      await migratePostgres(url);
      const [a, b] = await race(url, mode);

      expect(a.won.length + b.won.length).toBe(KEYS);
      expect(new Set([...a.won, ...b.won]).size).toBe(KEYS);
      // every key was tried by both: the loser saw the winner's entry, never a conflict or an error
      expect((a.kinds['in-progress'] ?? 0) + (b.kinds['in-progress'] ?? 0)).toBe(KEYS);
      expect(Object.keys({ ...a.kinds, ...b.kinds }).sort()).toEqual(['in-progress', 'new']);

      const owners = await sql<{ key: string; worker: string }>(url, 'SELECT idempotency_key AS key, worker_id AS worker FROM idempotency');
      expect(owners).toHaveLength(KEYS);
      const wonBy = new Map<string, string>([...a.won.map((i) => [`key-${i}`, 'wa'] as const), ...b.won.map((i) => [`key-${i}`, 'wb'] as const)]);
      expect(owners.filter(({ key, worker }) => wonBy.get(key) !== worker)).toEqual([]);
    });
  }
});
