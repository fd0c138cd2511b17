/**
 * The world of the audit-trail test: the three provider sandboxes in this process, a real
 * `paygate gateway --config` (supervisor + worker pool) whose workers publish each request's
 * events to the events queue, and the shop's SDK. The gateway is the chaos run's child-process
 * wrapper (bench/chaos/gateway.ts) and its config the demo's (src/cli/demo/files.ts), with this
 * test's broker logins, PKI, queues and events recipient.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/chaos/broker.ts';
import { GatewayChild } from '../../bench/chaos/gateway.ts';
import card from '../../providers/card/index.ts';
import { startCardSandbox, type CardSandbox } from '../../providers/card/sandbox/index.ts';
import giftcard from '../../providers/giftcard/index.ts';
import { startGiftcardSandbox, type GiftcardSandbox } from '../../providers/giftcard/sandbox/index.ts';
import paypal from '../../providers/paypal/index.ts';
import { startPaypalSandbox, type PaypalSandbox } from '../../providers/paypal/sandbox/index.ts';
import { gatewayConfig, type SandboxEndpoint } from '../../src/cli/demo/files.ts';
import { createGateway, type Gateway } from '../../src/client/index.ts';
import { encodeYaml } from '../../src/wire/index.ts';
import { asRole, type BrokerDescriptor } from '../helpers/brokers.ts';
import type { TestPki } from '../helpers/pki.ts';

/** The plugins the shop's SDK is made with. */
export const PLUGINS = [card, paypal, giftcard] as const;
export type Plugins = typeof PLUGINS;
export type Shop = Gateway<Plugins>;

/** The numbers of the run, in one place. */
export const TRAIL_SETTINGS = Object.freeze({
  host: '127.0.0.1',
  /** Worker processes in the gateway's pool. */
  workers: 3,
  /** A worker's deadline for one provider call. */
  providerTimeoutMs: 5_000,
  /** The idempotency lease (the config refuses less than the provider timeout). */
  leaseMs: 8_000,
  /**
   * The SDK's deadline for one reply: long, so that a request held by a killed worker is
   * redelivered and answered within it instead of expiring unread (an expired request is
   * dead-lettered before it is opened, and would be found by its correlation id only).
   */
  requestTimeoutMs: 40_000,
});

export interface Sandboxes {
  readonly card: CardSandbox;
  readonly paypal: PaypalSandbox;
  readonly giftcard: GiftcardSandbox;
}

const secret = (): string => randomUUID().replaceAll('-', '').slice(0, 16);

/** Starts the three sandboxes (TLS from the test PKI); `stops` gets their close functions. */
export async function startSandboxes(pki: TestPki, stops: (() => Promise<unknown>)[]): Promise<{ sandboxes: Sandboxes; endpoints: Record<keyof Sandboxes, SandboxEndpoint> }> {
  const tls = { cert: pki.tls.certPem, key: pki.tls.keyPem };
  const cardCredentials = { username: 'trail-merchant', password: secret() };
  const paypalCredentials = { user: 'trail_api1.paygate.test', pwd: secret(), signature: secret() };
  const apiKey = `gc-${secret()}`;
  const sandboxes: Sandboxes = {
    card: await startCardSandbox({ tls, ...cardCredentials }),
    paypal: await startPaypalSandbox({ tls, credentials: paypalCredentials }),
    giftcard: await startGiftcardSandbox({ tls, apiKey }),
  };
  for (const sandbox of Object.values(sandboxes)) stops.push(() => sandbox.close());
  const endpoints = {
    card: { url: sandboxes.card.url, options: cardCredentials },
    paypal: { url: sandboxes.paypal.url, options: paypalCredentials },
    giftcard: { url: sandboxes.giftcard.url, options: { api_key: apiKey } },
  };
  return { sandboxes, endpoints };
}

/** Where this run's traffic goes on a shared broker. */
export interface TrailQueues {
  /** The run's id: 10 lower-case letters. */
  readonly run: string;
  /** `/queue/paygate.t<run>-`: the request queues are `<prefix><provider>`. */
  readonly prefix: string;
  /** `/queue/paygate.feed.t<run>`: covered by the worker's SEND and the feed login's read rights. */
  readonly events: string;
}

/** Fresh queue names (letters only in the run id: no digit run of it can look like a card number). */
export function trailQueues(): TrailQueues {
  const run = Array.from(randomUUID().replaceAll('-', '').slice(0, 10), (c) => String.fromCharCode(97 + (parseInt(c, 16) % 26))).join('');
  return { run, prefix: `/queue/paygate.t${run}-`, events: `/queue/paygate.feed.t${run}` };
}

/**
 * Writes the gateway's config: the demo's, with the broker's `worker` login, the test PKI, this
 * run's queues, a pool that may lose a worker at any time, and `events` to the feed certificate.
 */
export function writeGatewayConfig(
  dir: string,
  broker: BrokerDescriptor & { port: number },
  pki: TestPki,
  endpoints: Record<keyof Sandboxes, SandboxEndpoint>,
  queues: TrailQueues,
  statusPort: number,
  events: { queue: string; recipient: string } | undefined,
): string {
  const base = gatewayConfig({ brokerPort: broker.port, sandboxes: endpoints });
  const worker = asRole(broker, 'worker');
  const providers = (base.providers as Record<string, unknown>[]).map((provider) => ({
    ...provider,
    tls: { ca: pki.ca.certPath },
    timeout_ms: TRAIL_SETTINGS.providerTimeoutMs,
  }));
  const config = {
    ...base,
    brokers: [{ host: broker.host, port: broker.port, login: worker.login, passcode: worker.passcode, vhost: broker.vhost }],
    // Far apart: on a loaded machine a worker that misses a heart-beat loses its connection, and
    // the requests it holds are answered twice (the second worker says OUTCOME_UNKNOWN while the
    // first still holds the lease). A killed worker's socket closes at once, beats or not.
    heart_beat_ms: 10_000,
    prefetch: 16,
    identity: { cert: pki.gateway.certPath, key: pki.gateway.keyPath },
    trust: { client_ca: [pki.ca.certPath] },
    queue_prefix: queues.prefix,
    providers,
    idempotency: { path: join(dir, 'idempotency.sqlite'), lease: `${TRAIL_SETTINGS.leaseMs / 1000}s` },
    ...(events === undefined ? {} : { events }),
    gateway: {
      workers: TRAIL_SETTINGS.workers,
      http: { host: TRAIL_SETTINGS.host, port: statusPort },
      drain_grace: '10s',
      restart: { backoff_initial: '100ms', backoff_max: '1s', max_restarts: 100, within: '60s' },
    },
  };
  const path = join(dir, 'gateway.yaml');
  writeFileSync(path, encodeYaml(config), { mode: 0o600 });
  return path;
}

/** Starts `paygate gateway --config` and waits until every slot serves. */
export async function startGateway(dir: string, configPath: string, statusPort: number): Promise<GatewayChild> {
  return GatewayChild.start(configPath, join(dir, 'gateway.log'), `http://${TRAIL_SETTINGS.host}:${statusPort}`);
}

/** The shop: the SDK logged in as the broker's `storefront`. */
export function startShop(broker: BrokerDescriptor & { port: number }, pki: TestPki, queues: TrailQueues): Promise<Shop> {
  const storefront = asRole(broker, 'storefront');
  return createGateway({
    brokers: { nodes: [{ host: broker.host, port: broker.port, login: storefront.login, passcode: storefront.passcode, vhost: broker.vhost }] },
    identity: { cert: pki.client.certPem, key: pki.client.keyPem },
    gatewayCertificates: [pki.gateway.certPem],
    trust: [pki.ca.certPem],
    providers: PLUGINS,
    queuePrefix: queues.prefix,
    defaultTimeoutMs: TRAIL_SETTINGS.requestTimeoutMs,
  });
}

export { freePort };
