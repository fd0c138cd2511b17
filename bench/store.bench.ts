/**
 * Idempotency store benchmark (`npm run bench:store`; a benchmark, never a test): the worker's
 * claim (`WorkerStore.claim`: the request id recorded as seen, then `begin` on its key, in one
 * durable unit) on the SQLite and the PostgreSQL engine, at 1, 16 and 64 claims in flight, in one
 * run, each beside its bound measured in the same run:
 *
 * - SQLite: a bare better-sqlite3 loop of `INSERT … ON CONFLICT DO NOTHING` with the engine's
 *   pragmas (WAL, `synchronous=FULL`), committing as many rows per transaction as there are
 *   claims in flight (what group commit can do at best: one fsync per turn of the event loop);
 * - PostgreSQL: as many connections as claims in flight, each running a bare autocommitted
 *   `INSERT … ON CONFLICT DO NOTHING` (one round trip and one commit per row).
 *
 * Every claim uses a new key and a new request id (the common case: a request seen for the first
 * time). PostgreSQL: `PAYGATE_TEST_POSTGRES_URL`, else the throw-away server of
 * `scripts/postgres.sh` is started; each case runs on a database of its own, dropped afterwards.
 *
 * Options: --seconds N (per case, default 3), --depths 1,16,64, --engines sqlite,postgres,
 * --dir PATH (SQLite files; default a temp folder on the same disk as /tmp).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openWorkerStore, type StoreOptions } from '../src/worker/open-store.ts';
import { printTable, quantile } from './support.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    depths: { type: 'string', default: '1,16,64' },
    engines: { type: 'string', default: 'sqlite,postgres' },
    dir: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const DEPTHS = args.depths.split(',').map(Number);
const ENGINES = args.engines.split(',');
const WARM_UP_MS = 300;

interface Measured {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

/** Runs `depth` lanes, each calling `one(i)` back to back, for SECONDS after a warm-up; rate and latency. */
async function measure(depth: number, one: (i: number) => Promise<void>): Promise<Measured> {
  let next = 0;
  let counting = false;
  let stop = false;
  const latencies: number[] = [];
  const lane = async (): Promise<void> => {
    while (!stop) {
      const started = performance.now();
      await one(next++);
      if (counting) latencies.push(performance.now() - started);
    }
  };
  const lanes = Array.from({ length: depth }, lane);
  await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
  counting = true;
  const from = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
  counting = false;
  const elapsed = (performance.now() - from) / 1_000;
  const count = latencies.length;
  stop = true;
  await Promise.all(lanes);
  latencies.sort((a, b) => a - b);
  return { rate: count / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/** The worker's claim on the store at `options`, `depth` in flight. */
async function engineCase(options: StoreOptions, depth: number): Promise<Measured> {
  const store = await openWorkerStore(options);
  const expiresAt = Date.now() + 3_600_000;
  try {
    return await measure(depth, async (i) => {
      const claim = await store.claim({
        requestId: `req-${i}|card|bench`,
        expiresAt,
        begin: { provider: 'card', idempotencyKey: `key-${i}`, requestId: `req-${i}`, payloadDigest: 'digest', workerId: 'bench-worker' },
      });
      if (claim.kind !== 'begun' || claim.begun.kind !== 'new') throw new Error(`unexpected claim outcome ${JSON.stringify(claim)}`);
    });
  } finally {
    await store.close();
  }
}

/** SQLite's bound: `depth` rows per commit, the engine's pragmas, a bare prepared INSERT … ON CONFLICT. */
async function sqliteBound(path: string, depth: number): Promise<Measured> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS bound (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID');
  const insert = db.prepare('INSERT INTO bound (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING');
  const commitRows = db.transaction((keys: number[]) => {
    for (const k of keys) insert.run(`key-${k}`, k);
  });
  // The lanes' inserts of one event-loop turn are committed together, as group commit does.
  let queued: { k: number; done: () => void }[] = [];
  const flush = (): void => {
    const batch = queued;
    queued = [];
    commitRows(batch.map((q) => q.k));
    for (const q of batch) q.done();
  };
  try {
    return await measure(depth, (i) => new Promise<void>((resolve) => {
      if (queued.length === 0) setImmediate(flush);
      queued.push({ k: i, done: resolve });
    }));
  } finally {
    db.close();
  }
}

/** PostgreSQL's bound: `depth` connections, one autocommitted INSERT … ON CONFLICT per row. */
async function postgresBound(url: string, depth: number): Promise<Measured> {
  const pool = new pg.Pool({ connectionString: url, max: depth });
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bound (k TEXT PRIMARY KEY, v BIGINT NOT NULL)');
    return await measure(depth, async (i) => {
      await pool.query({ name: 'bound-insert', text: 'INSERT INTO bound (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING', values: [`key-${i}`, i] });
    });
  } finally {
    await pool.end();
  }
}

/** The server URL: the environment's, or the throw-away server's (started when it is not running). */
function postgresServerUrl(): string {
  const fromEnv = process.env.PAYGATE_TEST_POSTGRES_URL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const script = fileURLToPath(new URL('../scripts/postgres.sh', import.meta.url));
  const out = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop() ?? '';
  return line.replace(/^PAYGATE_TEST_POSTGRES_URL=/, '');
}

/** A new database on the server, dropped by the returned function. */
async function scratchDatabase(serverUrl: string, name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = new pg.Client({ connectionString: serverUrl });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  };
}

const fmt = (m: Measured): string[] => [Math.round(m.rate).toLocaleString('en-US'), m.p50.toFixed(2), m.p99.toFixed(2)];

async function main(): Promise<void> {
  const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'paygate-bench-store-'));
  const rows: string[][] = [];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`# bench:store — ${new Date().toISOString()}, ${cpus().length} × ${cpu}, node ${process.version}, ${SECONDS} s per case`);
  const serverUrl = ENGINES.includes('postgres') ? postgresServerUrl() : '';
  if (serverUrl !== '') {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    const settings = await client.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'wal_sync_method')");
    await client.end();
    console.log(`# PostgreSQL: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')}; server ${new URL(serverUrl).host}`);
  }
  let n = 0;
  for (const depth of DEPTHS) {
    if (ENGINES.includes('sqlite')) {
      n += 1;
      const engine = await engineCase({ path: join(dir, `engine-${n}.sqlite`) }, depth);
      const bound = await sqliteBound(join(dir, `bound-${n}.sqlite`), depth);
      rows.push(['SQLite', String(depth), ...fmt(engine), ...fmt(bound), `${((engine.rate / bound.rate) * 100).toFixed(0)} %`]);
      console.error(`sqlite depth ${depth}: ${rows.at(-1)?.join(' | ')}`);
    }
    if (serverUrl !== '') {
      n += 1;
      const engineDb = await scratchDatabase(serverUrl, `paygate_bench_${process.pid}_${n}_engine`);
      const boundDb = await scratchDatabase(serverUrl, `paygate_bench_${process.pid}_${n}_bound`);
      try {
        const engine = await engineCase({ url: engineDb.url, poolSize: depth }, depth);
        const bound = await postgresBound(boundDb.url, depth);
        rows.push(['PostgreSQL', String(depth), ...fmt(engine), ...fmt(bound), `${((engine.rate / bound.rate) * 100).toFixed(0)} %`]);
        console.error(`postgres depth ${depth}: ${rows.at(-1)?.join(' | ')}`);
      } finally {
        await engineDb.drop();
        await boundDb.drop();
      }
    }
  }
  printTable(['engine', 'in flight', 'claims/s', 'p50 ms', 'p99 ms', 'bound rows/s', 'bound p50 ms', 'bound p99 ms', 'engine / bound'], rows);
  if (args.dir === undefined) rmSync(dir, { recursive: true, force: true });
}

await main();
