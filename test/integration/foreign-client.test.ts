// Issue 4, acceptance 5: a client built from docs/wire-format.md alone. The request is signed and
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
import { parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { openssl, OAEP_SHA256 } from '../helpers/openssl.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { nodeOf } from './support.ts';
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

function stompitConnect(broker: TestBroker): Promise<Client> {
  const { host, port, login, passcode, vhost } = broker.descriptor;
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

/** Subscribes to `destination` and resolves with the first message's headers and body. */
function firstMessage(client: Client, destination: string): { ready: Promise<void>; message: Promise<{ headers: Record<string, string>; body: Buffer }> } {
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const message = new Promise<{ headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
    client.subscribe({ destination, ack: 'auto' } as unknown as Parameters<Client['subscribe']>[0], (error, incoming) => {
      if (error) return reject(error);
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const headers = Object.fromEntries(Object.entries(incoming.headers as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
        resolve({ headers, body: Buffer.concat(chunks) });
      });
    });
    // stompit has no subscribe receipt callback; a receipted no-op SEND after it orders the two.
    const probe = client.send({ destination: `${destination}.probe` } as unknown as Parameters<Client['send']>[0], { onReceipt: () => ready() } as Client.SendOptions);
    probe.end('');
  });
  return { ready: readyPromise, message };
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
      stomp: { nodes: [nodeOf(broker.descriptor)] },
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

      // §5: any reply destination the client can read; a plain queue works on every broker.
      const replyTo = `${queuePrefix}replies.${randomUUID()}`;
      const reply = firstMessage(client, replyTo);
      await reply.ready;
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

      const received = await reply.message;
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
