/**
 * The parts of a feed server, started in order and stopped in reverse whatever state they
 * reached: the store, the HTTP server, the checkpointer and the events consumer. `paygate feed`
 * (feed-run.ts) and `paygate demo` run the same thing.
 */
import { readFileSync } from 'node:fs';
import { startCheckpointer, type Checkpointer } from '../audit/checkpoint.ts';
import { createEventsConsumer, type EventsConsumer, type EventsLog } from '../feed/events-consumer.ts';
import { startFeedServer, type FeedServer } from '../feed/http/server.ts';
import { openSqliteFeedStore, type FeedStore } from '../feed/index.ts';
import { loadIdentity, TrustStore, type Identity } from '../wire/index.ts';
import type { FeedServerConfig } from './feed-config.ts';

/** A running feed server. */
export interface FeedService {
  /** The base of its links (the configured public URL, else the address it listens on). */
  readonly url: string;
  readonly store: FeedStore;
  /** The events consumer, when the config has `events`. */
  readonly consumer?: EventsConsumer;
  /**
   * Resolves once the events subscription is confirmed (at once without `events`); a broker
   * that is not up yet is waited for. Rejects only if the consumer cannot start at all.
   */
  readonly consuming: Promise<void>;
  /** Consumer first (it stores and ACKs what it holds), then the server, a last checkpoint, the store. Once. */
  stop(): Promise<void>;
}

interface Parts {
  store?: FeedStore;
  server?: FeedServer;
  checkpointer?: Checkpointer;
  consumer?: EventsConsumer;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Starts the store, server and checkpointer, and the consumer without waiting for its broker (see `consuming`). */
export async function startFeedService(config: FeedServerConfig, log: EventsLog): Promise<FeedService> {
  const parts: Parts = {};
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= stopAll(parts, config, log));
  try {
    const identity = config.identity === undefined ? undefined : loadIdentity(readFileSync(config.identity.cert), readFileSync(config.identity.key));
    const store = openSqliteFeedStore(config.store);
    parts.store = store;
    const server = await startFeedServer(store, {
      listen: config.listen,
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
      clients: config.clients.map((c) => ({ name: c.name, tokenSha256: c.tokenSha256, feeds: { ...c.feeds } as Record<string, ('read' | 'append')[]> })),
      maxEntryBytes: config.maxEntryBytes,
      defaultPageSize: config.store.defaultPageSize,
      maxPageSize: config.store.maxPageSize,
      log,
    });
    parts.server = server;
    if (config.checkpoints !== undefined && identity !== undefined) {
      parts.checkpointer = startCheckpointer({
        store,
        feeds: [...config.checkpoints.feeds],
        identity,
        intervalMs: config.checkpoints.intervalMs,
        onError: (error) => log.warn('checkpoint failed; the next interval tries again', { error: messageOf(error) }),
      });
    }
    const consumer = config.events === undefined || identity === undefined ? undefined : makeConsumer(store, config.events, identity, log);
    parts.consumer = consumer;
    const consuming = consumer === undefined ? Promise.resolve() : consumer.start();
    // Stopping while the broker is still awaited rejects `start()`: that is not a failure.
    consuming.catch(() => undefined);
    return { url: server.publicUrl, store, ...(consumer === undefined ? {} : { consumer }), consuming, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

function makeConsumer(store: FeedStore, events: NonNullable<FeedServerConfig['events']>, identity: Identity, log: EventsLog): EventsConsumer {
  return createEventsConsumer({
    store,
    // A broker that is not up yet is waited for (reconnect backoff), never a reason to exit.
    stomp: { ...events.stomp, initialAttempts: 0 },
    queue: events.queue,
    dlqSuffix: events.dlqSuffix,
    identity,
    trust: new TrustStore(events.trust.gatewayCa.map((path) => readFileSync(path, 'utf8'))),
    ...(events.trust.gatewayRoles === undefined ? {} : { gatewayRoleOids: [...events.trust.gatewayRoles] }),
    prefetch: events.prefetch,
    log,
  });
}

async function stopAll(parts: Parts, config: FeedServerConfig, log: EventsLog): Promise<void> {
  await parts.consumer?.stop();
  await parts.server?.close();
  const checkpointer = parts.checkpointer;
  checkpointer?.stop();
  for (const feed of checkpointer === undefined ? [] : (config.checkpoints?.feeds ?? [])) {
    try {
      checkpointer?.checkpoint(feed);
    } catch (error) {
      log.warn('last checkpoint failed', { feed, error: messageOf(error) });
    }
  }
  parts.store?.close();
  if (parts.consumer !== undefined) log.info('feed server stopped', { ...parts.consumer.stats });
}
