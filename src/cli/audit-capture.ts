/**
 * `paygate audit capture`: records the traffic of a RabbitMQ (firehose) or ActiveMQ (mirrored
 * queues) broker into a capture folder for `paygate audit scan`, as the audit login, without
 * touching the queues (src/audit/capture/broker-capture.ts). Runs until SIGTERM/SIGINT,
 * `--max-messages` or `--duration`, then prints how many messages it recorded.
 *
 * Exit codes: 0 a clean stop; 2 bad options (one line); 1 the broker refused (login, rights) or
 * the capture failed, with the reason. Never prints a body or a header value: the capture is
 * where card data would be, and the terminal is not.
 */
import type { CommanderError } from 'commander';
import { Command } from 'commander';
import { PaygateError } from '../errors.ts';
import type { BrokerCapture, BrokerCaptureOptions, CaptureSummary } from '../audit/capture/broker-capture.ts';
import { ensureWritableDir, readOptionFile, REFUSED_EXIT_CODE } from './io.ts';

/** The exit code when the broker refused the capture or the capture failed. */
export const CAPTURE_FAILED_EXIT_CODE = 1;

interface CaptureCliOptions {
  broker: string;
  kind: string;
  login: string;
  passcodeFile?: string;
  passcodeEnv?: string;
  out: string;
  vhost: string;
  tlsCa?: string;
  maxMessages?: string;
  duration?: string;
  subscription?: string;
}

/** A usage problem: one line on stderr, exit 2. */
class UsageError extends Error {}

/** The `audit capture` sub-command. */
export function captureCommand(): Command {
  return new Command('capture')
    .description('Record a broker\'s traffic (RabbitMQ firehose, ActiveMQ mirrored queues) into a capture folder for `paygate audit scan`')
    .requiredOption('--broker <url>', 'the broker\'s STOMP address: stomp://HOST:PORT (stomp+ssl://HOST:PORT for TLS)')
    .requiredOption('--kind <kind>', 'rabbitmq or activemq')
    .requiredOption('--login <login>', 'the audit login')
    .option('--passcode-file <file>', 'file holding the audit login\'s passcode (one line)')
    .option('--passcode-env <var>', 'environment variable holding the passcode')
    .requiredOption('--out <dir>', 'the capture folder (created when missing; a folder with segments is continued)')
    .option('--vhost <vhost>', 'RabbitMQ virtual host (its firehose must be on: rabbitmqctl trace_on -p VHOST)', '/')
    .option('--tls-ca <file>', 'CA certificate (PEM) of the broker\'s TLS certificate (implies TLS)')
    .option('--max-messages <n>', 'stop after recording this many messages')
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--subscription <name>', 'name of the durable subscription; a capture restarted with the same name resumes where the last one stopped', 'paygate-audit-capture')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : REFUSED_EXIT_CODE))
    .action(async (o: CaptureCliOptions) => {
      let options: BrokerCaptureOptions;
      let durationMs: number | undefined;
      try {
        options = captureOptions(o);
        durationMs = o.duration === undefined ? undefined : positive('--duration', o.duration) * 1000;
      } catch (error) {
        if (!(error instanceof UsageError || error instanceof PaygateError)) throw error;
        process.stderr.write(`paygate: ${error instanceof PaygateError ? `${error.code}: ` : ''}${error.message}\n`);
        process.exitCode = REFUSED_EXIT_CODE;
        return;
      }
      try {
        const summary = await runCapture(options, durationMs);
        process.stdout.write(`captured ${summary.recorded} messages into ${summary.out} (${summary.skipped} outside paygate's queues skipped)\n`);
      } catch (error) {
        if (!(error instanceof PaygateError)) throw error;
        process.stderr.write(`paygate: ${error.code}: ${error.message}\n`);
        process.exitCode = error.code === 'AUDIT_BAD_OPTION' ? REFUSED_EXIT_CODE : CAPTURE_FAILED_EXIT_CODE;
      }
    });
}

/** Starts the capture and stops it on a signal, at the duration, or at the message limit. */
async function runCapture(options: BrokerCaptureOptions, durationMs: number | undefined): Promise<CaptureSummary> {
  const { startBrokerCapture } = await import('../audit/capture/broker-capture.ts'); // loaded on use: fast --help
  const running: { capture?: BrokerCapture; signalled: boolean } = { signalled: false };
  const onSignal = (): void => {
    running.signalled = true;
    void running.capture?.stop().catch(() => undefined); // the outcome is read from `done` below
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let timer: NodeJS.Timeout | undefined;
  try {
    const capture = await startBrokerCapture(options);
    running.capture = capture;
    // Scripts wait for this line before sending traffic: everything after it is recorded.
    process.stderr.write(`paygate: capturing ${options.kind} at ${options.host}:${options.port} into ${options.out}\n`);
    if (running.signalled) void capture.stop().catch(() => undefined);
    if (durationMs !== undefined) timer = setTimeout(() => void capture.stop().catch(() => undefined), durationMs);
    return await capture.done;
  } finally {
    clearTimeout(timer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

function captureOptions(o: CaptureCliOptions): BrokerCaptureOptions {
  const { host, port, tls } = brokerAddress(o.broker);
  if (o.kind !== 'rabbitmq' && o.kind !== 'activemq') throw new UsageError('error: --kind must be rabbitmq or activemq');
  if (o.subscription !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(o.subscription)) {
    throw new UsageError('error: --subscription must be 1 to 64 letters, digits, dots, dashes or underscores');
  }
  ensureWritableDir('--out', o.out);
  const tlsCa = o.tlsCa === undefined ? undefined : readOptionFile('--tls-ca', o.tlsCa);
  if (tls && tlsCa === undefined) throw new UsageError('error: stomp+ssl:// needs --tls-ca <file> (the CA of the broker\'s certificate)');
  return {
    kind: o.kind, host, port, login: o.login, passcode: passcodeOf(o), vhost: o.vhost, out: o.out,
    ...(tlsCa === undefined ? {} : { tlsCa }),
    ...(o.maxMessages === undefined ? {} : { maxMessages: positive('--max-messages', o.maxMessages) }),
    ...(o.subscription === undefined ? {} : { subscription: o.subscription }),
  };
}

function brokerAddress(url: string): { host: string; port: number; tls: boolean } {
  const match = /^stomp(\+ssl)?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})\/?$/.exec(url);
  const port = Number(match?.[3]);
  if (match === null || !(port >= 1 && port <= 65_535)) throw new UsageError('error: --broker must be stomp://HOST:PORT or stomp+ssl://HOST:PORT');
  return { host: (match[2] ?? '').replace(/^\[|\]$/g, ''), port, tls: match[1] !== undefined };
}

/** The passcode from exactly one of --passcode-file and --passcode-env: never from the command line, which others can read. */
function passcodeOf(o: CaptureCliOptions): string {
  if ((o.passcodeFile === undefined) === (o.passcodeEnv === undefined)) {
    throw new UsageError('error: give exactly one of --passcode-file <file> and --passcode-env <var>');
  }
  if (o.passcodeFile !== undefined) return readOptionFile('--passcode-file', o.passcodeFile).toString('utf8').replace(/\r?\n$/, '');
  const value = process.env[o.passcodeEnv ?? ''];
  if (value === undefined || value === '') throw new UsageError(`error: the environment variable ${o.passcodeEnv ?? ''} named by --passcode-env is not set`);
  return value;
}

function positive(option: string, value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new UsageError(`error: ${option} must be a positive integer`);
  return Number(value);
}
