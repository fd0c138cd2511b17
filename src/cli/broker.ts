/**
 * `paygate broker [--host 127.0.0.1] [--port 61613] [--data DIR] [--users FILE]` (DESIGN §4):
 * the embedded STOMP broker in the foreground. Prints one line, `paygate broker listening on
 * stomp://HOST:PORT`, once it accepts connections. SIGTERM or SIGINT: stop accepting, ERROR to
 * every client, commit the store, exit 0. Bad options: one line on stderr, exit 2.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { CommanderError } from 'commander';
import { guarded, readOptionFile } from './io.ts';

const USAGE_EXIT_CODE = 2;

interface BrokerCliOptions {
  host: string;
  port: number;
  data?: string;
  users?: string;
}

function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('expected a TCP port, 0-65535');
  return port;
}

/** The `broker` sub-command. */
export function brokerCommand(): Command {
  return new Command('broker')
    .description('Run the embedded STOMP 1.0-1.2 broker (docs/broker.md)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port; 0 picks a free one', parsePort, 61613)
    .option('--data <dir>', 'folder for persistent messages (SQLite); without it nothing survives a restart')
    .option('--users <file>', 'login:passcode per line; without it any login is accepted')
    .exitOverride(toUsageExit)
    .action(
      guarded(async (o: BrokerCliOptions) => {
        // Loaded on use: other commands never pay for better-sqlite3 and zod schemas here.
        const { EmbeddedBroker, parseUsers } = await import('../broker/index.ts');
        const users = o.users === undefined ? undefined : parseUsers(readOptionFile('--users', o.users).toString('utf8'));
        const broker = await EmbeddedBroker.start({ host: o.host, port: o.port, dataDir: o.data, users });
        const report = (error: { code: string; message: string }): void => console.error(`paygate broker: ${error.code}: ${error.message}`);
        broker.on('storeError', report);
        broker.on('serverError', report);
        const shutdown = (): void => {
          void broker.stop().then(() => process.exit(0));
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
        console.log(`paygate broker listening on ${broker.url}`);
      }),
    );
}

/** Commander exits 1 on usage errors; we exit 2 like the other commands. Help keeps exit 0. */
function toUsageExit(error: CommanderError): void {
  if (error.exitCode !== 0) process.exit(USAGE_EXIT_CODE);
  process.exit(0);
}
