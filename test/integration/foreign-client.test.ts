// A client built from docs/wire-format.md alone. The request is signed and
// encrypted by the `openssl` CLI (§4), sent with the stompit library and the headers of §2 (no
// paygate SDK or STOMP code on the client side), answered by a real paygate worker, and the reply
// is decrypted and verified by `openssl` (§4.3), on every broker of the matrix.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import stompit from 'stompit';
import type Client from 'stompit/lib/Client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Worker } from '../../src/worker/index.ts';
import { counter, counting } from '../fixtures/counting-provider.ts';
import { asRole, parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { openssl, OAEP_SHA256 } from '../helpers/openssl.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { roleNode } from './support.ts';
import { uniquePrefix } from './request-path-support.ts';

/** §4.2: `openssl cms -sign -nodetach -binary … | openssl cms -encrypt -aes-256-gcm -recip gateway.crt`. */
function sealWithOpenssl(yaml: string, pki: TestPki, algo: 'rsa' | 'ec'): Buffer {
  const signed = openssl(['cms', '-sign', '-nodetach', '-binary', '-signer', pki.client.certPath, '-inkey', pki.client.keyPath], yaml);
  const recipient = ['-recip', pki.gateway.certPath, ...(algo === 'rsa' ? OAEP_SHA256 : [])];
  return openssl(['cms', '-encrypt', '-aes-256-gcm', ...recipient], signed);
}

/** §4.3: decrypt with the client key, verify against the CA, and say who signed. */
function openWithOpenssl(body: Buffer, pki: TestPki, dir: string): { yaml: string; signerFingerprint: string } {
  const signer = join(dir, `signer-${randomUUID()}.pem`);
  const decrypted = openssl(['cms', '-decrypt', '-recip', pki.client.certPath, '-inkey', pki.client.keyPath], body);
  const yaml = openssl(['cms', '-verify', '-CAfile', pki.ca.certPath, '-signer', signer], decrypted).toString('utf8');
  const fingerprint = (file: string): string => openssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha256']).toString().trim();
  expect(fingerprint(signer)).toBe(fingerprint(pki.gateway.certPath));
  return { yaml, signerFingerprint: fingerprint(signer) };
}

/** Connects as a storefront: the rights a client of the gateway has (docs/broker-access.md). */
function stompitConnect(broker: TestBroker): Promise<Client> {
  const { host, port, login, passcode, vhost } = asRole(broker.descriptor, 'storefront');
  return new Promise((resolve, reject) => {
    stompit.connect(
      { host, port, connectHeaders: { host: vhost, login, passcode, 'accept-version': '1.2', 'heart-beat': '0,0' } },
      (error: Error | null, client: Client) => {
        if (error) return reject(error);
        // After the test, a broker that shuts down sends ERROR to whoever is still connected.
        client.on('error', () => undefined);
        resolve(client);
      },
    );
  });
}

/**
 * Takes the first message of the temp queue `/temp-queue/<name>` (§1: a client's own reply queue,
 * the only one a storefront login may read). RabbitMQ creates it from the request's `reply-to`
 * and delivers on the implicit subscription id `/temp-queue/<name>`, which stompit must know
 * beforehand (`setImplicitSubscription`); ActiveMQ and the embedded broker create it on SUBSCRIBE,
 * which the broker handles before the request SENT after it on the same connection.
 */
function tempQueueReply(client: Client, name: string, brokerName: string): Promise<{ headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const onMessage = (error: Error | null, incoming: Client.Message): void => {
      if (error) return reject(error);
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const headers = Object.fromEntries(Object.entries(incoming.headers as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
        resolve({ headers, body: Buffer.concat(chunks) });
      });
    };
    const destination = `/temp-queue/${name}`;
    // stompit's typings say a subscription id is a number; RabbitMQ's implicit one is this string.
    if (brokerName === 'rabbitmq') client.setImplicitSubscription(destination as unknown as number, 'auto', onMessage);
    else client.subscribe({ destination, ack: 'auto' } as unknown as Parameters<Client['subscribe']>[0], onMessage);
  });
}

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('a foreign client (openssl + stompit) on $name', (descriptor) => {
  let broker: TestBroker;
  let dir: string;

  beforeAll(async () => {
    broker = await startTestBroker(descriptor);
    dir = makeTempDir('foreign');
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it.each(['ec', 'rsa'] as const)('%s certificates: request sealed by openssl, reply opened by openssl', async (algo) => {
    const pki = await makeTestPki({ algo });
    const queuePrefix = uniquePrefix();
    counter.reset();
    const worker = await Worker.start({
      stomp: { nodes: [roleNode(broker.descriptor, 'worker')] },
      identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
      trust: [pki.ca.certPem],
      providers: [counting],
      idempotency: { path: join(dir, `idem-${algo}-${randomUUID()}.sqlite`) },
      queuePrefix,
    });
    const client = await stompitConnect(broker);
    try {
      const id = randomUUID();
      const now = Date.now();
      const yaml = [
        'paygate: 1',
        'kind: request',
        `id: ${id}`,
        'idempotency_key: foreign-order-1',
        'provider: counting',
        'type: authorize',
        `sent_at: "${new Date(now).toISOString()}"`,
        `expires_at: "${new Date(now + 30_000).toISOString()}"`,
        'payload:',
        '  amount: {value: 1999, currency: EUR}',
        `  card: {number: "4111111111111111", exp_month: 12, exp_year: ${new Date().getFullYear() + 2}, cvc: "123"}`,
        '  order_id: foreign-order-1',
        '',
      ].join('\n');
      const body = sealWithOpenssl(yaml, pki, algo);
      writeFileSync(join(dir, `request-${algo}.p7m`), body);

      const replyTo = `/temp-queue/foreign-${randomUUID()}`;
      const reply = tempQueueReply(client, replyTo.slice('/temp-queue/'.length), descriptor.name);
      const headers = {
        destination: `${queuePrefix}counting`,
        'reply-to': replyTo,
        'correlation-id': id,
        'content-type': 'application/pkcs7-mime; smime-type=authEnveloped-data',
        persistent: 'true',
        expires: String(now + 30_000),
        'paygate-version': '1',
        'content-length': String(body.length),
      };
      client.send(headers as unknown as Parameters<Client['send']>[0]).end(body);

      const received = await reply;
      expect(received.headers['correlation-id']).toBe(id);
      expect(received.headers['paygate-version']).toBe('1');
      expect(received.headers['content-type']).toMatch(/^application\/pkcs7-mime; smime-type=authEnveloped-data/);
      const opened = openWithOpenssl(received.body, pki, dir);
      const document = parseYaml(opened.yaml) as Record<string, unknown>;
      expect(document).toMatchObject({
        paygate: 1,
        kind: 'reply',
        request_id: id,
        provider: 'counting',
        type: 'authorize',
        status: 'approved',
        result: { amount: { value: 1999, currency: 'EUR' } },
      });
      expect(counter.calls('foreign-order-1')).toBe(1);
      expect(received.body.toString('latin1')).not.toContain('4111111111111111');
    } finally {
      await new Promise<void>((resolve) => client.disconnect(() => resolve()));
      await worker.stop({ graceMs: 2_000 });
    }
  }, 30_000);
});
