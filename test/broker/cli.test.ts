/**
 * `paygate broker` as operators run it: the real bin in a child process, a users file, a data
 * folder, SIGTERM, and one-line refusals with exit code 2.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseUsers } from '../../src/broker/index.ts';
import { RawClient, tempDir } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'paygate.js');

async function refusal(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [BIN, 'broker', ...args], { cwd: ROOT, timeout: 20_000 });
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr: string };
    if (typeof code === 'number') return { code, stderr };
    throw error;
  }
  throw new Error('paygate broker should have refused');
}

describe('paygate broker', () => {
  it('prints its URL, checks logins, and on SIGTERM sends ERROR to clients, keeps persistent messages and exits 0', async () => {
    const dir = tempDir();
    const users = join(dir, 'users');
    writeFileSync(users, '# login:passcode\nworker:w0rk:er\n\nshop:s\n', { mode: 0o600 });
    const data = join(dir, 'data');
    const start = (): Promise<{ child: ReturnType<typeof spawn>; port: number }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'broker', '--port', '0', '--data', data, '--users', users], { cwd: ROOT });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /^paygate broker listening on stomp:\/\/127\.0\.0\.1:(\d+)\n$/.exec(out);
          if (match) resolve({ child, port: Number(match[1]) });
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });

    const first = await start();
    const broker = { host: '127.0.0.1', port: first.port };
    await expect(RawClient.connect(broker, { login: 'worker', passcode: 'nope' })).rejects.toThrow(/authentication failed/);
    const client = await RawClient.connect(broker, { login: 'worker', passcode: 'w0rk:er' });
    await client.sendAndConfirm({ destination: '/queue/cli', persistent: 'true' }, 'survives');
    const exited = new Promise<number | null>((resolve) => first.child.on('exit', (code) => resolve(code)));
    first.child.kill('SIGTERM');
    expect((await client.expect('ERROR', 10_000)).headers.message).toBe('broker shutting down');
    expect(await exited).toBe(0);

    const second = await start();
    const reader = await RawClient.connect({ host: '127.0.0.1', port: second.port }, { login: 'shop', passcode: 's' });
    reader.send('SUBSCRIBE', { id: 's', destination: '/queue/cli' });
    expect((await reader.expect('MESSAGE', 5000)).body.toString()).toBe('survives');
    const secondExit = new Promise<number | null>((resolve) => second.child.on('exit', (code) => resolve(code)));
    second.child.kill('SIGTERM');
    expect(await secondExit).toBe(0);
  });

  it('refuses bad options with one line on stderr and exit code 2', async () => {
    const dir = tempDir();
    const badUsers = join(dir, 'users');
    writeFileSync(badUsers, 'no colon here\n');
    const results = await Promise.all([
      refusal('--port', '99999'),
      refusal('--users', join(dir, 'missing')),
      refusal('--users', badUsers),
      refusal('--bogus'),
    ]);
    for (const { code, stderr } of results) {
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(results[1]?.stderr).toMatch(/^paygate: FILE_UNREADABLE: --users /);
    expect(results[2]?.stderr).toMatch(/^paygate: BROKER_BAD_OPTION: users file line 1/);
  });
});

describe('users file', () => {
  it('reads login:passcode lines; the passcode may hold colons; comments and blank lines are skipped', () => {
    expect(parseUsers('# c\nalice:a:b\n\n  # indented comment\nbob:\n')).toEqual({ alice: 'a:b', bob: '' });
    expect(() => parseUsers('alice:1\nalice:2\n')).toThrow(/appears twice/);
    expect(() => parseUsers('# only comments\n')).toThrow(/names no user/);
    expect(() => parseUsers(':nologin\n')).toThrow(/line 1/);
  });
});
