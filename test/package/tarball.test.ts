/**
 * paygate as a new user gets it: `npm pack` of this work tree, installed into a fresh project
 * outside the repository with install scripts enabled. Then, from that project only:
 * - its storefront (TypeScript, `strict` + `exactOptionalPropertyTypes`) compiles against the
 *   typed SDK and the `card` plugin, and a field card's authorize does not have is a compile error;
 * - plain node (no tsx installed anywhere in the project) runs it against `paygate broker` and
 *   `paygate gateway` started from the installed bin: an authorize then a capture are approved
 *   (the card sandbox answers, in this process, over HTTPS with the project's dev certificates);
 * - importing `paygate` and `paygate/providers/card` loads none of the server side (transports,
 *   store, logging, CLI);
 * - a plugin package of the project's own (`acme-plugin`, plain JS on `paygate/provider`), named
 *   in the gateway config by package name, is loaded by the workers and answers;
 * - `paygate demo --serve` from the installed bin starts everything and stops on a SIGTERM sent
 *   to the pid its `--pid-file` holds.
 * The tarball must hold no tests, benchmarks, CI files, patches or private keys; its file count
 * and size are printed for the record.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCardSandbox, type CardSandbox } from '../../providers/card/sandbox/index.ts';
import { pack, stageTree, type PackResult } from './support/pack.ts';
import { run, startService, tail, type RunResult, type Service } from './support/processes.ts';
import { addFixtures, installProject, seedSqlitePrebuild, tsc, unmarkedStorefront } from './support/project.ts';

/** Assembled, so that no tracked file holds a private-key PEM header verbatim. */
const PRIVATE_KEY_BLOCK = new RegExp(`-----BEGIN (?:[A-Z]+ )?${'PRIVATE'} KEY-----\\s+[A-Za-z0-9+/=\\s]{64,}-----END`);
/** What must never be in the tarball. */
const NOT_SHIPPED = /^(?:test|bench|\.ci|patches|certs|\.github)\/|\.(?:key|pem|p12|tgz)$|\.test\.(?:[cm]?js|d\.[cm]?ts)$|(?:^|\/)test-support\.|(?:^|\/)node_modules\//;
/** What a storefront importing the SDK and a plugin must not load: transports, store, logging, metrics, CLI, cert tools. */
const SERVER_SIDE_PACKAGES = new Set(['soap', 'axios', 'undici', 'fast-xml-parser', 'xmlbuilder2', 'better-sqlite3', 'pino', 'prom-client', 'commander', '@peculiar/x509']);
/** paygate's own server side; of the transports' folder only the transcript scrubbers are plain code a plugin's `scrub` uses. */
const SERVER_SIDE_FILES = /^dist\/(?:src\/(?:worker|broker|supervisor|cli|certs)\/|src\/providers\/transports\/(?!scrub\.js$)|providers\/[^/]+\/sandbox\/)/;
/** tsc over the installed types, or a storefront's process: seconds alone, more beside a full test run. */
const SLOW_STEP_MS = 120_000;
const SANDBOX_LOGIN = { username: 'shop-merchant', password: 'package-test-password' };

let root: string;
let project: string;
let packed: PackResult;
let compiling: Promise<RunResult> | undefined;

/** The storefront compiled by the project's tsconfig (build/storefront.js), once. */
function compileStorefront(): Promise<RunResult> {
  compiling ??= tsc(project, 'tsconfig.json');
  return compiling;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'paygate-package-'));
  project = join(root, 'storefront');
  stageTree(join(root, 'stage'));
  packed = await pack(join(root, 'stage'), root);
  await installProject(project, packed.tarball, seedSqlitePrebuild(join(root, 'prebuilds')));
  addFixtures(project);
}, 300_000);

afterAll(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('the tarball', () => {
  it('ships the compiled package, bin and docs only: no tests, benchmarks, CI files, patches or keys', () => {
    process.stdout.write(`paygate tarball: ${packed.entryCount} files, ${packed.unpackedSize} bytes unpacked, ${packed.size} bytes packed\n`);
    expect(packed.files.filter((file) => NOT_SHIPPED.test(file))).toEqual([]);
    expect(packed.files).toEqual(expect.arrayContaining(['package.json', 'bin/paygate.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/provider.js', 'dist/providers/card/index.js']));
    expect(packed.files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('examples/'))).toEqual([]);
    const installed = join(project, 'node_modules/paygate');
    expect(filesUnder(installed).filter((file) => PRIVATE_KEY_BLOCK.test(readFileSync(file, 'latin1')))).toEqual([]);
  });

  it('installs with its install scripts: better-sqlite3 built, no tsx, no patch-package', () => {
    expect(existsSync(join(project, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
    expect(existsSync(join(project, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(project, 'node_modules/patch-package'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/paygate/package.json'), 'utf8')) as { scripts?: Record<string, string> };
    expect(manifest.scripts?.postinstall).toBeUndefined();
  });
});

describe('a TypeScript storefront against the installed types', () => {
  it('compiles with strict and exactOptionalPropertyTypes (its @ts-expect-error used)', async () => {
    const compiled = await compileStorefront();
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.code).toBe(0);
    expect(existsSync(join(project, 'build/storefront.js'))).toBe(true);
  }, SLOW_STEP_MS);

  it('refuses a field card authorize does not have, where the directive said', async () => {
    const { project: config, line } = unmarkedStorefront(project);
    const checked = await tsc(project, config);
    const errors = checked.stdout.split('\n').filter((text) => /error TS\d+/.test(text));
    expect(errors).toEqual([expect.stringMatching(new RegExp(`^src/storefront-unmarked\\.ts\\(${line},\\d+\\): error TS2353: .*'order_id'`))]);
    expect(checked.code).not.toBe(0);
  }, SLOW_STEP_MS);
});

describe('a storefront import of the installed package', () => {
  it('loads the SDK and the card plugin without their server side', async () => {
    const probe = await run(process.execPath, ['list-loads.mjs', 'paygate', 'paygate/providers/card'], { cwd: project });
    expect(probe.code, tail(probe.stderr)).toBe(0);
    const files = probe.stderr.split('\n').flatMap((line) => (line.startsWith('loaded file:') ? [fileURLToPath(line.slice('loaded '.length))] : []));
    const packages = new Set(files.flatMap((file) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1] ?? []));
    const ownFiles = files.flatMap((file) => /\/node_modules\/paygate\/(.+)$/.exec(file)?.[1] ?? []);
    expect(ownFiles).toEqual(expect.arrayContaining(['dist/src/index.js', 'dist/providers/card/index.js']));
    expect([...packages].filter((name) => SERVER_SIDE_PACKAGES.has(name))).toEqual([]);
    expect(ownFiles.filter((file) => SERVER_SIDE_FILES.test(file))).toEqual([]);
  });
});

describe('plain node against the installed bin', () => {
  const bin = (): string => join(project, 'node_modules/.bin/paygate');
  let sandbox: CardSandbox | undefined;
  let broker: Service<number> | undefined;
  let gateway: Service<string> | undefined;

  beforeAll(async () => {
    const certs = await run(bin(), ['certs', 'init', '--dir', 'certs', '--algo', 'ec'], { cwd: project });
    expect(certs.code, tail(certs.stderr)).toBe(0);
    const pem = (name: string): string => readFileSync(join(project, 'certs', name), 'utf8');
    sandbox = await startCardSandbox({ tls: { cert: pem('tls.crt'), key: pem('tls.key') }, ...SANDBOX_LOGIN });
    broker = await startService(bin(), ['broker', '--port', '0', '--pid-file', 'broker.pid'], { cwd: project }, (line) => {
      const port = /listening on stomp:\/\/[^:]+:(\d+)/.exec(line)?.[1];
      return port === undefined ? undefined : Number(port);
    });
    writeFileSync(join(project, 'gateway.yaml'), gatewayConfig(broker.ready, sandbox.url));
    gateway = await startService(bin(), ['gateway', '--config', 'gateway.yaml', '--pid-file', 'gateway.pid'], { cwd: project }, runningUrl);
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await broker?.stop();
    await sandbox?.close();
  });

  it('serves: /healthz ok with its worker, no loader in the worker process', async () => {
    const health = (await (await fetch(`${gateway!.ready}/healthz`)).json()) as { status: string; workers: { processes: { pid: number }[] } };
    expect(health.status).toBe('ok');
    const [worker] = health.workers.processes;
    const cmdline = readFileSync(`/proc/${worker!.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.join(' ')).not.toMatch(/tsx|--import|--loader/);
    expect(cmdline.some((arg) => arg.endsWith('node_modules/paygate/dist/src/supervisor/child.js'))).toBe(true);
  });

  it('runs the compiled storefront: authorize then capture approved', async () => {
    const compiled = await compileStorefront();
    expect(compiled.code, compiled.stdout).toBe(0);
    const shop = await run(process.execPath, ['build/storefront.js', String(broker!.ready)], { cwd: project });
    expect(shop.code, `${tail(shop.stderr)}\n--- gateway:\n${tail(gateway!.output())}`).toBe(0);
    expect(JSON.parse(shop.stdout)).toEqual({ authorize: 'approved', capture: 'approved' });
  }, SLOW_STEP_MS);

  it("loads the project's own plugin package by its name, which answers", async () => {
    const shop = await run(process.execPath, ['acme-request.mjs', String(broker!.ready), 'hello acme'], { cwd: project });
    expect(shop.code, `${tail(shop.stderr)}\n--- gateway:\n${tail(gateway!.output())}`).toBe(0);
    expect(JSON.parse(shop.stdout)).toEqual({ status: 'approved', result: { text: 'hello acme', plugin: 'acme-plugin' } });
  }, SLOW_STEP_MS);
});

/** The gateway's `gateway running` log line gives its status URL. */
function runningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  const record = JSON.parse(line) as { msg?: string; statusUrl?: string };
  return record.msg === 'gateway running' ? record.statusUrl : undefined;
}

/**
 * The project's gateway config: card from the installed package and acme from the project's own
 * plugin package, both by package name (resolved from the config's folder, as relative paths are).
 */
function gatewayConfig(brokerPort: number, cardUrl: string): string {
  return [
    `brokers: [{host: 127.0.0.1, port: ${brokerPort}}]`,
    'identity: {cert: certs/gateway.crt, key: certs/gateway.key}',
    'trust: {client_ca: [certs/ca.crt]}',
    'providers:',
    '  - name: card',
    '    module: paygate/providers/card',
    `    endpoint: ${cardUrl}`,
    '    tls: {ca: certs/ca.crt}',
    `    options: {username: ${SANDBOX_LOGIN.username}, password: ${SANDBOX_LOGIN.password}}`,
    '  - {name: acme, module: acme-plugin}',
    'idempotency: {path: state/idempotency.sqlite}',
    'gateway: {workers: 1, http: {host: 127.0.0.1, port: 0}}',
    '',
  ].join('\n');
}

describe('paygate demo from the installed bin', () => {
  it('serves (broker, sandboxes, gateway) until SIGTERM through its pid file', async () => {
    const pidFile = join(root, 'demo.pid');
    const demo = await startService(join(project, 'node_modules/.bin/paygate'), ['demo', '--serve', '--no-tour', '--pid-file', pidFile], { cwd: project }, (line) =>
      line.startsWith('paygate demo is running') ? line : undefined,
    );
    try {
      expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(demo.child.pid));
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
      expect(await demo.exited, tail(demo.output())).toBe(0);
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      await demo.stop();
    }
  }, SLOW_STEP_MS);
});
