/**
 * `paygate certs init` as users run it: the real bin (tsx) in a child process, the real files.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEV_PKI_FILES } from '../../src/certs/devca.ts';
import { Certificate, SIGNER_ROLE_OIDS, signerRolesOf } from '../../src/wire/index.ts';
import { makeTempDir, makeTestPki, openssl } from '../helpers/pki.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'paygate.js');
const NAMES = DEV_PKI_FILES.map((f) => f.name);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function paygate(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown; stdout: string; stderr: string };
    if (typeof code !== 'number') throw error;
    return { code, stdout, stderr };
  }
}

/** Content and mtime of every file, to prove a refused run touched nothing. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => [name, `${statSync(join(dir, name)).mtimeMs}:${readFileSync(join(dir, name), 'utf8')}`]),
  );
}

function keyText(dir: string, name: string): string {
  return openssl(['x509', '-in', join(dir, name), '-noout', '-text']).toString();
}

// Every run pays ~0.7 s of tsx start-up, so the suite keeps to few runs: RSA-3072 and the
// key profiles are covered in-process by test/certs/devca.test.ts; this file covers the command.
describe('paygate certs init', () => {
  it.concurrent('writes the ten files, refuses to overwrite them, and replaces them with --force', async () => {
    const dir = join(makeTempDir('cli'), 'certs', 'dev');
    const first = await paygate('certs', 'init', '--dir', dir);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(dir).sort()).toEqual([...NAMES].sort());
    for (const f of DEV_PKI_FILES) {
      expect(statSync(join(dir, f.name)).mode & 0o777, f.name).toBe(f.name.endsWith('.key') ? 0o600 : 0o644);
      // One line per file saying what it is for.
      expect(first.stdout).toMatch(new RegExp(`^ +${f.name.replace('.', '\\.')} +${f.purpose.slice(0, 20)}`, 'm'));
    }
    expect(first.stdout).toContain(`RSA 2048) to ${dir}`);
    // The signer roles, with their OIDs: the gateway signs replies, the client requests.
    expect(first.stdout).toMatch(new RegExp(`^ +gateway\\.crt +gateway +${SIGNER_ROLE_OIDS.gateway.replaceAll('.', '\\.')} +signs replies`, 'm'));
    expect(first.stdout).toMatch(new RegExp(`^ +client\\.crt +client +${SIGNER_ROLE_OIDS.client.replaceAll('.', '\\.')} +signs requests`, 'm'));
    expect(first.stdout).toMatch(new RegExp(`^ +feed\\.crt +feed +${SIGNER_ROLE_OIDS.feed.replaceAll('.', '\\.')} +signs audit checkpoints`, 'm'));
    expect(keyText(dir, 'gateway.crt')).toContain('Public-Key: (2048 bit)');
    const verify = ['verify', '-CAfile', join(dir, 'ca.crt'), '-purpose', 'smimesign', join(dir, 'client.crt')];
    expect(openssl(verify).toString()).toContain('OK');

    const before = snapshot(dir);
    const again = await paygate('certs', 'init', '--dir', dir);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`error: ${join(dir, 'ca.crt')} already exists; use --force to overwrite it\n`);
    expect(snapshot(dir)).toEqual(before);

    const forced = await paygate('certs', 'init', '--dir', dir, '--algo', 'ec', '--force');
    expect(forced).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).not.toBe(before['ca.crt']);
    expect(keyText(dir, 'ca.crt')).toContain('NIST CURVE: P-256');
    expect(readdirSync(dir).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(statSync(join(dir, name)).mode & 0o777).toBe(name.endsWith('.key') ? 0o600 : 0o644);
  });

  it.concurrent('rejects bad values with exit code 2 and one stderr line, writing nothing', async () => {
    const dir = join(makeTempDir('cli'), 'out');
    const cases: [string[], RegExp][] = [
      [['--dir', dir, '--algo', 'dsa'], /^error: option '--algo <algo>' argument 'dsa' is invalid\. Allowed choices are rsa, ec\.\n$/],
      [['--dir', dir, '--bits', '1024'], /^error: option '--bits <bits>' argument '1024' is invalid\. Allowed choices are 2048, 3072\.\n$/],
      [['--dir', dir, '--algo', 'ec', '--bits', '2048'], /^error: option '--bits' applies to --algo rsa only .*\n$/],
    ];
    const runs = await Promise.all(cases.map(([args]) => paygate('certs', 'init', ...args)));
    for (const [i, run] of runs.entries()) {
      expect(run.code, cases[i]![0].join(' ')).toBe(2);
      expect(run.stderr).toMatch(cases[i]![1]);
      expect(run.stdout).toBe('');
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describe('paygate certs issue', () => {
  it.concurrent('issues a client certificate with the client role from a dev CA, and refuses what it cannot do with exit code 2', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const out = makeTempDir('cli-issue');
    const run = await paygate('certs', 'issue', '--role', 'client', '--ca-dir', pki.dir, '--name', 'shop-2', '--out', out, '--algo', 'ec');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const certPath = join(out, 'shop-2.crt');
    expect(run.stdout).toContain(`${certPath}  signer role client (${SIGNER_ROLE_OIDS.client})`);
    expect(readdirSync(out).sort()).toEqual(['shop-2.crt', 'shop-2.key']);
    expect(statSync(join(out, 'shop-2.key')).mode & 0o777).toBe(0o600);
    expect(signerRolesOf(Certificate.from(readFileSync(certPath, 'utf8')))).toEqual(['client']);
    expect(openssl(['verify', '-CAfile', pki.ca.certPath, '-purpose', 'smimesign', certPath]).toString()).toBe(`${certPath}: OK\n`);

    const runs = await Promise.all([
      paygate('certs', 'issue', '--role', 'client', '--ca-dir', pki.dir, '--name', 'shop-2', '--out', out),
      paygate('certs', 'issue', '--role', 'auditor', '--ca-dir', pki.dir, '--name', 'x', '--out', out),
      paygate('certs', 'issue', '--role', 'gateway', '--ca-dir', join(out, 'nowhere'), '--name', 'x', '--out', out),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(runs[0]?.stderr).toBe(`error: ${certPath} already exists; use --force to overwrite it\n`);
    expect(runs[1]?.stderr).toMatch(/^error: option '--role <role>' argument 'auditor' is invalid\. Allowed choices are client, gateway, feed\.\n$/);
    expect(runs[2]?.stderr).toMatch(/^paygate: FILE_UNREADABLE: --ca-dir .*nowhere\/ca\.crt: no such file or directory \(ENOENT\)\n$/);
    expect(readdirSync(out).sort()).toEqual(['shop-2.crt', 'shop-2.key']);
  });
});
