/**
 * startWorkerFromConfig: a worker configured from its YAML file (PEM files read, the provider
 * module loaded with loadProvider) serves requests like one started from options.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StompConnection } from '../../src/stomp/index.ts';
import { Certificate, decodeYaml, encodeYaml, loadIdentity, open, parseReplyDocument, requestHeaders, seal, TrustStore } from '../../src/wire/index.ts';
import { parseWorkerConfig, startWorkerFromConfig, type Worker } from '../../src/worker/index.ts';
import { parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
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
    const { host, port } = broker.descriptor;
    const text = `
brokers: [{host: ${host}, port: ${port}, login: guest, passcode: guest}]
identity: {cert: ${pki.gateway.certPath}, key: ${pki.gateway.keyPath}}
trust: {client_ca: [${pki.ca.certPath}]}
queue_prefix: /queue/pgcfg.
providers: [{name: counting, module: ${plugin}}]
idempotency: {path: ${join(makeTempDir('from-config'), 'store.sqlite')}}
`;
    worker = await startWorkerFromConfig(parseWorkerConfig(text), { workerId: 'cfg-worker' });
    expect(worker.workerId).toBe('cfg-worker');

    const client = await StompConnection.connect({ nodes: [nodeOf(broker.descriptor)] });
    try {
      const inbox = new Inbox();
      const queue = client.replyQueue(inbox.handler);
      const doc = requestDoc({ type: 'ping', payload: {} });
      const body = seal(encodeYaml(doc), { recipients: [Certificate.from(pki.gateway.certPem)], signer: loadIdentity(pki.client.certPem, pki.client.keyPem) });
      const headers = requestHeaders({ replyTo: queue.replyTo, correlationId: randomUUID(), cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
      await client.send('/queue/pgcfg.counting', body, { headers, receipt: true });
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
