/**
 * The world of a chaos run: a folder, throw-away certificates, the broker, the three provider
 * sandboxes in this process (so their ledgers can be read and their fault rates set), the
 * gateway's config file and the gateway as a child process, and the shop's SDK. `close()` stops
 * what was started, in reverse.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import card from '../../providers/card/index.ts';
import { startCardSandbox, type CardSandbox } from '../../providers/card/sandbox/index.ts';
import giftcard from '../../providers/giftcard/index.ts';
import { startGiftcardSandbox, type GiftcardSandbox } from '../../providers/giftcard/sandbox/index.ts';
import paypal from '../../providers/paypal/index.ts';
import { startPaypalSandbox, type PaypalSandbox } from '../../providers/paypal/sandbox/index.ts';
import { writeDevPki } from '../../src/certs/devca.ts';
import { gatewayConfig, type SandboxEndpoint } from '../../src/cli/demo/files.ts';
import { createGateway, type Gateway } from '../../src/client/index.ts';
import { encodeYaml } from '../../src/wire/index.ts';
import { embeddedBroker, freePort, rabbitmqBroker, type ChaosBroker } from './broker.ts';
import { GatewayChild } from './gateway.ts';
import { CHAOS_SETTINGS, type ChaosOptions } from './options.ts';

/** The plugins the shop's SDK is made with. */
export type ChaosPlugins = readonly [typeof card, typeof paypal, typeof giftcard];

/** The three sandboxes. */
export interface ChaosSandboxes {
  readonly card: CardSandbox;
  readonly paypal: PaypalSandbox;
  readonly giftcard: GiftcardSandbox;
}

/** Everything running. */
export interface ChaosWorld {
  readonly dir: string;
  readonly broker: ChaosBroker;
  readonly sandboxes: ChaosSandboxes;
  readonly gateway: GatewayChild;
  readonly shop: Gateway<ChaosPlugins>;
  /** Every request's idempotency key starts with this (unique per run). */
  readonly runId: string;
}

const secret = (): string => randomUUID().replaceAll('-', '').slice(0, 16);

async function startSandboxes(dir: string, options: ChaosOptions, stops: (() => Promise<unknown>)[]) {
  const tls = { cert: readFileSync(join(dir, 'certs', 'tls.crt'), 'utf8'), key: readFileSync(join(dir, 'certs', 'tls.key'), 'utf8') };
  const cardCredentials = { username: 'chaos-merchant', password: secret() };
  const paypalCredentials = { user: 'chaos_api1.paygate.test', pwd: secret(), signature: secret() };
  const apiKey = `gc-${secret()}`;
  const sandboxes: ChaosSandboxes = {
    card: await startCardSandbox({ tls, ...cardCredentials }),
    paypal: await startPaypalSandbox({ tls, credentials: paypalCredentials }),
    giftcard: await startGiftcardSandbox({ tls, apiKey }),
  };
  for (const sandbox of Object.values(sandboxes)) stops.push(() => sandbox.close());
  // A different seed per sandbox, all derived from the run's: the three do not fail in step.
  const rates = { failRate: CHAOS_SETTINGS.failRate, hangRate: CHAOS_SETTINGS.hangRate };
  Object.assign(sandboxes.card.knobs, { ...rates, seed: options.seed * 3 + 1 });
  Object.assign(sandboxes.paypal.knobs, { ...rates, seed: options.seed * 3 + 2 });
  Object.assign(sandboxes.giftcard.knobs, { ...rates, seed: options.seed * 3 + 3 });
  const endpoints: Record<keyof ChaosSandboxes, SandboxEndpoint> = {
    card: { url: sandboxes.card.url, options: cardCredentials },
    paypal: { url: sandboxes.paypal.url, options: paypalCredentials },
    giftcard: { url: sandboxes.giftcard.url, options: { api_key: apiKey } },
  };
  return { sandboxes, endpoints };
}

/**
 * The gateway's config: the demo's (src/cli/demo/files.ts) with this run's broker logins, queue
 * prefix, pool, deadlines and a restart policy that lets a worker be killed every 2 s.
 */
function writeConfig(dir: string, broker: ChaosBroker, endpoints: Record<keyof ChaosSandboxes, SandboxEndpoint>, queuePrefix: string, statusPort: number): string {
  const base = gatewayConfig({ brokerPort: broker.port, sandboxes: endpoints });
  const providers = (base.providers as Record<string, unknown>[]).map((provider) => ({
    ...provider,
    timeout_ms: CHAOS_SETTINGS.providerTimeoutMs,
    // The breaker's defaults, with a short reset: 12 % of calls fail by design and must not keep it open.
    breaker: { reset_timeout_ms: 2_000 },
  }));
  const config = {
    ...base,
    brokers: [{ host: broker.host, port: broker.port, login: broker.worker.login, passcode: broker.worker.passcode, vhost: '/' }],
    heart_beat_ms: 1_000,
    queue_prefix: queuePrefix,
    providers,
    idempotency: { path: 'idempotency.sqlite', lease: `${CHAOS_SETTINGS.leaseMs / 1000}s` },
    gateway: {
      workers: CHAOS_SETTINGS.workers,
      http: { host: CHAOS_SETTINGS.host, port: statusPort },
      drain_grace: '10s',
      restart: { backoff_initial: '100ms', backoff_max: '1s', max_restarts: 10_000, within: '60s' },
    },
  };
  const path = join(dir, 'gateway.yaml');
  writeFileSync(path, encodeYaml(config), { mode: 0o600 });
  return path;
}

/** Starts the world; on failure stops what started and rethrows. */
export async function startWorld(options: ChaosOptions, progress: (line: string) => void): Promise<ChaosWorld & { close(keep: boolean): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-chaos-'));
  const stops: (() => Promise<unknown>)[] = [];
  const close = async (keep: boolean): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await writeDevPki(join(dir, 'certs'), { algo: 'ec' });
    const broker = options.broker === 'embedded' ? await embeddedBroker(dir) : rabbitmqBroker();
    stops.push(() => broker.stop());
    progress(`broker: ${broker.name} on ${broker.host}:${broker.port}`);
    const { sandboxes, endpoints } = await startSandboxes(dir, options, stops);
    progress(`sandboxes: card ${sandboxes.card.url}, paypal ${sandboxes.paypal.url}, giftcard ${sandboxes.giftcard.url} (failRate ${CHAOS_SETTINGS.failRate}, hangRate ${CHAOS_SETTINGS.hangRate})`);
    const runId = randomUUID().slice(0, 6);
    const queuePrefix = `/queue/paygate.chaos${runId}-`;
    const statusPort = await freePort();
    const configPath = writeConfig(dir, broker, endpoints, queuePrefix, statusPort);
    const gateway = await GatewayChild.start(configPath, join(dir, 'gateway.log'), `http://${CHAOS_SETTINGS.host}:${statusPort}`);
    stops.push(() => gateway.stop());
    progress(`gateway: ${CHAOS_SETTINGS.workers} workers serving (status ${gateway.statusUrl}, config ${configPath})`);
    const pem = (name: string): string => readFileSync(join(dir, 'certs', name), 'utf8');
    const shop = await createGateway({
      brokers: { nodes: [{ host: broker.host, port: broker.port, login: broker.storefront.login, passcode: broker.storefront.passcode, vhost: '/' }] },
      identity: { cert: pem('client.crt'), key: pem('client.key') },
      gatewayCertificates: [pem('gateway.crt')],
      trust: [pem('ca.crt')],
      providers: [card, paypal, giftcard] as const,
      queuePrefix,
      defaultTimeoutMs: CHAOS_SETTINGS.requestTimeoutMs,
    });
    stops.push(() => shop.close(2_000));
    return { dir, broker, sandboxes, gateway, shop, runId, close };
  } catch (error) {
    await close(true);
    throw error;
  }
}
