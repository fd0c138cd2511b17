/**
 * The running `paygate feed` (see feed.ts): its parts started in order and stopped in reverse,
 * whatever state a signal finds them in.
 */
import { readFileSync } from 'node:fs';
import { startCheckpointer, type Checkpointer } from '../audit/checkpoint.ts';
import { createEventsConsumer, type EventsConsumer } from '../feed/events-consumer.ts';
import { startFeedServer, type FeedServer } from '../feed/http/server.ts';
import { openSqliteFeedStore, type FeedStore } from '../feed/index.ts';
import { actionLogger, createLogger } from '../logging.ts';
import { loadIdentity, TrustStore, type Identity } from '../wire/index.ts';
import { loadFeedConfig, type FeedServerConfig } from './feed-config.ts';

type Log = ReturnType<typeof actionLogger>;

/** The parts, as far as they were started. */
interface Parts {
  store?: FeedStore;
  server?: FeedServer;
  checkpointer?: Checkpointer;
  consumer?: EventsConsumer;
}

/** Loads the config, starts everything, and stops it all on SIGTERM/SIGINT (exit 0). */
export async function runFeedServer(configPath: string): Promise<void> {
  const config = loadFeedConfig(configPath);
  // stderr (fd 2): stdout carries only the lines scripts wait for.
  const log = actionLogger(createLogger({ name: 'paygate-feed', destination: 2 }));
  const parts: Parts = {};
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void stopAll(parts, config, log).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('feed server: stopping failed', { error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  try {
    const identity = config.identity === undefined ? undefined : loadIdentity(readFileSync(config.identity.cert), readFileSync(config.identity.key));
    parts.store = openSqliteFeedStore(config.store);
    parts.server = await startFeedServer(parts.store, {
      listen: config.listen,
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
      clients: config.clients.map((c) => ({ name: c.name, tokenSha256: c.tokenSha256, feeds: { ...c.feeds } as Record<string, ('read' | 'append')[]> })),
      maxEntryBytes: config.maxEntryBytes,
      defaultPageSize: config.store.defaultPageSize,
      maxPageSize: config.store.maxPageSize,
      log,
    });
    if (config.checkpoints !== undefined && identity !== undefined) {
      parts.checkpointer = startCheckpointer({
        store: parts.store,
        feeds: [...config.checkpoints.feeds],
        identity,
        intervalMs: config.checkpoints.intervalMs,
        onError: (error) => log.warn('checkpoint failed; the next interval tries again', { error: error instanceof Error ? error.message : String(error) }),
      });
    }
    if (stopping) return;
    process.stdout.write(`paygate feed serving ${parts.server.publicUrl}\n`);
    if (config.events !== undefined && identity !== undefined) await startConsumer(parts, config.events, identity, log, () => stopping);
  } catch (error) {
    // A part failed to start: stop what did, so the process can exit with the error.
    if (!stopping) {
      stopping = true;
      await stopAll(parts, config, log).catch(() => undefined);
    }
    throw error;
  }
}

async function startConsumer(parts: Parts, events: NonNullable<FeedServerConfig['events']>, identity: Identity, log: Log, stopping: () => boolean): Promise<void> {
  const consumer = createEventsConsumer({
    store: parts.store as FeedStore,
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
  parts.consumer = consumer;
  try {
    await consumer.start();
  } catch (error) {
    if (stopping()) return; // closed by a signal while waiting for a broker
    throw error;
  }
  if (!stopping()) process.stdout.write(`paygate feed consuming ${events.queue}\n`);
}

/** Consumer first (it stores and ACKs what it holds), then the server, a last checkpoint, the store. */
async function stopAll(parts: Parts, config: FeedServerConfig, log: Log): Promise<void> {
  await parts.consumer?.stop();
  await parts.server?.close();
  parts.checkpointer?.stop();
  for (const feed of config.checkpoints?.feeds ?? []) {
    try {
      parts.checkpointer?.checkpoint(feed);
    } catch (error) {
      log.warn('last checkpoint failed', { feed, error: error instanceof Error ? error.message : String(error) });
    }
  }
  parts.store?.close();
  if (parts.consumer !== undefined) log.info('feed server stopped', { ...parts.consumer.stats });
}
