/**
 * The whole request path for provider tests: a broker (embedded unless given), a real
 * worker serving the plugin with its deployment settings, and a typed SDK gateway — SDK → broker →
 * worker → plugin → provider (a sandbox) → reply. Plugin tests and the conformance suite share it.
 */
import { join } from 'node:path';
import { createGateway, type Gateway } from '../../src/client/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';
import type { ProviderSettingsInput, WorkerOptions } from '../../src/worker/options.ts';
import { Worker } from '../../src/worker/index.ts';
import { roleNode } from '../integration/support.ts';
import { parseTestBrokers, startTestBroker, type BrokerDescriptor, type TestBroker } from './brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from './pki.ts';

/** A running request path for one plugin. */
export interface FullPath<P extends ProviderDefinition> {
  readonly gateway: Gateway<readonly [P]>;
  readonly worker: Worker;
  readonly broker: TestBroker;
  readonly pki: TestPki;
  /** Stops the gateway, the worker and (if it started it) the broker. */
  close(): Promise<void>;
}

export interface FullPathOptions<P extends ProviderDefinition> {
  readonly provider: P;
  /** The worker config's entry for the provider: endpoint, TLS, timeout, breaker, options. */
  readonly settings?: ProviderSettingsInput;
  /** The broker to use (default: an embedded one started now). */
  readonly broker?: BrokerDescriptor;
  /** The PKI (default: `makeTestPki()`, whose `tls` identity sandboxes use). */
  readonly pki?: TestPki;
  /** More worker options (e.g. `transcript`, `log`). */
  readonly worker?: Partial<WorkerOptions>;
  /** The SDK's default reply timeout. */
  readonly timeoutMs?: number;
}

/** Starts a broker (unless given), a worker for `provider` and a gateway; use `close()` in afterAll. */
export async function startFullPath<P extends ProviderDefinition>(options: FullPathOptions<P>): Promise<FullPath<P>> {
  const broker = await startTestBroker(options.broker ?? (parseTestBrokers('embedded')[0] as BrokerDescriptor));
  const pki = options.pki ?? (await makeTestPki());
  // One name segment (a dash, not a dot): the roles' request queues are paygate.<provider>.
  const queuePrefix = `/queue/paygate.fp${Math.random().toString(36).slice(2, 8)}-`;
  const worker = await Worker.start({
    stomp: { nodes: [roleNode(broker.descriptor, 'worker')] },
    identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
    trust: [pki.ca.certPem],
    providers: [options.provider],
    providerSettings: { [options.provider.name]: options.settings ?? {} },
    idempotency: { path: join(makeTempDir('full-path'), 'idempotency.sqlite') },
    queuePrefix,
    ...options.worker,
  });
  const gateway = await createGateway({
    brokers: { nodes: [roleNode(broker.descriptor, 'storefront')] },
    identity: { cert: pki.client.certPem, key: pki.client.keyPem },
    gatewayCertificates: [pki.gateway.certPem],
    trust: [pki.ca.certPem],
    providers: [options.provider] as const,
    queuePrefix,
    defaultTimeoutMs: options.timeoutMs ?? 15_000,
  });
  return {
    gateway: gateway as unknown as Gateway<readonly [P]>,
    worker,
    broker,
    pki,
    close: async () => {
      await gateway.close(2_000);
      await worker.stop({ graceMs: 2_000 });
      await broker.stop();
    },
  };
}
