/**
 * The parts of the scale-out tests: gateway HOSTS (each a folder of its own with its config file,
 * log, status port and a copy of the gateway's certificate and key, running `paygate gateway` as
 * a child process in a process group of its own, so that the whole host can be SIGKILLed), all
 * storing idempotency in one PostgreSQL database; and the shop, whose broker connection the test
 * can see (which node it is on, when it reconnected).
 *
 * Every host of one gateway service holds the SAME gateway certificate and key: the SDK encrypts
 * to that certificate and pins it as the reply signer, and the payload digest key stored with
 * each idempotency entry is derived from that private key (src/worker/payload-digest.ts), so a
 * host with a key of its own would see every retry of another host's key as a conflict.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/chaos/broker.ts';
import { GatewayChild } from '../../bench/chaos/gateway.ts';
import type { ChaosPlugins } from '../../bench/chaos/world.ts';
import { gatewayConfig, type SandboxEndpoint } from '../../src/cli/demo/files.ts';
import { loadGatewayKeys } from '../../src/client/keys.ts';
import { parseGatewayOptions } from '../../src/client/options.ts';
import { Gateway } from '../../src/client/index.ts';
import { StompConnection, type StompOptions } from '../../src/stomp/index.ts';
import { encodeYaml } from '../../src/wire/index.ts';
import type { Credentials } from '../helpers/brokers.ts';
import type { TestPki } from '../helpers/pki.ts';
import { PLUGINS, type Sandboxes, type TrailQueues } from './audit-trail-world.ts';

/** The numbers of the scale-out tests, in one place. */
export const SCALE_SETTINGS = Object.freeze({
  host: '127.0.0.1',
  /** A worker's deadline for one provider call. */
  providerTimeoutMs: 3_000,
  /** The idempotency lease: above every provider call (the config refuses less). */
  leaseMs: 8_000,
  /** Connections each worker process keeps to PostgreSQL at most. */
  poolSize: 4,
  /**
   * Heart-beats far apart: on a loaded 2-core machine a worker that misses one loses its
   * connection, and its requests are redelivered while it still holds their keys. A killed
   * node's or worker's socket closes at once, beats or not.
   */
  heartBeatMs: 10_000,
  /** Unacknowledged requests per worker. */
  prefetch: 8,
  /** The SDK's deadline for one reply (also the request's expires_at). */
  requestTimeoutMs: 20_000,
});

/** One broker node as configs list it. */
export interface BrokerNode {
  readonly host: string;
  readonly port: number;
}

/** What a gateway host is made of. */
export interface HostSpec {
  /** Short name (`a`, `b`): its folder is `<root>/host-<name>`. */
  readonly name: string;
  readonly root: string;
  readonly brokers: readonly BrokerNode[];
  /** The workers' broker login. */
  readonly worker: Credentials;
  /** `random` spreads the workers over a cluster whose nodes share queues; `listed` for one broker. */
  readonly brokerOrder: 'listed' | 'random';
  readonly pki: TestPki;
  readonly endpoints: Record<keyof Sandboxes, SandboxEndpoint>;
  readonly queues: TrailQueues;
  /** The PostgreSQL database every host shares. */
  readonly storeUrl: string;
  /** Worker processes of this host. */
  readonly workers: number;
  /** More top-level config keys (e.g. a broker option of the cluster). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A running gateway host. */
export interface GatewayHost {
  readonly name: string;
  readonly dir: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly gateway: GatewayChild;
}

/** The host's certificate files, copied in as an operator installs them on each machine. */
function installCertificates(dir: string, pki: TestPki): void {
  mkdirSync(join(dir, 'certs'), { recursive: true, mode: 0o700 });
  copyFileSync(pki.gateway.certPath, join(dir, 'certs', 'gateway.crt'));
  copyFileSync(pki.gateway.keyPath, join(dir, 'certs', 'gateway.key'));
  copyFileSync(pki.ca.certPath, join(dir, 'certs', 'ca.crt'));
}

/** Writes the host's config: the demo's (paths relative to it: certs/…), with this run's brokers, queues, store and pool. */
function writeHostConfig(dir: string, spec: HostSpec, statusPort: number): string {
  const base = gatewayConfig({ brokerPort: spec.brokers[0]?.port ?? 0, sandboxes: spec.endpoints });
  const providers = (base.providers as Record<string, unknown>[]).map((provider) => ({ ...provider, timeout_ms: SCALE_SETTINGS.providerTimeoutMs }));
  const config = {
    ...base,
    brokers: spec.brokers.map((node) => ({ host: node.host, port: node.port, login: spec.worker.login, passcode: spec.worker.passcode, vhost: '/' })),
    broker_order: spec.brokerOrder,
    heart_beat_ms: SCALE_SETTINGS.heartBeatMs,
    prefetch: SCALE_SETTINGS.prefetch,
    queue_prefix: spec.queues.prefix,
    providers,
    idempotency: { url: spec.storeUrl, pool_size: SCALE_SETTINGS.poolSize, lease: `${SCALE_SETTINGS.leaseMs / 1000}s` },
    gateway: {
      workers: spec.workers,
      http: { host: SCALE_SETTINGS.host, port: statusPort },
      drain_grace: '10s',
      restart: { backoff_initial: '100ms', backoff_max: '1s', max_restarts: 100, within: '60s' },
    },
    ...spec.extra,
  };
  const path = join(dir, 'gateway.yaml');
  // 0600: it holds the broker passcode and the database URL with its password.
  writeFileSync(path, encodeYaml(config), { mode: 0o600 });
  return path;
}

/** Makes the host's folder and starts its gateway; resolves once every slot serves. */
export async function startHost(spec: HostSpec): Promise<GatewayHost> {
  const dir = join(spec.root, `host-${spec.name}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  installCertificates(dir, spec.pki);
  const statusPort = await freePort();
  const configPath = writeHostConfig(dir, spec, statusPort);
  const logPath = join(dir, 'gateway.log');
  const gateway = await GatewayChild.start(configPath, logPath, `http://${SCALE_SETTINGS.host}:${statusPort}`, { processGroup: true });
  return { name: spec.name, dir, configPath, logPath, gateway };
}

/** The shop's SDK and the broker connection under it. */
export interface WatchedShop {
  readonly shop: Gateway<ChaosPlugins>;
  /** `host:port` of the node the shop's connection is on now (undefined while reconnecting). */
  node(): string | undefined;
  /** Each node the connection came up on, and when (performance.now()). */
  readonly connects: { readonly node: string; readonly at: number; readonly reconnected: boolean }[];
  close(): Promise<void>;
}

/**
 * The shop: the real SDK gateway over a real StompConnection, put together as createGateway does
 * (options parsed, keys loaded, connection made), but with the connection in the test's hands so
 * that it can tell which node the shop is on. Nodes in listed order: the shop starts on the first
 * and fails over down the list.
 */
export async function startWatchedShop(
  nodes: readonly BrokerNode[],
  storefront: Credentials,
  pki: TestPki,
  queues: TrailQueues,
  connection: Omit<StompOptions, 'nodes'> = {},
): Promise<WatchedShop> {
  const options = parseGatewayOptions({
    brokers: { nodes: nodes.map((node) => ({ host: node.host, port: node.port, login: storefront.login, passcode: storefront.passcode, vhost: '/' })), ...connection },
    identity: { cert: pki.client.certPem, key: pki.client.keyPem },
    gatewayCertificates: [pki.gateway.certPem],
    trust: [pki.ca.certPem],
    providers: PLUGINS,
    queuePrefix: queues.prefix,
    defaultTimeoutMs: SCALE_SETTINGS.requestTimeoutMs,
  });
  const keys = loadGatewayKeys(options);
  const stomp = StompConnection.create(options.brokers);
  const connects: WatchedShop['connects'] = [];
  stomp.on('node-connect', ({ node, reconnected }) => connects.push({ node, at: performance.now(), reconnected }));
  await stomp.start();
  const shop = new Gateway<ChaosPlugins>({ options, keys, connection: stomp });
  return { shop, node: () => stomp.node, connects, close: () => shop.close(2_000) };
}
