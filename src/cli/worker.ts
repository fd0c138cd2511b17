/**
 * `paygate worker --config FILE`: one worker process in the foreground (docs/operations.md,
 * "Worker configuration"). The supervisor (`paygate gateway`) runs several of these; this command is
 * also what an operator runs by hand, or under systemd, for a single worker.
 *
 * Prints `paygate worker <id> serving <providers>` once every provider queue is subscribed; a
 * broker that is not up yet is waited for (retried with backoff, each failure logged).
 * SIGTERM or SIGINT: stop taking messages, finish and acknowledge what it holds (up to
 * `--grace`), disconnect, exit 0. Log lines are pino JSON on stderr (src/logging.ts: card data
 * masked by construction; `PAYGATE_LOG_LEVEL` sets the level). A config problem: the
 * `CONFIG_INVALID` lines on stderr, exit 2.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { CommanderError } from 'commander';
import { checkReadable, guarded, REFUSED_EXIT_CODE } from './io.ts';

interface WorkerCliOptions {
  config: string;
  grace: number;
}

function parseGrace(value: string): number {
  const ms = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(ms >= 0)) throw new InvalidArgumentError('expected milliseconds');
  return ms;
}

/** The `worker` sub-command. */
export function workerCommand(): Command {
  return new Command('worker')
    .description('Run one worker: serve the configured provider queues (docs/operations.md)')
    .requiredOption('--config <file>', 'worker config file (YAML)')
    .option('--grace <ms>', 'on SIGTERM, how long in-flight requests may take to finish', parseGrace, 30_000)
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : REFUSED_EXIT_CODE))
    .action(
      guarded(async (o: WorkerCliOptions) => {
        checkReadable('--config', o.config);
        // Loaded on use: other commands never pay for the worker, its plugins, their transports and pino.
        const { loadWorkerConfig, Worker, workerOptionsFromConfig } = await import('../worker/index.ts');
        const { actionLogger, createLogger } = await import('../logging.ts');
        const config = loadWorkerConfig(o.config);
        // stderr (fd 2), as documented: stdout carries only the `serving` line that scripts wait for.
        const log = actionLogger(createLogger({ name: 'paygate-worker', destination: 2 }));
        // A signal while the broker is still unreachable gives the wait up: nothing is held yet.
        const starting = new AbortController();
        let worker: Awaited<ReturnType<typeof Worker.start>> | undefined;
        let stopping = false;
        const stop = (): void => {
          if (stopping) return;
          stopping = true;
          if (worker === undefined) {
            starting.abort();
            return;
          }
          void worker.stop({ graceMs: o.grace }).then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        // A broker that is not up yet is waited for (reconnect backoff), never a reason to exit.
        const options = { ...(await workerOptionsFromConfig(config)), stomp: { ...config.stomp, initialAttempts: 0 }, log };
        try {
          worker = await Worker.start(options, {
            signal: starting.signal,
            onConnectFailed: ({ node, code, message }) => log.warn(`broker unreachable; retrying: ${message}`, { node, code }),
            onStoreUnreachable: ({ code, message }) => log.warn(`idempotency store unreachable; retrying: ${message}`, { code }),
          });
        } catch (error) {
          if (starting.signal.aborted) process.exit(0);
          throw error;
        }
        if (stopping) {
          stopping = false;
          stop();
          return;
        }
        console.log(`paygate worker ${worker.workerId} serving ${config.providers.map((p) => p.name).join(', ')}`);
      }),
    );
}
