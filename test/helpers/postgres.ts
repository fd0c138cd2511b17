/**
 * PostgreSQL for the tests: the server `bash scripts/postgres.sh start` runs (its URL in
 * `PAYGATE_TEST_POSTGRES_URL`), a new database on it for every store a test opens, and a
 * throw-away server of a test's own to stop, kill and start again (scripts/postgres.sh with its
 * state in a temporary folder), for the failures that must not touch the shared one.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe } from 'vitest';

const run = promisify(execFile);
const SCRIPT = new URL('../../scripts/postgres.sh', import.meta.url).pathname;

/** The shared test server's URL, or undefined when the suite runs without PostgreSQL. */
export const TEST_POSTGRES_URL: string | undefined = process.env.PAYGATE_TEST_POSTGRES_URL || undefined;

/** Why the PostgreSQL tests are skipped, for `describe.skipIf(...)`'s name. */
export const POSTGRES_SKIP_REASON = 'PAYGATE_TEST_POSTGRES_URL is unset (bash scripts/postgres.sh start prints it)';

/**
 * `describe` for a suite that needs PostgreSQL: skipped, with the reason in its name, only when
 * `PAYGATE_TEST_POSTGRES_URL` is unset (CI sets it).
 */
export function describePostgres(name: string, body: () => void): void {
  if (TEST_POSTGRES_URL === undefined) describe.skip(`${name} (skipped: ${POSTGRES_SKIP_REASON})`, body);
  else describe(name, body);
}

/** The shared server's URL. @throws when `PAYGATE_TEST_POSTGRES_URL` is unset. */
export function testPostgresUrl(): string {
  if (TEST_POSTGRES_URL === undefined) throw new Error(POSTGRES_SKIP_REASON);
  return TEST_POSTGRES_URL;
}

/** `url` naming database `name` instead (same login, host and port). */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Runs `sql` on `url` with a connection of its own. */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

// Test databases: paygate_test_<base-36 creation second>_<pid>_<n>, dropped by dropTestDatabases()
// or at exit. A test runner may end its worker processes without an exit event, so each process
// also drops, at its first fresh database, those whose creator is gone (or older than 3 hours).
const PREFIX = 'paygate_test_';
const LEFT_BEHIND_MS = 3 * 60 * 60 * 1_000;
const created = new Set<string>();
let counter = 0;
let swept = false;

/** Whether process `pid` of this machine exists. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops the test databases left behind by processes that ended without dropping theirs. */
async function sweepLeftBehind(url: string): Promise<void> {
  swept = true;
  const rows = await sql<{ datname: string }>(url, 'SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
  for (const { datname } of rows) {
    const [born36, pidText] = datname.slice(PREFIX.length).split('_');
    const born = parseInt(born36 ?? '', 36) * 1_000;
    const pid = Number(pidText);
    const gone = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processExists(pid);
    if (gone || (Number.isFinite(born) && Date.now() - born > LEFT_BEHIND_MS)) {
      // Another process may be sweeping the same one: whoever comes second finds nothing to drop.
      await sql(url, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  }
}

/**
 * A new, empty database on the server of `PAYGATE_TEST_POSTGRES_URL`; returns its URL. It is
 * dropped by {@link dropTestDatabases}, or at the latest when this process exits.
 */
export async function freshDatabase(): Promise<string> {
  const url = testPostgresUrl();
  if (!swept) await sweepLeftBehind(url);
  counter += 1;
  const name = `${PREFIX}${Math.floor(Date.now() / 1_000).toString(36)}_${process.pid}_${counter}`;
  await sql(url, `CREATE DATABASE "${name}"`);
  created.add(name);
  return withDatabase(url, name);
}

/** Drops every database {@link freshDatabase} made in this process (closing what is still connected to them). */
export async function dropTestDatabases(): Promise<void> {
  if (TEST_POSTGRES_URL === undefined) return;
  for (const name of [...created]) {
    await sql(TEST_POSTGRES_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    created.delete(name);
  }
}

/** psql of the Debian package (the same one scripts/postgres.sh uses), for what must run synchronously at exit. */
function psqlSync(url: string, command: string): void {
  spawnSync('bash', ['-c', 'exec "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" -X -q -d "$1" -c "$2"', '_', url, command], {
    stdio: 'ignore',
    timeout: 10_000,
  });
}

process.once('exit', () => {
  if (TEST_POSTGRES_URL === undefined) return;
  for (const name of created) psqlSync(TEST_POSTGRES_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

/** A throw-away PostgreSQL server of a test's own (see {@link startPostgres}). */
export interface TestPostgres {
  /** The `paygate` database on it (its port stays the same across stop and start). */
  readonly url: string;
  /** Starts it again (after {@link stop} or {@link kill}); resolves once the login works. */
  start(): Promise<void>;
  /** Stops it (fast mode: open sessions are ended); resolves once it is down. */
  stop(): Promise<void>;
  /** SIGKILLs the server and every process of it (a crash): nothing is shut down cleanly. */
  kill(): Promise<void>;
  /** SIGSTOPs the server and every process of it: a server that stops answering (a hung host, a lost network) without closing anything. */
  freeze(): void;
  /** SIGCONTs what {@link freeze} stopped. */
  thaw(): void;
  /** Stops it and deletes its folder. */
  remove(): Promise<void>;
}

const alive = new Set<string>();

process.once('exit', () => {
  // A test that failed before removing its server must not leave it running (it has a session of its own).
  for (const state of alive) spawnSync('bash', [SCRIPT, 'stop'], { env: { ...process.env, PAYGATE_POSTGRES_STATE: state }, stdio: 'ignore', timeout: 30_000 });
});

async function script(state: string, command: 'start' | 'stop'): Promise<string> {
  try {
    const { stdout } = await run('bash', [SCRIPT, command], { env: { ...process.env, PAYGATE_POSTGRES_STATE: state }, timeout: 120_000 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`scripts/postgres.sh ${command} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

/** The pids of the server in `data` and of its children. */
function serverPids(data: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return [postmaster, ...children];
}

/** Sends `signal` to each of `pids` that still exists. */
function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Whether `pid` exists: running, or a zombie not yet reaped (which a new postmaster also takes for a live one). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a PostgreSQL server of this test's own (initdb in a temporary folder, a free port, the
 * same `paygate` login and database as scripts/postgres.sh): about a second.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const state = mkdtempSync(join(tmpdir(), 'paygate-pg-'));
  alive.add(state);
  const out = await script(state, 'start');
  const line = out.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('PAYGATE_TEST_POSTGRES_URL=')) throw new Error(`scripts/postgres.sh start printed no URL:\n${out}`);
  const url = line.slice('PAYGATE_TEST_POSTGRES_URL='.length);
  const data = join(state, 'data');
  return {
    url,
    start: async () => {
      await script(state, 'start');
    },
    stop: async () => {
      await script(state, 'stop');
    },
    kill: async () => {
      const pids = serverPids(data);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // The next start needs every process of the old server gone (they hold its shared memory).
      const deadline = Date.now() + 10_000;
      while (pids.some(isAlive)) {
        if (Date.now() > deadline) throw new Error(`postgres processes ${pids.filter(isAlive).join(', ')} survived SIGKILL`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    freeze: () => signalAll(serverPids(data), 'SIGSTOP'),
    thaw: () => signalAll(serverPids(data), 'SIGCONT'),
    remove: async () => {
      for (const pid of serverPids(data)) signalAll([pid], 'SIGCONT');
      await script(state, 'stop');
      alive.delete(state);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
