/**
 * startWorkerFromConfig: a worker configured from its YAML file (PEM files read, the provider
 * module loaded with loadProvider) serves requests like one started from options; and
 * workerOptionsFromConfig: each provider's settings reach the worker as `providerSettings`.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StompConnection } from '../../src/stomp/index.ts';
import { Certificate, decodeYaml, encodeYaml, loadIdentity, open, parseReplyDocument, requestHeaders, seal, SIGNER_ROLE_OIDS, TrustStore } from '../../src/wire/index.ts';
import { workerOptionsFromConfig } from '../../src/worker/from-config.ts';
import { parseWorkerConfig, parseWorkerOptions, startWorkerFromConfig, type Worker } from '../../src/worker/index.ts';
import { asRole, parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki } from '../helpers/pki.ts';
import { Inbox, nodeOf } from '../integration/support.ts';
import { requestDoc } from './harness.ts';

let broker: TestBroker;
let worker: Worker | undefined;

beforeAll(async () => {
  broker = await startTestBroker(parseTestBrokers('embedded')[0] as NonNullable<ReturnType<typeof parseTestBrokers>[0]>);
});
afterAll(async () => {
  await worker?.stop({ graceMs: 1_000 });
  await broker?.stop();
});

describe('startWorkerFromConfig', () => {
  it('reads the PEM files, loads the provider module and answers a ping on its queue', async () => {
    const pki = await makeTestPki();
    const plugin = fileURLToPath(new URL('../fixtures/counting-provider.ts', import.meta.url));
    const { host, port, roles } = broker.descriptor;
    const text = `
brokers: [{host: ${host}, port: ${port}, login: ${roles.worker.login}, passcode: ${roles.worker.passcode}}]
identity: {cert: ${pki.gateway.certPath}, key: ${pki.gateway.keyPath}}
trust: {client_ca: [${pki.ca.certPath}]}
queue_prefix: /queue/paygate.pgcfg-
providers: [{name: counting, module: ${plugin}}]
idempotency: {path: ${join(makeTempDir('from-config'), 'store.sqlite')}}
`;
    worker = await startWorkerFromConfig(parseWorkerConfig(text), { workerId: 'cfg-worker' });
    expect(worker.workerId).toBe('cfg-worker');

    const client = await StompConnection.connect({ nodes: [nodeOf(asRole(broker.descriptor, 'storefront'))] });
    try {
      const inbox = new Inbox();
      const queue = client.replyQueue(inbox.handler);
      const doc = requestDoc({ type: 'ping', payload: {} });
      const body = seal(encodeYaml(doc), { recipients: [Certificate.from(pki.gateway.certPem)], signer: loadIdentity(pki.client.certPem, pki.client.keyPem) });
      const headers = requestHeaders({ replyTo: queue.replyTo, correlationId: randomUUID(), cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
      await client.send('/queue/paygate.pgcfg-counting', body, { headers, receipt: true });
      const message = await inbox.next();
      const opened = open(message.body, { identity: loadIdentity(pki.client.certPem, pki.client.keyPem), trust: new TrustStore([pki.ca.certPem]) });
      const reply = parseReplyDocument(decodeYaml(opened.yaml));
      expect(reply).toMatchObject({ status: 'approved', request_id: doc.id, result: { provider: 'counting', worker: 'cfg-worker' } });
      expect(message.headers['correlation-id']).toBe(headers['correlation-id']);
    } finally {
      await client.close();
    }
  });
});

describe('workerOptionsFromConfig', () => {
  it('passes each provider’s endpoint, TLS, timeout, breaker and options on as providerSettings, by name', async () => {
    const pki = await makeTestPki();
    const plugin = fileURLToPath(new URL('../fixtures/counting-provider.ts', import.meta.url));
    const configWith = (provider: string): string => `
brokers: [{host: localhost}]
identity: {cert: ${pki.gateway.certPath}, key: ${pki.gateway.keyPath}}
trust: {client_ca: [${pki.ca.certPath}]}
providers:
  - name: counting
    module: ${plugin}
${provider}
idempotency: {path: ${join(makeTempDir('from-config'), 'store.sqlite')}}
`;
    const settings = `
    endpoint: https://counting.example.com/api
    tls: {ca: ${pki.ca.certPath}}
    timeout_ms: 15000
    breaker: {error_threshold_percentage: 40, rolling_window_ms: 20000, capacity: 5}
    options: {account: acme, password: "\${env:COUNTING_PASSWORD}"}`;
    const config = parseWorkerConfig(configWith(settings), { env: { COUNTING_PASSWORD: 'pw-from-env' } });
    const options = await workerOptionsFromConfig(config);

    expect(options.providerSettings).toEqual({
      counting: {
        endpoint: 'https://counting.example.com/api',
        tls: { ca: pki.ca.certPem },
        timeoutMs: 15_000,
        breaker: { errorThresholdPercentage: 40, rollingCountTimeout: 20_000, capacity: 5 },
        options: { account: 'acme', password: 'pw-from-env' },
      },
    });
    expect(options.providers.map((p) => p.name)).toEqual(['counting']);
    expect(options.identity).toEqual({ cert: pki.gateway.certPem, key: pki.gateway.keyPem });
    // The worker's own schema takes them as they are.
    expect(parseWorkerOptions(options).providerSettings['counting']).toMatchObject({ endpoint: 'https://counting.example.com/api', timeoutMs: 15_000 });

    // A provider with no settings still gets its entry, with empty options and nothing else.
    const bare = await workerOptionsFromConfig(parseWorkerConfig(configWith(''), { env: {} }));
    expect(bare.providerSettings).toEqual({ counting: { options: {} } });
  });

  it('passes trust.client_roles, reply_to_pattern and max_reply_attempts on; absent, the worker\'s defaults apply', async () => {
    const pki = await makeTestPki();
    const plugin = fileURLToPath(new URL('../fixtures/counting-provider.ts', import.meta.url));
    const base = `
brokers: [{host: localhost}]
identity: {cert: ${pki.gateway.certPath}, key: ${pki.gateway.keyPath}}
providers: [{name: counting, module: ${plugin}}]
idempotency: {path: ${join(makeTempDir('from-config'), 'store.sqlite')}}
`;
    const given = await workerOptionsFromConfig(
      parseWorkerConfig(`${base}trust: {client_ca: [${pki.ca.certPath}], client_roles: [1.3.6.1.5.5.7.3.2]}\nreply_to_pattern: "/queue/shop\\\\.r"\nmax_reply_attempts: 7\n`),
    );
    expect(parseWorkerOptions(given)).toMatchObject({ clientRoleOids: ['1.3.6.1.5.5.7.3.2'], replyToPattern: '/queue/shop\\.r', maxReplyAttempts: 7 });
    const absent = parseWorkerOptions(await workerOptionsFromConfig(parseWorkerConfig(`${base}trust: {client_ca: [${pki.ca.certPath}]}\n`)));
    expect(absent).toMatchObject({ clientRoleOids: [SIGNER_ROLE_OIDS.client], maxReplyAttempts: 3 });
    expect(absent.replyToPattern).toBeUndefined();
  });
});
