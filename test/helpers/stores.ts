/**
 * The idempotency store engines the tests run on: `PAYGATE_TEST_STORES=sqlite,postgres`
 * (default `sqlite`). PostgreSQL needs `PAYGATE_TEST_POSTGRES_URL` (printed by
 * `bash scripts/postgres.sh start`); naming the engine without it fails the run rather than
 * skipping it, so a CI run never passes without the engine it was asked to test.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWorkerStore, type StoreOptions } from '../../src/worker/open-store.ts';
import type { StoreHealthListener, WorkerStore } from '../../src/worker/store-engine.ts';

export type TestStoreEngine = 'sqlite' | 'postgres';

const ENGINES: readonly TestStoreEngine[] = ['sqlite', 'postgres'];

/** The engines named by `PAYGATE_TEST_STORES`. @throws when one is unknown, or postgres is named without its URL. */
export function testStoreEngines(env: NodeJS.ProcessEnv = process.env): TestStoreEngine[] {
  const names = (env.PAYGATE_TEST_STORES ?? 'sqlite').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!ENGINES.includes(name as TestStoreEngine)) throw new Error(`PAYGATE_TEST_STORES: unknown engine ${name} (known: ${ENGINES.join(', ')})`);
  }
  if (names.includes('postgres') && (env.PAYGATE_TEST_POSTGRES_URL ?? '') === '') {
    throw new Error('PAYGATE_TEST_STORES names postgres but PAYGATE_TEST_POSTGRES_URL is unset: run `bash scripts/postgres.sh start` and export the line it prints');
  }
  return [...new Set(names)] as TestStoreEngine[];
}

/** Where a test store lives: the SQLite file or the PostgreSQL database. Open it again with the same location. */
export type StoreLocation = { readonly path: string } | { readonly url: string };

let tempRoot: string | undefined;
let counter = 0;

/** A new, empty store location on `engine`: a file in a temporary folder, or a new database. */
export async function freshStoreLocation(engine: TestStoreEngine): Promise<StoreLocation> {
  if (engine === 'postgres') {
    // Loaded only when asked for: a SQLite-only run needs no PostgreSQL client.
    const { freshDatabase } = await import('./postgres.ts');
    return { url: await freshDatabase() };
  }
  tempRoot ??= mkdtempSync(join(tmpdir(), 'paygate-store-'));
  counter += 1;
  return { path: join(tempRoot, `store-${counter}`, 'idempotency.sqlite') };
}

/** The retention settings a test may set. */
export interface TestTimings {
  readonly leaseMs?: number;
  readonly retentionMs?: number;
  readonly replayMarginMs?: number;
}

/** The store options for `location` with `timings`. */
export function storeOptionsAt(location: StoreLocation, timings: TestTimings = {}): StoreOptions {
  return { ...location, ...timings };
}

/** Opens the store at `location` (through the same factory as the worker). */
export function openStoreAt(location: StoreLocation, timings: TestTimings = {}, health?: StoreHealthListener): Promise<WorkerStore> {
  return openWorkerStore(storeOptionsAt(location, timings), health);
}
