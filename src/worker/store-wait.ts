/**
 * Opening the store at a worker's start, when it is a PostgreSQL database that cannot be reached
 * yet (down, restarting, the network not up): waited for, as a broker that is not up is, never a
 * reason to exit. A worker that exited instead would be restarted by the supervisor until its
 * restart intensity ran out, and a database restart during a gateway start or reload would take
 * the whole gateway down with it. Anything else that fails the open (a wrong password, a schema
 * too new, bad options, a SQLite file that is damaged) is a start failure as before.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkerError } from './errors.ts';
import { isPostgresOptions, openWorkerStore, type StoreOptions } from './open-store.ts';
import { isUnreachable } from './postgres-errors.ts';
import type { StoreHealthListener, WorkerStore } from './store-engine.ts';

/** What the caller hears while the store is waited for. */
export interface StoreWaitHooks {
  /** Giving up: the open rejects with the last failure (a stop asked for while waiting). */
  readonly signal?: AbortSignal;
  /** Each failed attempt to reach the database (its `STORE_FAILED`, the password masked). */
  readonly onStoreUnreachable?: (event: { readonly code: string; readonly message: string }) => void;
}

/** The first wait between attempts, doubled after each, up to {@link MAX_DELAY_MS}. */
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

/** Opens the store; a PostgreSQL database that cannot be reached is tried again until it answers or `hooks.signal` aborts. */
export async function openStoreWhenReachable(options: StoreOptions, health: StoreHealthListener, hooks: StoreWaitHooks = {}): Promise<WorkerStore> {
  for (let delayMs = FIRST_DELAY_MS; ; delayMs = Math.min(delayMs * 2, MAX_DELAY_MS)) {
    try {
      return await openWorkerStore(options, health);
    } catch (error) {
      if (!isPostgresOptions(options) || !(error instanceof WorkerError) || !isUnreachable(error.cause)) throw error;
      hooks.onStoreUnreachable?.({ code: error.code, message: error.message });
      if (hooks.signal?.aborted) throw error;
      try {
        await sleep(delayMs, undefined, { signal: hooks.signal });
      } catch {
        throw error; // aborted while waiting: the last failure says why there is no store
      }
    }
  }
}
