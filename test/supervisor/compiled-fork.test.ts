/**
 * The compiled gateway forks its workers from child.js with plain node: no loader flag, and tsx
 * absent from node_modules altogether. src/ is compiled into a temp folder (compiled-tree.ts),
 * a plain-node driver there forks one worker through WorkerProcess, and the worker must get
 * subscribed (ready) with the counting fixture plugin compiled alongside.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki } from '../helpers/pki.ts';
import { roleNode } from '../integration/support.ts';
import { childEntry } from '../../src/supervisor/worker-process.ts';
import { SupervisorError } from '../../src/supervisor/index.ts';
import { compiledFixture, compiledTree } from './compiled-tree.ts';

const DRIVER = `
import { openSync, readFileSync } from 'node:fs';
import { createLogger } from './src/logging.js';
import { childEntry, WorkerProcess } from './src/supervisor/worker-process.js';
const [configPath, logPath] = process.argv.slice(2);
const log = createLogger({ name: 'driver', level: 'warn' });
const worker = WorkerProcess.fork({ slot: 0, configText: readFileSync(configPath, 'utf8'), configPath, log, output: openSync(logPath, 'a') });
await worker.ready(60_000);
const cmdline = readFileSync('/proc/' + worker.pid + '/cmdline', 'utf8').split('\\0').filter((arg) => arg !== '');
worker.stop(1_000);
const exit = await worker.exited;
process.stdout.write(JSON.stringify({ entry: childEntry(), cmdline, exit }) + '\\n');
`;

describe('a worker process of the compiled gateway', () => {
  let tree: string;
  let broker: TestBroker;

  beforeAll(async () => {
    tree = compiledTree(['tsx']);
    broker = await startTestBroker(parseTestBrokers('embedded')[0]!);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('is forked from child.js with no loader, and serves without tsx installed', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const node = roleNode(broker.descriptor as typeof broker.descriptor & { port: number }, 'worker');
    const configPath = join(tree, 'worker.yaml');
    writeFileSync(configPath, [
      'brokers:',
      `  - {host: "${node.host}", port: ${node.port}, login: "${node.login}", passcode: "${node.passcode}"}`,
      `identity: {cert: "${pki.gateway.certPath}", key: "${pki.gateway.keyPath}"}`,
      `trust: {client_ca: ["${pki.ca.certPath}"]}`,
      'providers:',
      `  - {name: counting, module: "${compiledFixture(tree, 'counting-provider')}"}`,
      `idempotency: {path: "${join(tree, 'idempotency.sqlite')}"}`,
    ].join('\n'));
    writeFileSync(join(tree, 'driver.js'), DRIVER);
    expect(existsSync(join(tree, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(tree, 'node_modules', 'zod'))).toBe(true);

    const env = { ...process.env, NODE_OPTIONS: '' };
    const { stdout } = await promisify(execFile)(process.execPath, [join(tree, 'driver.js'), configPath, join(tree, 'worker.log')], { cwd: tree, env });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { entry: { file: string; execArgv: string[] }; cmdline: string[]; exit: { code: number | null } };

    expect(report.entry).toEqual({ file: join(tree, 'src', 'supervisor', 'child.js'), execArgv: [] });
    expect(report.cmdline).toEqual([process.execPath, join(tree, 'src', 'supervisor', 'child.js')]);
    expect(report.exit.code).toBe(0);
  });
});

describe('childEntry', () => {
  it('compiled: child.js next to the module, no node flags', () => {
    const folder = makeTempDir('entry');
    expect(childEntry(pathToFileURL(join(folder, 'worker-process.js')).href)).toEqual({ file: join(folder, 'child.js'), execArgv: [] });
  });

  it('from the sources: child.ts with tsx’s loader, by absolute URL', () => {
    const entry = childEntry(new URL('../../src/supervisor/worker-process.ts', import.meta.url).href);
    expect(entry.file).toBe(fileURLToPath(new URL('../../src/supervisor/child.ts', import.meta.url)));
    expect(entry.execArgv).toEqual(['--import', pathToFileURL(fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url))).href]);
  });

  it('from the sources without tsx installed: WORKER_START_FAILED saying what to do', () => {
    const folder = makeTempDir('entry');
    const error = (() => {
      try {
        childEntry(pathToFileURL(join(folder, 'worker-process.ts')).href);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SupervisorError);
    expect((error as SupervisorError).code).toBe('WORKER_START_FAILED');
    expect((error as SupervisorError).message).toMatch(/need tsx .*npm install/);
  });
});
