/**
 * `paygate request PROVIDER TYPE --data FILE.yaml [--config FILE]`: one typed
 * request from the command line, through the same SDK a storefront uses (docs/sdk.md).
 *
 * Prints the reply as YAML on stdout. Exit codes: 0 for `approved` or `declined` (a decline is an
 * answer, not a failure); 3 for an answer that settles nothing yet (`pending`,
 * `action_required`, `unknown`: the reply is printed, and one stderr line says what to do); 2
 * with one stderr line `paygate: CODE: message` for everything else (a refused payload, a config
 * problem, an error reply — its remote code is the CODE —, a timeout, an unreachable broker).
 */
import { Command, InvalidArgumentError } from 'commander';
import type { CommanderError } from 'commander';
import type { GatewayReply } from '../client/index.ts';
import { PaygateError } from '../errors.ts';
import { decodeYaml, encodeYaml } from '../wire/index.ts';
import { checkReadable, guarded, readInput, REFUSED_EXIT_CODE } from './io.ts';

/** Exit code of a reply that is an answer but not a final one (pending, action_required, unknown). */
export const UNSETTLED_EXIT_CODE = 3;
/** Where the client config is looked for without `--config`. */
const DEFAULT_CONFIG = 'paygate-client.yaml';

interface RequestCliOptions {
  data: string;
  config?: string;
  idempotencyKey?: string;
  timeout?: number;
}

function parseTimeout(value: string): number {
  const ms = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(ms > 0)) throw new InvalidArgumentError('expected a positive number of milliseconds');
  return ms;
}

/** The `request` sub-command. */
export function requestCommand(): Command {
  return new Command('request')
    .description('Send one typed request to a provider through the gateway and print the reply (docs/sdk.md)')
    .argument('<provider>', 'provider name, e.g. card')
    .argument('<type>', 'request type, e.g. authorize')
    .requiredOption('--data <file>', 'the payload as YAML (- for stdin)')
    .option('--config <file>', `client config file (default: $PAYGATE_CLIENT_CONFIG or ./${DEFAULT_CONFIG})`)
    .option('--idempotency-key <key>', 'idempotency key (default: the request id); reuse it to retry safely')
    .option('--timeout <ms>', 'reply timeout (default: the config file’s timeout_ms)', parseTimeout)
    .exitOverride(toUsageExit)
    .action(guarded(async (provider: string, type: string, o: RequestCliOptions) => runRequest(provider, type, o)));
}

async function runRequest(provider: string, type: string, o: RequestCliOptions): Promise<void> {
  // Loaded on use: other commands never pay for the SDK, the plugin contract and the worker's config schema.
  const [{ createGateway, RemoteError }, { loadProvider }, { loadClientConfig }] = await Promise.all([
    import('../client/index.ts'),
    import('../providers/index.ts'),
    import('./client-config.ts'),
  ]);
  const [configFlag, configPath] = configSource(o.config);
  checkReadable(configFlag, configPath);
  const config = loadClientConfig(configPath);
  const payload = decodeYaml(await readInput('--data', o.data));
  const entry = config.providers.find((p) => p.name === provider);
  if (entry === undefined) {
    const known = config.providers.map((p) => p.name).join(', ');
    throw new PaygateError('UNKNOWN_PROVIDER', `provider ${provider} is not in ${config.source} (it lists: ${known})`);
  }
  const definition = await loadProvider(entry.module, entry.name, { baseDir: config.baseDir });
  const gateway = await createGateway({
    brokers: { ...config.brokers, initialAttempts: 1, reconnect: { enabled: false } },
    identity: config.identity,
    gatewayCertificates: [...config.gatewayCertificates],
    trust: [...config.trust],
    gatewayRoleOids: [...config.gatewayRoleOids],
    providers: [definition],
    defaultTimeoutMs: o.timeout ?? config.defaultTimeoutMs,
    queuePrefix: config.queuePrefix,
    cipher: config.cipher,
  });
  try {
    // The command line cannot know the plugin's types: the payload is checked at run time, by the same schema.
    const untyped = gateway as unknown as { request(p: string, t: string, data: unknown, options: object): Promise<GatewayReply<unknown>> };
    const reply = await untyped.request(provider, type, payload, o.idempotencyKey === undefined ? {} : { idempotencyKey: o.idempotencyKey });
    printReply(reply);
  } catch (error) {
    if (error instanceof RemoteError) throw new PaygateError(error.remoteCode, error.message);
    throw error;
  } finally {
    await gateway.close(1_000);
  }
}

/** Which config file is used, and what named it (for the message when it cannot be read). */
function configSource(flag: string | undefined): [string, string] {
  if (flag !== undefined) return ['--config', flag];
  const fromEnv = process.env.PAYGATE_CLIENT_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return ['$PAYGATE_CLIENT_CONFIG', fromEnv];
  return ['--config (default)', DEFAULT_CONFIG];
}

function printReply(reply: GatewayReply<unknown>): void {
  const shown = {
    status: reply.status,
    request_id: reply.requestId,
    idempotency_key: reply.idempotencyKey,
    ...(reply.result === undefined ? {} : { result: reply.result }),
    ...(reply.error === undefined ? {} : { error: reply.error }),
  };
  // Through JSON first: a secret in a result prints as its mask (encodeYaml would reveal it).
  process.stdout.write(encodeYaml(JSON.parse(JSON.stringify(shown)) as unknown));
  if (reply.status === 'approved' || reply.status === 'declined') return;
  const code = reply.error?.code ?? reply.status.toUpperCase();
  process.stderr.write(
    `paygate: ${code}: the reply is ${reply.status}; retry with --idempotency-key ${reply.idempotencyKey} or ask the provider's status\n`,
  );
  process.exitCode = UNSETTLED_EXIT_CODE;
}

function toUsageExit(error: CommanderError): void {
  process.exit(error.exitCode === 0 ? 0 : REFUSED_EXIT_CODE);
}
