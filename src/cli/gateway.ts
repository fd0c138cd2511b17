/**
 * `paygate gateway --config FILE`: the supervisor and its pool of worker processes in the
 * foreground (docs/operations.md, "Running the gateway"). Logs are pino JSON lines on stdout
 * (workers' lines too, each with its pid).
 *
 * Signals: SIGHUP re-reads the file (invalid: reported, the pool keeps running; valid: rolling
 * restart); SIGTERM / SIGINT drain the pool and exit 0 (1 when a worker had to be killed after
 * the grace period, or the status port is taken). Exit 2: the file is invalid (`--check` only
 * validates it). Exit 3: restart intensity exceeded — the reason on stderr as
 * `paygate: SUPERVISOR_GAVE_UP: …`; a broker that is not up yet is waited for, never a reason to
 * exit (the workers retry with backoff, /healthz answers 503 with `broker: unreachable`). Signals received while the workers start: SIGTERM/SIGINT
 * drain them and exit 0; SIGHUP is ignored (reported on stderr).
 */
import { Command } from 'commander';
import type { CommanderError } from 'commander';
import { GATEWAY_GAVE_UP_EXIT_CODE, GATEWAY_STOPPED_EXIT_CODE, GATEWAY_UNCLEAN_STOP_EXIT_CODE } from '../supervisor/exit-codes.ts';
import { checkReadable, guarded, REFUSED_EXIT_CODE } from './io.ts';
import { claimPidFile } from './pid-file.ts';

interface GatewayCliOptions {
  config: string;
  check?: boolean;
  pidFile?: string;
}

/** The `gateway` sub-command. */
export function gatewayCommand(): Command {
  return new Command('gateway')
    .description('Run the supervisor and its pool of workers for the configured providers (docs/operations.md)')
    .requiredOption('--config <file>', 'gateway config file (YAML: the worker keys plus a gateway: section)')
    .option('--check', 'only validate the config file: exit 0 when it is valid, 2 with its problems when not')
    .option('--pid-file <file>', "write the supervisor's pid there at start-up (removed at exit), for kill -HUP / -TERM")
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : REFUSED_EXIT_CODE))
    .action(guarded(runGateway));
}

async function runGateway(o: GatewayCliOptions): Promise<void> {
  // Loaded on use: other commands never pay for the supervisor, pino and prom-client.
  checkReadable('--config', o.config);
  const { loadWorkerConfig } = await import('../worker/index.ts');
  if (o.check) {
    const config = loadWorkerConfig(o.config);
    console.log(`${config.source}: valid (${config.gateway.workers} workers; providers ${config.providers.map((p) => p.name).join(', ')})`);
    return;
  }
  const { Supervisor, SupervisorError } = await import('../supervisor/index.ts');
  const { StatusServerError } = await import('../supervisor/status-server.ts');
  // Signal handlers first: a SIGTERM while the workers start drains them (start() then rejects
  // with SUPERVISOR_STOPPED); a SIGHUP then is ignored rather than killing the process.
  const starting = new AbortController();
  let supervisor: Awaited<ReturnType<typeof Supervisor.start>> | undefined;
  const stop = (): void => {
    if (supervisor === undefined) starting.abort();
    else void supervisor.stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (supervisor === undefined) {
      process.stderr.write('paygate: reload not applied: the gateway is still starting\n');
      return;
    }
    void supervisor.reload().then(
      (result) => {
        if (!result.applied) process.stderr.write(`paygate: reload not applied: ${result.reason ?? 'unknown reason'}\n`);
      },
      (error: unknown) => process.stderr.write(`paygate: reload not applied: ${(error as Error).message}\n`),
    );
  });
  // Removed by an exit hook, whichever process.exit below ends the gateway.
  if (o.pidFile !== undefined) claimPidFile('--pid-file', o.pidFile);
  try {
    supervisor = await Supervisor.start({ configPath: o.config, signal: starting.signal });
  } catch (error) {
    if (error instanceof SupervisorError && error.code === 'SUPERVISOR_STOPPED') process.exit(GATEWAY_STOPPED_EXIT_CODE);
    if (!(error instanceof SupervisorError) && !(error instanceof StatusServerError)) throw error;
    process.stderr.write(`paygate: ${error.code}: ${error.message}\n`);
    // A busy status port may free itself: exit 1 (systemd may retry), not 2 (the file is wrong).
    process.exit(error instanceof StatusServerError ? GATEWAY_UNCLEAN_STOP_EXIT_CODE : GATEWAY_GAVE_UP_EXIT_CODE);
  }
  const exit = await supervisor.done;
  if (exit.code !== 0) process.stderr.write(`paygate: ${exit.code === GATEWAY_GAVE_UP_EXIT_CODE ? 'SUPERVISOR_GAVE_UP' : 'GATEWAY_UNCLEAN_STOP'}: ${exit.reason}\n`);
  process.exit(exit.code);
}

