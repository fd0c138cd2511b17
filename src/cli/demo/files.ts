/**
 * The files the demo writes into its folder: the gateway's config (the worker keys of
 * docs/operations.md plus the supervisor's `gateway:` section), the client config for
 * `paygate request`, and an example payment. Relative paths in both configs are resolved against
 * the folder, so the folder is self-contained; the plugin modules are this checkout's.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeYaml } from '../../wire/index.ts';
import { DEMO_DATA, DEMO_SETTINGS } from './options.ts';

/** Where everything lives inside the demo folder. */
export interface DemoLayout {
  readonly dir: string;
  readonly certsDir: string;
  readonly gatewayConfig: string;
  readonly clientConfig: string;
  readonly exampleData: string;
  readonly gatewayLog: string;
  readonly idempotency: string;
  /** The feed server's config (`paygate feed --config` reads the same file). */
  readonly feedConfig: string;
  /** The feed server's SQLite file: the audit and payments feeds. */
  readonly feedStore: string;
}

/** The layout of the demo folder `dir`. */
export function layoutOf(dir: string): DemoLayout {
  return {
    dir,
    certsDir: join(dir, 'certs'),
    gatewayConfig: join(dir, 'gateway.yaml'),
    clientConfig: join(dir, 'paygate-client.yaml'),
    exampleData: join(dir, 'authorize.yaml'),
    gatewayLog: join(dir, 'gateway.log'),
    idempotency: join(dir, 'idempotency.sqlite'),
    feedConfig: join(dir, 'feed.yaml'),
    feedStore: join(dir, 'feed.sqlite'),
  };
}

/** The three providers of the demo, in tour order. */
export const DEMO_PROVIDERS = ['card', 'paypal', 'giftcard'] as const;
export type DemoProvider = (typeof DEMO_PROVIDERS)[number];

/**
 * A plugin's entry module beside this one (src/cli/demo → the repository root, or dist/src/cli/demo
 * → dist/): `.ts` when running from the sources, `.js` once compiled, so the demo's workers load
 * plugins of the same kind as the CLI that started them.
 */
export function pluginModule(name: DemoProvider): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`../../../providers/${name}/index.${extension}`, import.meta.url));
}

/** What the gateway config needs to know of a running sandbox. */
export interface SandboxEndpoint {
  readonly url: string;
  /** The plugin's `options` (its credentials for this sandbox). */
  readonly options: Readonly<Record<string, string>>;
}

/** The values that only exist once the broker and the sandboxes run. */
export interface GatewayConfigInput {
  readonly brokerPort: number;
  readonly sandboxes: Readonly<Record<DemoProvider, SandboxEndpoint>>;
  /** The feed server's certificate, relative to the folder: every finished request's events are sealed to it. Absent: no events. */
  readonly feedRecipient?: string;
}

const { breaker } = DEMO_SETTINGS;

/** The gateway config as data (docs/operations.md, "Worker configuration", and the `gateway:` section). */
export function gatewayConfig(input: GatewayConfigInput): Record<string, unknown> {
  return {
    brokers: [{ host: DEMO_SETTINGS.host, port: input.brokerPort }],
    identity: { cert: 'certs/gateway.crt', key: 'certs/gateway.key' },
    trust: { client_ca: ['certs/ca.crt'] },
    providers: DEMO_PROVIDERS.map((name) => ({
      name,
      module: pluginModule(name),
      endpoint: input.sandboxes[name].url,
      tls: { ca: 'certs/ca.crt' },
      timeout_ms: DEMO_SETTINGS.providerTimeoutMs,
      breaker: {
        error_threshold_percentage: breaker.errorThresholdPercentage,
        volume_threshold: breaker.volumeThreshold,
        rolling_window_ms: breaker.rollingWindowMs,
        rolling_buckets: breaker.rollingBuckets,
        reset_timeout_ms: DEMO_SETTINGS.breakerResetMs,
      },
      options: { ...input.sandboxes[name].options },
    })),
    idempotency: { path: 'idempotency.sqlite' },
    // Every finished request's audit record (and payment event) goes to the demo's feed server.
    ...(input.feedRecipient === undefined ? {} : { events: { recipient: input.feedRecipient } }),
    gateway: {
      workers: DEMO_SETTINGS.workers,
      http: { host: DEMO_SETTINGS.host, port: 0 },
      drain_grace: `${DEMO_SETTINGS.drainGraceMs / 1000}s`,
      restart: { backoff_initial: '100ms', backoff_max: '2s', max_restarts: 10, within: '60s' },
    },
  };
}

/** What the feed server's config needs: the broker, and the hash of the token printed for the user. */
export interface FeedConfigInput {
  readonly brokerPort: number;
  readonly tokenSha256: string;
}

/** The feed server's config as data (docs/feed-server.md): loopback HTTP, its own SQLite file, the events of the demo's gateway. */
export function feedConfig(input: FeedConfigInput): Record<string, unknown> {
  return {
    listen: { host: DEMO_SETTINGS.host, port: 0 },
    store: { path: 'feed.sqlite' },
    clients: [{ name: 'demo', token_sha256: input.tokenSha256, feeds: { '*': ['read'] } }],
    identity: { cert: 'certs/feed.crt', key: 'certs/feed.key' },
    checkpoints: { interval: DEMO_SETTINGS.feedCheckpointInterval, feeds: ['audit', 'payments'] },
    events: { brokers: [{ host: DEMO_SETTINGS.host, port: input.brokerPort }], trust: { gateway_ca: ['certs/ca.crt'] } },
  };
}

const FEED_HEADER = `# The feed server of \`paygate demo\` (docs/feed-server.md): the audit and payments feeds, filled from
# the gateway's events queue. Paths are relative to this file; the token itself is never written, only its hash.
`;

/** Writes the feed server's config file; returns its path. */
export function writeFeedConfig(layout: DemoLayout, input: FeedConfigInput): string {
  writePrivate(layout.feedConfig, FEED_HEADER + encodeYaml(feedConfig(input)));
  return layout.feedConfig;
}

const GATEWAY_HEADER = `# The gateway of \`paygate demo\`: the worker keys of docs/operations.md ("Worker configuration")
# and the supervisor's gateway: section. Paths are relative to this file. The sandbox credentials
# are written in clear because they guard nothing; in production write "\${env:NAME}" instead.
`;

const CLIENT_HEADER = `# A client config for \`paygate request\` against this demo (docs/sdk.md, "From the command line").
`;

const DATA_HEADER = `# A payment for \`paygate request card authorize\`: CardGate's approved test card (providers/card/README.md).
`;

/** Writes `text` readable by the owner only: the gateway config holds (sandbox) credentials. */
function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Writes the gateway config file; returns its path. */
export function writeGatewayConfig(layout: DemoLayout, input: GatewayConfigInput): string {
  writePrivate(layout.gatewayConfig, GATEWAY_HEADER + encodeYaml(gatewayConfig(input)));
  return layout.gatewayConfig;
}

/** The client config as data (docs/sdk.md): the storefront's side of the same broker and certificates. */
export function clientConfig(brokerPort: number): Record<string, unknown> {
  return {
    brokers: [{ host: DEMO_SETTINGS.host, port: brokerPort }],
    identity: { cert: 'certs/client.crt', key: 'certs/client.key' },
    gateway: { certs: ['certs/gateway.crt'], ca: ['certs/ca.crt'] },
    providers: DEMO_PROVIDERS.map((name) => ({ name, module: pluginModule(name) })),
    timeout_ms: DEMO_SETTINGS.requestTimeoutMs,
  };
}

/** An authorize payload for CardGate that is approved; the expiry is two years ahead. */
export function examplePayment(now = new Date()): Record<string, unknown> {
  return {
    amount: { value: 4200, currency: DEMO_DATA.currency },
    card: { number: DEMO_DATA.approvedCard, exp_month: 12, exp_year: now.getUTCFullYear() + 2, cvc: DEMO_DATA.cvc },
  };
}

/** Writes `paygate-client.yaml` and `authorize.yaml`, what `--serve` tells the user to use. */
export function writeClientFiles(layout: DemoLayout, brokerPort: number): void {
  writePrivate(layout.clientConfig, CLIENT_HEADER + encodeYaml(clientConfig(brokerPort)));
  writePrivate(layout.exampleData, DATA_HEADER + encodeYaml(examplePayment()));
}
