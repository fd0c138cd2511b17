/**
 * `paygate broker [--host 127.0.0.1] [--port 61613] [--data DIR] [--users FILE] [--tls-cert F
 * --tls-key F [--tls-ca F]] [--pid-file F] [--tap DIR [--tap-destination PATTERN]…] [limit flags]`
 * (docs/broker.md): the embedded STOMP broker in the foreground. Prints one line, `paygate broker
 * listening on stomp://HOST:PORT` (`stomp+ssl://` with TLS), once it accepts connections; then one
 * stderr line per expired message it drops, one `warn` line per limit it applies, and one line
 * when the tap's capture starts failing. SIGTERM or SIGINT: stop accepting, ERROR to every client,
 * commit the store, flush and close the capture, remove the pid file, exit 0 (1 when the capture
 * missed messages, with a line saying how many). Bad options (a file a flag names that cannot be
 * read or written included): one line on stderr, exit 2.
 *
 * `paygate broker hash-password [--cost LN]` reads a password on stdin and prints its scrypt PHC
 * string for the users file.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { CommanderError } from 'commander';
import { PaygateError } from '../errors.ts';
import { openTapCapture } from './broker-tap.ts';
import { ensureWritableDir, guarded, readInput, readOptionFile, repeatable } from './io.ts';
import { claimPidFile } from './pid-file.ts';

const USAGE_EXIT_CODE = 2;

interface BrokerCliOptions {
  host: string;
  port: number;
  data?: string;
  users?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  pidFile?: string;
  tap?: string;
  tapDestination?: string[];
  maxConnections?: number;
  maxConnectionsPerLogin?: number;
  maxConnectionsPerAddress?: number;
  maxTotalBytes?: number;
  maxConnectionBytes?: number;
  maxQueueBytes?: number;
  maxPendingBytes?: number;
  maxPrefetch?: number;
  frameTimeout?: number;
  idleTimeout?: number;
  writeTimeout?: number;
}

/** The limit flags and the broker option each one sets (names match, camel-cased). */
const LIMIT_FLAGS = [
  ['--max-connections <n>', 'client connections at once', 'count'],
  ['--max-connections-per-login <n>', 'connections one login may hold at once (with --users)', 'count'],
  ['--max-connections-per-address <n>', 'connections one remote address may hold at once', 'count'],
  ['--max-total-bytes <bytes>', 'bytes the whole broker may hold: queues, unacknowledged, transactions, frames being received', 'bytes'],
  ['--max-connection-bytes <bytes>', 'bytes one connection may hold: transactions, the frame being received, unsent writes', 'bytes'],
  ['--max-queue-bytes <bytes>', 'bytes one queue may hold, waiting plus unacknowledged', 'bytes'],
  ['--max-pending-bytes <bytes>', 'bytes written to one connection and not yet taken by the kernel', 'bytes'],
  ['--max-prefetch <n>', 'highest prefetch a SUBSCRIBE may ask for; larger ones are lowered to it', 'count'],
  ['--frame-timeout <ms>', 'ms one frame may take to arrive', 'count'],
  ['--idle-timeout <ms>', 'ms a connection without client heart-beats may stay silent', 'count'],
  ['--write-timeout <ms>', 'ms a client may leave what we wrote unread before it is closed', 'count'],
] as const;

const LIMIT_OPTIONS = [
  'maxConnections', 'maxConnectionsPerLogin', 'maxConnectionsPerAddress', 'maxTotalBytes', 'maxConnectionBytes', 'maxQueueBytes', 'maxPendingBytes', 'maxPrefetch', 'frameTimeout', 'idleTimeout', 'writeTimeout',
] as const;

/** A positive integer. */
function parseCount(value: string): number {
  const n = /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1)) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** A byte count, with an optional binary suffix: `65536`, `64K`, `32M`, `1G`. */
function parseBytes(value: string): number {
  const match = /^(\d{1,12})([KMG])?$/i.exec(value);
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match?.[2] ?? '').toUpperCase()] ?? 1;
  const n = match === null ? Number.NaN : Number(match[1]) * scale;
  if (!(n >= 1)) throw new InvalidArgumentError('expected a byte count such as 65536, 64K, 32M or 1G');
  return n;
}

function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('expected a TCP port, 0-65535');
  return port;
}

function parseCost(value: string): number {
  const ln = /^\d{1,2}$/.test(value) ? Number(value) : Number.NaN;
  if (!(ln >= 1 && ln <= 20)) throw new InvalidArgumentError('expected log2 of scrypt N, 1-20');
  return ln;
}

/** The `broker` sub-command. */
export function brokerCommand(): Command {
  const command = new Command('broker')
    .description('Run the embedded STOMP 1.0-1.2 broker (docs/broker.md)')
    .option('--host <host>', 'interface to listen on; anything but loopback needs --users', '127.0.0.1')
    .option('--port <port>', 'TCP port; 0 picks a free one', parsePort, 61613)
    .option('--data <dir>', 'folder for persistent messages (SQLite); without it nothing survives a restart')
    .option('--users <file>', 'YAML users file (logins, password hashes, roles); without it any login may do anything')
    .option('--tls-cert <file>', 'PEM certificate (chain): STOMP over TLS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA: clients must present a certificate it signed')
    .option('--pid-file <file>', "write the broker's pid there at start-up (removed at exit), for kill -TERM")
    .option('--tap <dir>', 'record every accepted SEND to /queue/paygate.* and every reply to a temp queue in this capture folder (paygate audit scan)')
    .option('--tap-destination <pattern>', 'with --tap: record SENDs to destinations matching this pattern instead (/queue/x.*, /queue/x.>, /temp-queue/>); repeatable', repeatable);
  for (const [flag, help, kind] of LIMIT_FLAGS) command.option(flag, help, kind === 'bytes' ? parseBytes : parseCount);
  return command.exitOverride(toUsageExit).action(guarded(runBroker)).addCommand(hashPasswordCommand());
}

/** The limit flags given, as broker options (absent ones keep the broker's defaults). */
function limitOptions(o: BrokerCliOptions): Partial<Record<(typeof LIMIT_OPTIONS)[number], number>> {
  return Object.fromEntries(LIMIT_OPTIONS.filter((name) => o[name] !== undefined).map((name) => [name, o[name]]));
}

async function runBroker(o: BrokerCliOptions): Promise<void> {
  // Loaded on use: other commands never pay for better-sqlite3 and zod schemas here.
  const { EmbeddedBroker, parseUsersFile, tapPatternProblem } = await import('../broker/index.ts');
  const users = o.users === undefined ? undefined : parseUsersFile(readOptionFile('--users', o.users).toString('utf8'));
  const tls = tlsOptions(o);
  if (o.data !== undefined) ensureWritableDir('--data', o.data);
  if (o.tap !== undefined) ensureWritableDir('--tap', o.tap);
  const destinations = tapDestinations(o, tapPatternProblem);
  // Before listening: a refused pid file must not cost a bound port and a started store.
  if (o.pidFile !== undefined) claimPidFile('--pid-file', o.pidFile);
  const report = (error: { code: string; message: string }): void => console.error(`paygate broker: ${error.code}: ${error.message}`);
  const capture = o.tap === undefined ? undefined : await openTapCapture(o.tap, (line) => console.error(`paygate broker: ${line}`));
  const tap = capture === undefined ? undefined : { sink: capture.sink, ...(destinations === undefined ? {} : { destinations }) };
  let broker: Awaited<ReturnType<typeof EmbeddedBroker.start>>;
  try {
    broker = await EmbeddedBroker.start({ host: o.host, port: o.port, dataDir: o.data, users, tls, tap, ...limitOptions(o) });
  } catch (error) {
    await capture?.close(0);
    throw error;
  }
  broker.on('storeError', report);
  broker.on('serverError', report);
  // The limit, the session and our own message: never frame content.
  broker.on('limit', ({ limit, session, message }) =>
    console.error(`paygate broker: warn: BROKER_LIMIT ${limit}${session === undefined ? '' : ` (${session})`}: ${message}`),
  );
  // Nothing of the message but where it was and its id: bodies and producer headers may be sensitive.
  broker.on('expired', ({ destination, messageId, ageMs }) =>
    console.error(`paygate broker: expired: dropped ${messageId} from ${destination}, ${ageMs} ms after its expires`),
  );
  if (capture !== undefined) broker.on('tapFailed', capture.failed);
  // process.exit runs the exit hooks: the pid file goes with the process. The capture closes
  // after the broker stopped, so no SEND arrives while its last records are written.
  const shutdown = (): void => {
    void broker
      .stop()
      .then(() => capture?.close(broker.stats.tap?.failed ?? 0))
      .then(
        (missed = 0) => process.exit(missed > 0 ? 1 : 0),
        () => process.exit(1),
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  console.log(`paygate broker listening on ${broker.url}`);
}

/** The --tap-destination patterns (undefined: the broker's defaults); checked before anything is created. */
function tapDestinations(o: BrokerCliOptions, problemOf: (pattern: string) => string | undefined): string[] | undefined {
  if (o.tapDestination === undefined) return undefined;
  if (o.tap === undefined) throw new PaygateError('BROKER_BAD_OPTION', '--tap-destination needs --tap');
  for (const pattern of o.tapDestination) {
    const problem = problemOf(pattern);
    if (problem !== undefined) throw new PaygateError('BROKER_BAD_OPTION', `--tap-destination ${JSON.stringify(pattern)} ${problem}`);
  }
  return o.tapDestination;
}

function tlsOptions(o: BrokerCliOptions): { cert: string; key: string; ca?: string; requestCert: boolean } | undefined {
  if (o.tlsCert === undefined && o.tlsKey === undefined) {
    if (o.tlsCa !== undefined) throw new PaygateError('BROKER_BAD_OPTION', '--tls-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (o.tlsCert === undefined || o.tlsKey === undefined) throw new PaygateError('BROKER_BAD_OPTION', '--tls-cert and --tls-key go together');
  const text = (option: string, path: string): string => readOptionFile(option, path).toString('utf8');
  const ca = o.tlsCa === undefined ? undefined : text('--tls-ca', o.tlsCa);
  return { cert: text('--tls-cert', o.tlsCert), key: text('--tls-key', o.tlsKey), ...(ca === undefined ? {} : { ca }), requestCert: ca !== undefined };
}

function hashPasswordCommand(): Command {
  return new Command('hash-password')
    .description('Read a password on stdin, print its scrypt PHC string for the users file')
    .option('--cost <ln>', 'log2 of scrypt N (memory 2^ln * 1 KiB with r=8); default 15', parseCost)
    .exitOverride(toUsageExit)
    .action(
      guarded(async (o: { cost?: number }) => {
        const { hashPassword } = await import('../broker/index.ts');
        // One line, as typed or piped; only the final line break is not part of the password.
        const password = (await readInput('stdin', undefined)).toString('utf8').replace(/\r?\n$/, '');
        if (password === '') throw new PaygateError('BROKER_BAD_OPTION', 'hash-password: empty password on stdin');
        console.log(await hashPassword(password, o.cost === undefined ? {} : { ln: o.cost }));
      }),
    );
}

/** Commander exits 1 on usage errors; we exit 2 like the other commands. Help keeps exit 0. */
function toUsageExit(error: CommanderError): void {
  if (error.exitCode !== 0) process.exit(USAGE_EXIT_CODE);
  process.exit(0);
}
