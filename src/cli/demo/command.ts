/**
 * `paygate demo [--json] [--serve [--no-tour]] [--keep] [--dir DIR] [--algo ec|rsa] [--verbose]
 * [--pid-file FILE]`:
 * the product on a fresh machine in one command. It makes throw-away certificates, starts the
 * embedded broker, the three provider sandboxes and a supervised gateway with two workers, and
 * runs a scripted tour through the typed SDK (payments, a decline, a provider outage and its
 * recovery, a worker killed mid-request), ending with a table of outcomes (run.ts). With
 * `--pid-file`, the demo's pid is written there at start (removed at exit), so that a served demo
 * can be stopped with `kill -TERM $(cat FILE)` like the gateway.
 */
import { Command, Option } from 'commander';
import type { CommanderError } from 'commander';
import { guarded, REFUSED_EXIT_CODE } from '../io.ts';
import { claimPidFile } from '../pid-file.ts';

interface DemoCliOptions {
  algo: 'ec' | 'rsa';
  dir?: string;
  keep?: boolean;
  serve?: boolean;
  tour: boolean;
  json?: boolean;
  verbose?: boolean;
  pidFile?: string;
}

/** The `demo` sub-command. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('Show paygate end to end on this machine: certificates, broker, sandboxes, a gateway, and a scripted tour')
    .addOption(new Option('--algo <algo>', 'key algorithm of the throw-away certificates').choices(['ec', 'rsa']).default('ec'))
    .option('--dir <dir>', 'folder for everything the demo writes (default: a new temporary folder)')
    .option('--keep', 'keep the folder (certificates, configs, gateway.log) after the demo')
    .option('--serve', 'keep everything running after the tour and print how to connect, until Ctrl-C')
    .option('--no-tour', 'with --serve: start serving at once, without the tour')
    .option('--json', 'print a JSON summary on stdout instead of the table (progress goes to stderr)')
    .option('--verbose', 'gateway logs at level info on stderr (default: warnings into gateway.log)')
    .option('--pid-file <file>', "write the demo's pid there at start-up (removed at exit): with --serve, stop it with kill -TERM")
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : REFUSED_EXIT_CODE))
    .action(
      guarded(async (o: DemoCliOptions, command: Command) => {
        if (!o.tour && o.serve !== true) command.error("error: option '--no-tour' needs --serve (without the tour there is nothing to show)", { exitCode: REFUSED_EXIT_CODE });
        // Before anything starts: a refused pid file costs nothing to tear down.
        if (o.pidFile !== undefined) claimPidFile('--pid-file', o.pidFile);
        // Loaded on use: other commands never pay for the broker, the sandboxes and the supervisor.
        const { runDemo } = await import('./run.ts');
        await runDemo({
          algo: o.algo,
          ...(o.dir === undefined ? {} : { dir: o.dir }),
          keep: o.keep === true,
          serve: o.serve === true,
          tour: o.tour,
          json: o.json === true,
          verbose: o.verbose === true,
        });
      }),
    );
}
