/**
 * Every flag of `paygate` that names a file or a folder, given one that cannot be read or
 * written: the real bin in a child process exits 2 with one line `paygate: FILE_UNREADABLE |
 * FILE_UNWRITABLE: --flag PATH: reason (ERRNO)`, and no stack trace. The tests run as root in CI
 * too, where permissions do not refuse anything: the failures used are a missing file, a
 * missing folder, a folder where a file is expected and a path through a regular file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Certificate, loadIdentity, seal } from '../../src/wire/index.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { runPaygate, writeClientConfig } from '../integration/request-path-support.ts';

const paygate = runPaygate;

type Code = 'FILE_UNREADABLE' | 'FILE_UNWRITABLE';

/** One refusal: the command line, and what its one stderr line must say. */
interface Case {
  readonly name: string;
  readonly args: () => string[];
  readonly code: Code;
  readonly flag: string;
  readonly path: () => string;
  readonly errno: 'ENOENT' | 'EISDIR' | 'ENOTDIR' | 'EEXIST';
}

let pki: TestPki;
let dir: string;
let clientConfig: string;
/** Paths that cannot be used, of each kind. */
const bad = {
  /** A file that does not exist. */
  missing: (): string => join(dir, 'missing.pem'),
  /** A folder where a file is expected. */
  folder: (): string => dir,
  /** A file in a folder that does not exist: cannot be created. */
  noFolder: (): string => join(dir, 'no-such-folder', 'out.txt'),
  /** A path through a regular file: cannot be created, as a file or a folder. */
  throughFile: (): string => join(dir, 'plain-file', 'sub'),
};
/** Inputs that work, so that the flag under test is the one refused. */
const good = {
  yaml: (): string => join(dir, 'doc.yaml'),
  sealed: (): string => join(dir, 'doc.smime'),
  output: (): string => join(dir, 'out-ok.txt'),
  anyFile: (): string => join(dir, 'plain-file'),
};

beforeAll(async () => {
  pki = await makeTestPki({ algo: 'ec' });
  dir = makeTempDir('cli-file-errors');
  writeFileSync(good.anyFile(), 'a regular file\n');
  writeFileSync(good.yaml(), 'hello: world\n');
  const gateway = Certificate.from(pki.gateway.certPem);
  writeFileSync(good.sealed(), seal(Buffer.from('hello: world\n'), { recipients: [gateway], signer: loadIdentity(pki.client.certPem, pki.client.keyPem) }));
  // A valid client config (nothing listens on its broker port: the refusal comes first).
  clientConfig = writeClientConfig(dir, { host: '127.0.0.1', port: 1, login: 'shop', passcode: 'unused', vhost: '/' }, pki, '/queue/paygate.');
});

const openArgs = (over: Record<string, string>): string[] => {
  const o = { '--cert': pki.gateway.certPath, '--key': pki.gateway.keyPath, '--trust': pki.ca.certPath, '--in': good.sealed(), '--out': good.output(), ...over };
  return ['open', '--quiet', ...Object.entries(o).flat()];
};
const sealArgs = (over: Record<string, string>): string[] => {
  const o = { '--recipient': pki.gateway.certPath, '--signer-cert': pki.client.certPath, '--signer-key': pki.client.keyPath, '--in': good.yaml(), '--out': good.output(), ...over };
  return ['seal', ...Object.entries(o).flat()];
};
const brokerArgs = (...more: string[]): string[] => ['broker', '--port', '0', ...more];

const CASES: Case[] = [
  { name: 'open --cert', args: () => openArgs({ '--cert': bad.missing() }), code: 'FILE_UNREADABLE', flag: '--cert', path: bad.missing, errno: 'ENOENT' },
  { name: 'open --key', args: () => openArgs({ '--key': bad.folder() }), code: 'FILE_UNREADABLE', flag: '--key', path: bad.folder, errno: 'EISDIR' },
  { name: 'open --trust', args: () => openArgs({ '--trust': bad.missing() }), code: 'FILE_UNREADABLE', flag: '--trust', path: bad.missing, errno: 'ENOENT' },
  { name: 'open --in', args: () => openArgs({ '--in': bad.missing() }), code: 'FILE_UNREADABLE', flag: '--in', path: bad.missing, errno: 'ENOENT' },
  { name: 'open --out', args: () => openArgs({ '--out': bad.noFolder() }), code: 'FILE_UNWRITABLE', flag: '--out', path: bad.noFolder, errno: 'ENOENT' },
  { name: 'open --signer-out', args: () => [...openArgs({}), '--signer-out', bad.folder()], code: 'FILE_UNWRITABLE', flag: '--signer-out', path: bad.folder, errno: 'EISDIR' },
  { name: 'seal --recipient', args: () => sealArgs({ '--recipient': bad.folder() }), code: 'FILE_UNREADABLE', flag: '--recipient', path: bad.folder, errno: 'EISDIR' },
  { name: 'seal --signer-cert', args: () => sealArgs({ '--signer-cert': bad.missing() }), code: 'FILE_UNREADABLE', flag: '--signer-cert', path: bad.missing, errno: 'ENOENT' },
  { name: 'seal --signer-key', args: () => sealArgs({ '--signer-key': bad.throughFile() }), code: 'FILE_UNREADABLE', flag: '--signer-key', path: bad.throughFile, errno: 'ENOTDIR' },
  { name: 'seal --in', args: () => sealArgs({ '--in': bad.missing() }), code: 'FILE_UNREADABLE', flag: '--in', path: bad.missing, errno: 'ENOENT' },
  { name: 'seal --out', args: () => sealArgs({ '--out': bad.throughFile() }), code: 'FILE_UNWRITABLE', flag: '--out', path: bad.throughFile, errno: 'ENOTDIR' },
  { name: 'request --config', args: () => ['request', 'card', 'authorize', '--data', good.yaml(), '--config', bad.missing()], code: 'FILE_UNREADABLE', flag: '--config', path: bad.missing, errno: 'ENOENT' },
  { name: 'request --data', args: () => ['request', 'counting', 'authorize', '--data', bad.missing(), '--config', clientConfig], code: 'FILE_UNREADABLE', flag: '--data', path: bad.missing, errno: 'ENOENT' },
  { name: 'worker --config', args: () => ['worker', '--config', bad.folder()], code: 'FILE_UNREADABLE', flag: '--config', path: bad.folder, errno: 'EISDIR' },
  { name: 'gateway --config', args: () => ['gateway', '--config', bad.missing()], code: 'FILE_UNREADABLE', flag: '--config', path: bad.missing, errno: 'ENOENT' },
  { name: 'gateway --config --check', args: () => ['gateway', '--check', '--config', bad.missing()], code: 'FILE_UNREADABLE', flag: '--config', path: bad.missing, errno: 'ENOENT' },
  { name: 'gateway --pid-file', args: () => ['gateway', '--config', good.anyFile(), '--pid-file', bad.noFolder()], code: 'FILE_UNWRITABLE', flag: '--pid-file', path: bad.noFolder, errno: 'ENOENT' },
  { name: 'broker --users', args: () => brokerArgs('--users', bad.missing()), code: 'FILE_UNREADABLE', flag: '--users', path: bad.missing, errno: 'ENOENT' },
  { name: 'broker --tls-cert', args: () => brokerArgs('--tls-cert', bad.missing(), '--tls-key', pki.tls.keyPath), code: 'FILE_UNREADABLE', flag: '--tls-cert', path: bad.missing, errno: 'ENOENT' },
  { name: 'broker --tls-key', args: () => brokerArgs('--tls-cert', pki.tls.certPath, '--tls-key', bad.folder()), code: 'FILE_UNREADABLE', flag: '--tls-key', path: bad.folder, errno: 'EISDIR' },
  { name: 'broker --tls-ca', args: () => brokerArgs('--tls-cert', pki.tls.certPath, '--tls-key', pki.tls.keyPath, '--tls-ca', bad.missing()), code: 'FILE_UNREADABLE', flag: '--tls-ca', path: bad.missing, errno: 'ENOENT' },
  { name: 'broker --data', args: () => brokerArgs('--data', bad.throughFile()), code: 'FILE_UNWRITABLE', flag: '--data', path: bad.throughFile, errno: 'ENOTDIR' },
  { name: 'broker --pid-file', args: () => brokerArgs('--pid-file', bad.noFolder()), code: 'FILE_UNWRITABLE', flag: '--pid-file', path: bad.noFolder, errno: 'ENOENT' },
  { name: 'certs init --dir', args: () => ['certs', 'init', '--dir', bad.throughFile()], code: 'FILE_UNWRITABLE', flag: '--dir', path: bad.throughFile, errno: 'ENOTDIR' },
  { name: 'certs issue --ca-dir', args: () => ['certs', 'issue', '--role', 'client', '--ca-dir', bad.folder(), '--name', 'x', '--out', dir], code: 'FILE_UNREADABLE', flag: '--ca-dir', path: () => join(bad.folder(), 'ca.crt'), errno: 'ENOENT' },
  { name: 'certs issue --out', args: () => ['certs', 'issue', '--role', 'client', '--ca-dir', pki.dir, '--name', 'x', '--out', bad.throughFile(), '--algo', 'ec'], code: 'FILE_UNWRITABLE', flag: '--out', path: bad.throughFile, errno: 'ENOTDIR' },
  { name: 'demo --dir', args: () => ['demo', '--dir', bad.throughFile()], code: 'FILE_UNWRITABLE', flag: '--dir', path: bad.throughFile, errno: 'ENOTDIR' },
  { name: 'demo --pid-file', args: () => ['demo', '--pid-file', bad.noFolder()], code: 'FILE_UNWRITABLE', flag: '--pid-file', path: bad.noFolder, errno: 'ENOENT' },
];

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a file named by a flag that cannot be used: exit 2, one line naming the flag, the path and why, no stack trace', () => {
  it.concurrent.each(CASES)('$name', async ({ args, code, flag, path, errno }) => {
    const run = await paygate(args());
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^paygate: ${code}: ${escape(flag)} ${escape(path())}: [a-z ,]+ \\(${errno}\\)\\n$`));
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
