/**
 * Feed benchmark (`npm run bench:feed`; a benchmark, never a test):
 *
 * 1. Appends/s through HTTP POST (`startFeedServer` on 127.0.0.1 in a child process, keep-alive,
 *    concurrent clients, each POST one entry, durable when answered: `synchronous=FULL`, group
 *    commit of the POSTs that arrive together), beside the bound measured in
 *    the same run on the same disk: a bare better-sqlite3 loop inserting one row per commit with
 *    the same pragmas.
 * 2. The latency of a `start_after` page near the end of a 1,000,000-entry feed (filled with
 *    appendMany in batches of 10,000), through HTTP and straight from the store, and SQLite's
 *    `EXPLAIN QUERY PLAN` of the page queries: index lookups (SEARCH), never a SCAN.
 * 3. Through the events queue (feed-events.ts): sealed events SENT to an embedded broker, time
 *    until the events consumer has stored all of them.
 *
 * Options: --seconds N (per HTTP case, default 3), --entries N (default 1000000),
 * --clients 1,8,32, --events N (default 2000; 0 skips part 3), --dir PATH (default: a temp folder).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteFeedStore, type FeedStore } from '../src/feed/index.ts';
import { benchEventsQueue } from './feed-events.ts';
import { printTable, quantile } from './support.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    entries: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '1,8,32' },
    events: { type: 'string', default: '2000' },
    dir: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const ENTRIES = Number(args.entries);
const CLIENTS = args.clients.split(',').map(Number);
const EVENTS = Number(args.events);
const TOKEN = 'bench-token';
const dir = mkdtempSync(join(args.dir ?? tmpdir(), 'paygate-feed-bench-'));

const entryXml = (n: number): string =>
  `<?xml version="1.0" encoding="utf-8"?><entry xmlns="http://www.w3.org/2005/Atom"><title>order ${n}</title>`
  + `<content type="application/json">${Buffer.from(JSON.stringify({ order: n, amount: '10.00', currency: 'EUR' })).toString('base64')}</content></entry>`;

/** POSTs from `clients` concurrent loops for SECONDS; appends/s and latency percentiles. */
async function httpAppends(url: string, clients: number): Promise<{ rate: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const started = performance.now();
      const res = await fetch(`${url}/feeds/bench-http`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/atom+xml' }, body: entryXml((n += 1)),
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`POST answered ${res.status}`);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/** The bound: one row per commit with the store's pragmas, no HTTP, no hashing, no XML. */
function bareInserts(): number {
  const db = new Database(join(dir, 'bare.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, content TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO t (seq, id, content) VALUES (?, ?, ?)');
  const content = JSON.stringify({ order: 1, amount: '10.00', currency: 'EUR' });
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const started = performance.now();
  while (performance.now() < end) {
    n += 1;
    insert.run(n, `${n}-abcdefghijkl`, content); // autocommit: one commit, one fsync, per row
  }
  const rate = n / ((performance.now() - started) / 1000);
  db.close();
  return rate;
}

/** Fills `feed` with ENTRIES entries through appendMany; entries/s of the fill. */
function fill(store: FeedStore, feed: string): number {
  const started = performance.now();
  const batch = 10_000;
  for (let done = 0; done < ENTRIES; done += batch) {
    const size = Math.min(batch, ENTRIES - done);
    store.appendMany(Array.from({ length: size }, (_, i) => ({
      feed, entry: { title: `order ${done + i + 1}`, content: JSON.stringify({ order: done + i + 1, amount: '10.00' }), contentType: 'application/json' },
    })));
  }
  return ENTRIES / ((performance.now() - started) / 1000);
}

/** Latency percentiles (ms) of `runs` sequential calls of `fn`. */
async function latency(runs: number, fn: () => Promise<unknown> | unknown): Promise<{ p50: number; p99: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times.at(-1) ?? 0 };
}

/** SQLite's plan for the page queries the store runs (its statements, copied: the plan is what is shown). */
function queryPlans(path: string): string[] {
  const db = new Database(path, { readonly: true });
  const plan = (sql: string, ...params: unknown[]): string =>
    `${sql}\n    -> ${(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ')}`;
  const lines = [
    plan('SELECT seq FROM entries WHERE feed = ? AND id = ?', 'big', 'x'),
    plan('SELECT * FROM entries WHERE feed = ? AND seq >= ? ORDER BY seq LIMIT ?', 'big', 1, 100),
  ];
  db.close();
  return lines;
}

const ms = (v: number): string => v.toFixed(2);

async function main(): Promise<void> {
  console.log(`feed benchmark: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, folder ${dir}`);
  const store = openSqliteFeedStore({ path: join(dir, 'feed.sqlite') });
  const server = await startServerProcess(join(dir, 'feed.sqlite'));
  try {
    console.log(`\n1. appends through HTTP POST (one entry each, durable when answered; synchronous=FULL; server in a child process), ${SECONDS} s per case`);
    const rows: string[][] = [];
    for (const clients of CLIENTS) {
      const r = await httpAppends(server.url, clients);
      rows.push([String(clients), r.rate.toFixed(0), ms(r.p50), ms(r.p99)]);
    }
    const bound = bareInserts();
    rows.push(['bound', bound.toFixed(0), '', '']);
    printTable(['clients', 'appends/s', 'p50 ms', 'p99 ms'], rows);
    console.log('   bound = bare better-sqlite3 INSERT, one row per commit, WAL + synchronous=FULL, same folder, same run');

    console.log(`\n2. a start_after page near the end of a ${ENTRIES.toLocaleString('en')}-entry feed`);
    const fillRate = fill(store, 'big');
    console.log(`   filled with appendMany (batches of 10,000, chained): ${fillRate.toFixed(0)} entries/s`);
    const anchor = idOfSeq(join(dir, 'feed.sqlite'), Math.max(1, ENTRIES - 1500)); // every page size below gets a full page
    // A fresh keep-alive pool: the fill blocked the event loop past every idle socket's timeout.
    const agent = new Agent({ keepAlive: true });
    const pageRows: string[][] = [];
    for (const size of [10, 100, 1000]) {
      const viaStore = await latency(200, () => store.page('big', { startAfter: anchor, pageSize: size }));
      const viaHttp = await latency(200, () => get(agent, `${server.url}/feeds/big?start_after=${anchor}&page_size=${size}`));
      pageRows.push([String(size), ms(viaStore.p50), ms(viaStore.p99), ms(viaHttp.p50), ms(viaHttp.p99)]);
    }
    agent.destroy();
    printTable(['page_size', 'store p50 ms', 'store p99 ms', 'HTTP p50 ms', 'HTTP p99 ms'], pageRows);
    console.log(`   start_after = entry ${Math.max(1, ENTRIES - 1500)}; 200 sequential reads per row; HTTP = GET + Atom rendering + transfer, keep-alive`);
    console.log('   EXPLAIN QUERY PLAN of the page queries:');
    for (const line of queryPlans(join(dir, 'feed.sqlite'))) console.log(`   ${line}`);
  } finally {
    await server.close();
    store.close();
  }
  if (EVENTS > 0) {
    console.log(`\n3. through the events queue: ${EVENTS} sealed events SENT to an embedded broker, until all are stored`);
    await benchEventsQueue(join(dir, 'events'), EVENTS);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The server in a child process (feed-server-child.ts) on the same SQLite file. */
async function startServerProcess(path: string): Promise<{ url: string; close: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./feed-server-child.ts', import.meta.url)), path, createHash('sha256').update(TOKEN).digest('hex')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return {
    url: line,
    close: async () => {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

/** GET `url` with the bench token; resolves with the body's length once it is read. */
function get(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let length = 0;
      res.on('data', (chunk: Buffer) => (length += chunk.length)).on('end', () => (res.statusCode === 200 ? resolve(length) : reject(new Error(`GET answered ${res.statusCode}`))));
    }).on('error', reject).end();
  });
}

/** The id of the entry with sequence `seq` (read straight from the file: ids are opaque to the API). */
function idOfSeq(path: string, seq: number): string {
  const db = new Database(path, { readonly: true });
  const row = db.prepare("SELECT id FROM entries WHERE feed = 'big' AND seq = ?").get(seq) as { id: string };
  db.close();
  return row.id;
}

await main();
