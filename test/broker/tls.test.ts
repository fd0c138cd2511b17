/**
 * STOMP over TLS: real TLS (node's tls, certificates of the test PKI), with node's tls socket and
 * with the project's StompConnection; client certificates when `requestCert` is on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../src/broker/index.ts';
import { StompConnection } from '../../src/stomp/index.ts';
import { openssl } from '../helpers/openssl.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { RawClient, startBroker, tempDir, usersWith } from './helpers.ts';

/** A self-signed certificate and key made by OpenSSL: a stranger to the test PKI. */
function stranger(): { cert: string; key: string } {
  const dir = tempDir();
  const [cert, key] = [join(dir, 'stranger.crt'), join(dir, 'stranger.key')];
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost']
    .concat(['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert]));
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe('STOMP over TLS', () => {
  it('serves CONNECT, SEND and SUBSCRIBE over TLS, says stomp+ssl://, and speaks no plain STOMP on that port', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const users = await usersWith({ ops: { password: 'pw', role: 'operator' } });
    const broker = await startBroker({ users, tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
    expect(broker.url).toBe(`stomp+ssl://127.0.0.1:${broker.port}`);

    const client = await RawClient.connect(broker, { login: 'ops', passcode: 'pw' }, { ca: pki.ca.certPem, servername: 'localhost' });
    expect(client.socket.constructor.name).toBe('TLSSocket');
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/paygate.tls' });
    await client.sendAndConfirm({ destination: '/queue/paygate.tls' }, 'over TLS');
    expect((await client.expect('MESSAGE')).body.toString()).toBe('over TLS');

    await expect(RawClient.connect(broker, { login: 'ops', passcode: 'pw' })).rejects.toThrow(/connection closed/);
    // A client that trusts another CA refuses the broker (and the broker is not left with a half-open socket).
    await expect(RawClient.connect(broker, {}, { ca: stranger().cert, servername: 'localhost' })).rejects.toThrow(/self-signed|unable to (get|verify)|certificate/i);
  });

  it('works with the project’s StompConnection and its tls node options', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const users = await usersWith({ ops: { password: 'pw', role: 'operator' } });
    const broker = await startBroker({ users, tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
    const connection = await StompConnection.connect({
      nodes: [{ host: '127.0.0.1', port: broker.port, login: 'ops', passcode: 'pw', tls: { ca: pki.ca.certPem } }],
    });
    try {
      await connection.send('/queue/paygate.sdk', 'through src/stomp', { receipt: true });
    } finally {
      await connection.close();
    }
    const reader = await RawClient.connect(broker, { login: 'ops', passcode: 'pw' }, { ca: pki.ca.certPem, servername: 'localhost' });
    reader.send('SUBSCRIBE', { id: 's', destination: '/queue/paygate.sdk' });
    expect((await reader.expect('MESSAGE')).body.toString()).toBe('through src/stomp');
  });

  it('with requestCert, accepts only clients with a certificate of the given CA', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const foreign = stranger();
    const broker = await startBroker({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem, ca: pki.ca.certPem, requestCert: true } });
    const trust = { ca: pki.ca.certPem, servername: 'localhost' };
    const ok = await RawClient.connect(broker, {}, { ...trust, cert: pki.client.certPem, key: pki.client.keyPem });
    expect(ok.connected.version).toBe('1.2');
    await expect(RawClient.connect(broker, {}, trust)).rejects.toThrow(/certificate|connection closed|socket hang up|ECONNRESET/i);
    await expect(RawClient.connect(broker, {}, { ...trust, ...foreign })).rejects.toThrow(
      /certificate|connection closed|socket hang up|ECONNRESET|unknown ca/i,
    );
  });

  it('ends a connection that never completes the TLS handshake, after connectTimeout', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const broker = await startBroker({ connectTimeout: 200, tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
    const silent = await RawClient.open(broker);
    await silent.closed;
    expect(broker.connectionCount).toBe(0);
  });

  it('refuses unusable TLS options with BROKER_BAD_OPTION before listening', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    await expect(EmbeddedBroker.start({ port: 0, tls: { cert: 'not a pem', key: pki.tls.keyPem } })).rejects.toMatchObject({
      code: 'BROKER_BAD_OPTION',
      message: /^tls: cannot use the certificate and key/,
    });
    await expect(EmbeddedBroker.start({ port: 0, tls: { cert: pki.tls.certPem, key: pki.client.keyPem } })).rejects.toMatchObject({ code: 'BROKER_BAD_OPTION' });
    await expect(EmbeddedBroker.start({ port: 0, tls: { cert: pki.tls.certPem, key: pki.tls.keyPem, requestCert: true } })).rejects.toMatchObject({
      code: 'BROKER_BAD_OPTION',
      message: /requestCert needs ca/,
    });
  });
});
