/**
 * The running `paygate feed` (see feed.ts): the feed service (feed-service.ts) in the
 * foreground, its two stdout lines, and SIGTERM/SIGINT → a clean stop and exit 0.
 */
import { actionLogger, createLogger } from '../logging.ts';
import { loadFeedConfig } from './feed-config.ts';
import { startFeedService, type FeedService } from './feed-service.ts';

/** Loads the config, starts everything, and stops it all on SIGTERM/SIGINT (exit 0). */
export async function runFeedServer(configPath: string): Promise<void> {
  const config = loadFeedConfig(configPath);
  // stderr (fd 2): stdout carries only the lines scripts wait for.
  const log = actionLogger(createLogger({ name: 'paygate-feed', destination: 2 }));
  const running: { service?: FeedService } = {};
  let signalled = false;
  const stop = (): void => {
    if (signalled) return;
    signalled = true;
    if (running.service === undefined) return; // still starting: stopped below once it has
    void running.service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('feed server: stopping failed', { error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  const service = await startFeedService(config, log);
  running.service = service;
  if (signalled) {
    signalled = false;
    stop();
    return;
  }
  process.stdout.write(`paygate feed serving ${service.url}\n`);
  if (config.events === undefined) return;
  try {
    await service.consuming;
  } catch (error) {
    if (signalled) return; // closed by a signal while waiting for a broker
    await service.stop().catch(() => undefined);
    throw error;
  }
  if (!signalled) process.stdout.write(`paygate feed consuming ${config.events.queue}\n`);
}
