/**
 * `paygate broker` as operators run it: the real bin in a child process, a YAML users file with
 * hashes from `paygate broker hash-password`, a data folder, SIGTERM, the expired-message log
 * line, and one-line refusals with exit code 2.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/broker/index.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { brokerCliRefusal, startBrokerCli, stopBrokerCli } from '../helpers/broker-cli.ts';
import { RawClient, tempDir } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'paygate.js');

/** `paygate broker hash-password …` with `input` on stdin. */
function hashPasswordCli(input: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'broker', 'hash-password', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('paygate broker', () => {
  it('runs with a YAML users file, logs expired drops without content, and on SIGTERM keeps persistent messages and exits 0', async () => {
    const dir = tempDir();
    const [shop, operator] = await Promise.all([hashPasswordCli('sh:op pass\n', '--cost', '10'), hashPasswordCli('0per\n', '--cost', '10')]);
    const users = join(dir, 'users.yaml');
    const yaml = `# paygate broker users\nusers:\n  shop:\n    password: "${shop.stdout.trim()}"\n    role: storefront\n  ops: { password: "${operator.stdout.trim()}", role: operator }\n`;
    writeFileSync(users, yaml, { mode: 0o600 });
    const data = join(dir, 'data');

    const first = await startBrokerCli(['--data', data, '--users', users]);
    const broker = { host: '127.0.0.1', port: first.port };
    await expect(RawClient.connect(broker, { login: 'shop', passcode: 'nope' })).rejects.toThrow(/authentication failed/);
    const client = await RawClient.connect(broker, { login: 'shop', passcode: 'sh:op pass' });
    await client.sendAndConfirm({ destination: '/queue/paygate.cli', persistent: 'true' }, 'survives');
    await client.sendAndConfirm({ destination: '/queue/paygate.cli', expires: String(Date.now() - 5000), 'x-note': 'private-header' }, 'secret body');
    const logged = await first.stderrLine(/expired/);
    expect(logged).toMatch(/^paygate broker: expired: dropped ID:\S+ from \/queue\/paygate\.cli, \d+ ms after its expires$/);
    expect(logged).not.toMatch(/secret body|private-header/);
    const stopped = stopBrokerCli(first);
    expect((await client.expect('ERROR', 10_000)).headers.message).toBe('broker shutting down');
    expect(await stopped).toBe(0);

    const second = await startBrokerCli(['--data', data, '--users', users]);
    const reader = await RawClient.connect({ host: '127.0.0.1', port: second.port }, { login: 'ops', passcode: '0per' });
    reader.send('SUBSCRIBE', { id: 's', destination: '/queue/paygate.cli' });
    expect((await reader.expect('MESSAGE', 5000)).body.toString()).toBe('survives');
    expect(await stopBrokerCli(second)).toBe(0);
  });

  it('remembers after a SIGKILL which stored messages it had handed out: they come back redelivered, the others not', async () => {
    const data = join(tempDir(), 'data');
    const first = await startBrokerCli(['--data', data]);
    const broker = { host: '127.0.0.1', port: first.port };
    const producer = await RawClient.connect(broker);
    for (const name of ['held', 'waiting']) await producer.sendAndConfirm({ destination: '/queue/crash', persistent: 'true', 'x-name': name }, name);
    const consumer = await RawClient.connect(broker);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/crash', ack: 'client-individual', 'prefetch-count': '1' });
    const delivered = await consumer.expect('MESSAGE');
    expect([delivered.headers['x-name'], delivered.headers.redelivered]).toEqual(['held', undefined]);
    // A receipt waits for the group commit that holds the delivery count (the window documented in broker.md).
    consumer.send('BEGIN', { transaction: 't', receipt: 'committed' });
    await consumer.waitReceipt('committed');
    const killed = new Promise((resolve) => first.child.on('exit', (_code, signal) => resolve(signal)));
    first.child.kill('SIGKILL');
    expect(await killed).toBe('SIGKILL');

    const second = await startBrokerCli(['--data', data]);
    const after = await RawClient.connect({ host: '127.0.0.1', port: second.port });
    after.send('SUBSCRIBE', { id: 's', destination: '/queue/crash', ack: 'client-individual' });
    const [held, waiting] = [await after.expect('MESSAGE', 5000), await after.expect('MESSAGE', 5000)];
    expect([held.headers['x-name'], held.headers.redelivered]).toEqual(['held', 'true']);
    expect([waiting.headers['x-name'], waiting.headers.redelivered]).toEqual(['waiting', undefined]);
    expect(await stopBrokerCli(second)).toBe(0);
  });

  it('speaks STOMP over TLS with --tls-cert and --tls-key, and requires client certificates with --tls-ca', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const running = await startBrokerCli(['--tls-cert', pki.tls.certPath, '--tls-key', pki.tls.keyPath]);
    expect(running.url).toBe(`stomp+ssl://127.0.0.1:${running.port}`);
    const trust = { ca: pki.ca.certPem, servername: 'localhost' };
    const client = await RawClient.connect({ host: '127.0.0.1', port: running.port }, {}, trust);
    await client.sendAndConfirm({ destination: '/queue/tls' }, 'x');
    expect(await stopBrokerCli(running)).toBe(0);

    const strict = await startBrokerCli(['--tls-cert', pki.tls.certPath, '--tls-key', pki.tls.keyPath, '--tls-ca', pki.ca.certPath]);
    const broker = { host: '127.0.0.1', port: strict.port };
    await expect(RawClient.connect(broker, {}, trust)).rejects.toThrow();
    const withCert = await RawClient.connect(broker, {}, { ...trust, cert: pki.client.certPem, key: pki.client.keyPem });
    expect(withCert.connected.version).toBe('1.2');
    expect(await stopBrokerCli(strict)).toBe(0);
  });

  it('hash-password prints a PHC string of the password on stdin (cost as asked), and refuses an empty one', async () => {
    const made = await hashPasswordCli('correct horse\n', '--cost', '10');
    expect(made.code).toBe(0);
    const phc = made.stdout.trim();
    expect(phc).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(phc, 'correct horse')).toBe(true);
    expect(await verifyPassword(phc, 'correct horse\n')).toBe(false);
    const empty = await hashPasswordCli('\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('paygate: BROKER_BAD_OPTION: hash-password: empty password on stdin\n');
    expect((await hashPasswordCli('x\n', '--cost', '40')).code).toBe(2);
  });

  it('refuses bad options with one line on stderr and exit code 2', async () => {
    const dir = tempDir();
    const oldUsers = join(dir, 'users');
    writeFileSync(oldUsers, '# login:passcode\nworker:w0rk:er\n');
    const plainPassword = join(dir, 'plain.yaml');
    writeFileSync(plainPassword, 'users:\n  shop: { password: s3cret, role: storefront }\n');
    const results = await Promise.all([
      brokerCliRefusal('--port', '99999'),
      brokerCliRefusal('--users', join(dir, 'missing')),
      brokerCliRefusal('--users', oldUsers),
      brokerCliRefusal('--bogus'),
      brokerCliRefusal('--host', '0.0.0.0', '--port', '0'),
      brokerCliRefusal('--users', plainPassword),
      brokerCliRefusal('--tls-cert', oldUsers),
    ]);
    for (const { code, stderr } of results) {
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(results[1]?.stderr).toMatch(/^paygate: FILE_UNREADABLE: --users /);
    expect(results[2]?.stderr).toMatch(/^paygate: BROKER_BAD_OPTION: users file: the login:passcode format is no longer read; .*hash-password/);
    expect(results[4]?.stderr).toMatch(/^paygate: BROKER_BAD_OPTION: host 0\.0\.0\.0 is not loopback and no users are configured.*--users FILE/);
    expect(results[5]?.stderr).toMatch(/^paygate: BROKER_BAD_OPTION: users file: users\.shop\.password: expected "\$scrypt\$/);
    expect(results[6]?.stderr).toMatch(/^paygate: BROKER_BAD_OPTION: --tls-cert and --tls-key go together/);
  });
});
