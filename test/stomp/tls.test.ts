// TLS nodes: the client verifies the broker against the configured CA and presents its own
// certificate. A TLS front (Node's tls server, certificates of the test PKI) terminates TLS
// before the scripted STOMP server.
import { connect as netConnect } from 'node:net';
import { createServer } from 'node:tls';
import type { Server, TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { StompConnection, isStompError } from '../../src/stomp/index.ts';
import { makeForeignPki, makeTestPki } from '../helpers/pki.ts';
import { FakeStompServer } from './fake-server.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A TLS listener on 127.0.0.1 forwarding to `port`; records the client certificates it saw. */
async function tlsFront(port: number, cert: string, key: string): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const server: Server = createServer({ cert, key, requestCert: true, rejectUnauthorized: false }, (socket: TLSSocket) => {
    peers.push(String(socket.getPeerCertificate().subject?.CN ?? ''));
    const upstream = netConnect({ host: '127.0.0.1', port });
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, peers };
}

describe('TLS nodes', () => {
  it('connects with the CA, presents the client certificate, and refuses a broker of another CA', async () => {
    const [pki, foreign] = await Promise.all([makeTestPki({ algo: 'ec' }), makeForeignPki({ algo: 'ec' })]);
    const fake = await FakeStompServer.start();
    closers.push(() => fake.close());
    const front = await tlsFront(fake.port, pki.tls.certPem, pki.tls.keyPem);
    const tls = { ca: pki.ca.certPem, cert: pki.client.certPem, key: pki.client.keyPem };
    const c = await StompConnection.connect({ nodes: [{ host: '127.0.0.1', port: front.port, tls }] });
    closers.push(() => c.close());
    await c.send('/queue/x', 'over TLS', { receipt: true });
    expect(fake.received('SEND')[0]?.body).toBe('over TLS');
    expect(front.peers).toHaveLength(1);
    expect(front.peers[0]).not.toBe('');

    const err: unknown = await StompConnection.connect({
      nodes: [{ host: '127.0.0.1', port: front.port, tls: { ca: foreign.ca.certPem } }],
    }).catch((e: unknown) => e);
    expect(isStompError(err, 'STOMP_CANNOT_CONNECT')).toBe(true);
  });
});
