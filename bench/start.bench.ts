/**
 * `npm run bench:start`: how long a worker process of `paygate gateway` takes from its fork to
 * ready (connected to the broker and subscribed to every provider queue), compiled (dist/, plain
 * node, what an installed package runs) against the sources through tsx's loader (what a
 * checkout ran before the package was compiled), in one run: the median of 20 starts of each,
 * interleaved, after one warm-up start of each (the disk cache, and tsx's transform cache, are
 * warm in steady state). Then what a compiled start is made of, measured in fresh plain-node
 * processes: node itself, the import of the compiled worker's modules, each heavy dependency
 * alone, and the npm packages the compiled worker loads (any it has no use for is flagged).
 *
 * The worker is the gateway's real one (`WorkerProcess.fork`, the supervisor's own code, from
 * dist/ or from src/) serving the three bundled plugins (card, paypal, giftcard) against an
 * embedded broker in this process. dist/ is rebuilt first when a source is newer than it.
 * Figures are recorded in docs/benchmarks.md ("Worker start"), never asserted.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { EmbeddedBroker } from '../src/broker/index.ts';
import { writeDevPki } from '../src/certs/devca.ts';
import { createLogger } from '../src/logging.ts';
import { WorkerProcess as SourceWorkerProcess } from '../src/supervisor/worker-process.ts';
import { quantile } from './support.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const STARTS = Number(process.env.BENCH_STARTS ?? 20);
const PROVIDERS = ['card', 'paypal', 'giftcard'] as const;
/** Settings each bundled plugin's `config` schema requires (no call is made: none is sent a request). */
const PLUGIN_OPTIONS: Record<(typeof PROVIDERS)[number], string> = {
  card: '{username: bench, password: bench-password}',
  paypal: '{user: bench_api1.paygate.test, pwd: bench-password, signature: bench-signature}',
  giftcard: '{api_key: gc-bench}',
};
/** The production dependencies a worker process has no use for. */
const NOT_FOR_WORKERS = new Set(['commander', '@peculiar/x509', 'reflect-metadata', 'prom-client']);

type Variant = 'compiled' | 'tsx';
type Fork = typeof SourceWorkerProcess.fork;

/** The newest modification time of the .ts files under `dir` (tests included: cheap to over-build). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Rebuilds dist/ when it is missing or older than a source: the compiled figure must be of this code. */
function ensureBuilt(): void {
  const marker = join(DIST, 'src/supervisor/child.js');
  const builtAt = existsSync(marker) ? statSync(marker).mtimeMs : 0;
  if (builtAt >= Math.max(newestSource(join(ROOT, 'src')), newestSource(join(ROOT, 'providers')))) return;
  console.log('bench:start: dist/ is missing or older than the sources; npm run build …');
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed: the compiled worker cannot be measured');
}

/** The worker config of one variant: the bundled plugins as compiled .js or as .ts sources. */
function workerConfig(dir: string, brokerPort: number, variant: Variant): string {
  const module = (name: string): string =>
    variant === 'compiled' ? join(DIST, 'providers', name, 'index.js') : join(ROOT, 'providers', name, 'index.ts');
  const providers = PROVIDERS.flatMap((name) => [
    `  - name: ${name}`,
    `    module: ${module(name)}`,
    '    endpoint: https://127.0.0.1:9/',
    `    tls: {ca: ${join(dir, 'ca.crt')}}`,
    `    options: ${PLUGIN_OPTIONS[name]}`,
  ]);
  return [
    `brokers: [{host: 127.0.0.1, port: ${brokerPort}}]`,
    `identity: {cert: ${join(dir, 'gateway.crt')}, key: ${join(dir, 'gateway.key')}}`,
    `trust: {client_ca: [${join(dir, 'ca.crt')}]}`,
    'providers:',
    ...providers,
    `idempotency: {path: ${join(dir, `${variant}.sqlite`)}}`,
    '',
  ].join('\n');
}

/** Forks one worker and resolves with the ms from the fork to its `ready`, once it has exited again. */
async function timeStart(fork: Fork, configPath: string, configText: string, output: number): Promise<number> {
  const log = createLogger({ name: 'bench-start', level: 'warn', destination: output });
  const env = { ...process.env, NODE_OPTIONS: undefined, PAYGATE_LOG_LEVEL: 'warn' };
  const started = performance.now();
  const worker = fork({ slot: 0, configText, configPath, log, output, env });
  await worker.ready(60_000);
  const ms = performance.now() - started;
  worker.stop(1_000);
  await worker.exited;
  return ms;
}

/** Runs `node args` in a fresh process from the repository root; returns its stdout. */
function node(args: readonly string[]): string {
  const env = { ...process.env, NODE_OPTIONS: '' };
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

const median = (values: number[]): number => quantile([...values].sort((a, b) => a - b), 0.5);

/** One step of an import sequence: a label and the modules it imports. */
interface Step {
  readonly label: string;
  readonly specifiers: readonly string[];
}

/**
 * Imports `steps` in order in one fresh plain-node process, `runs` times; the median ms each step
 * added. A step costs what it loads beyond the steps before it, so the steps add up to the whole
 * import, and a package shared by two is counted where it first comes.
 */
function stepTimes(steps: readonly Step[], runs: number): number[] {
  const body = steps.map((step) => `${step.specifiers.map((s) => `await import(${JSON.stringify(s)});`).join(' ')} mark();`).join(' ');
  const script = `const ms = []; let t = performance.now(); const mark = () => { const n = performance.now(); ms.push(n - t); t = n; }; ${body} process.stdout.write(JSON.stringify(ms));`;
  const samples = Array.from({ length: runs }, () => JSON.parse(node(['--input-type=module', '-e', script])) as number[]);
  return steps.map((_, i) => median(samples.map((sample) => sample[i] as number)));
}

const compiledWorker = [
  pathToFileURL(join(DIST, 'src/logging.js')).href,
  pathToFileURL(join(DIST, 'src/worker/index.js')).href,
  pathToFileURL(join(DIST, 'src/supervisor/messages.js')).href,
];
const compiledPlugin = (name: string): string => pathToFileURL(join(DIST, 'providers', name, 'index.js')).href;

/**
 * The npm packages a fresh plain-node process loads for the compiled worker and its three plugins:
 * ES modules through a resolve hook, CommonJS ones from require.cache.
 */
function packagesLoaded(): string[] {
  const hook = `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process.stderr.write('loaded ' + r.url + '\\n'); return r; }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const imports = [...compiledWorker, ...PROVIDERS.map(compiledPlugin)].map((s) => `await import(${JSON.stringify(s)});`).join(' ');
  const listCjs = `import { createRequire } from 'node:module'; ${imports} for (const file of Object.keys(createRequire(import.meta.url).cache)) process.stderr.write('loaded file://' + file + '\\n');`;
  const result = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', listCjs], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (result.status !== 0) throw new Error(`listing the compiled worker's packages failed:\n${result.stderr}`);
  const packages = new Set<string>();
  for (const match of result.stderr.matchAll(/^loaded file:\/\/.*?\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)) packages.add(match[1] as string);
  return [...packages].sort();
}

/** The production dependencies of package.json that have code (not `@types/*`). */
async function dependencies(): Promise<string[]> {
  const manifest = (await import(pathToFileURL(join(ROOT, 'package.json')).href, { with: { type: 'json' } })) as { default: { dependencies: Record<string, string> } };
  return Object.keys(manifest.default.dependencies).filter((name) => !name.startsWith('@types/'));
}

async function measureStarts(dir: string, brokerPort: number): Promise<Record<Variant, number[]>> {
  const compiled = (await import(pathToFileURL(join(DIST, 'src/supervisor/worker-process.js')).href)) as { WorkerProcess: typeof SourceWorkerProcess };
  const forks: Record<Variant, Fork> = { compiled: (o) => compiled.WorkerProcess.fork(o), tsx: (o) => SourceWorkerProcess.fork(o) };
  const output = openSync(join(dir, 'workers.log'), 'a');
  const configs = {} as Record<Variant, { path: string; text: string }>;
  for (const variant of ['compiled', 'tsx'] as const) {
    const text = workerConfig(dir, brokerPort, variant);
    const path = join(dir, `${variant}.yaml`);
    writeFileSync(path, text);
    configs[variant] = { path, text };
  }
  const times: Record<Variant, number[]> = { compiled: [], tsx: [] };
  for (let run = -1; run < STARTS; run += 1) {
    for (const variant of ['compiled', 'tsx'] as const) {
      const ms = await timeStart(forks[variant], configs[variant].path, configs[variant].text, output);
      if (run >= 0) times[variant].push(ms);
    }
    process.stdout.write(run < 0 ? 'warm-up done; ' : `${run + 1} `);
  }
  process.stdout.write('\n');
  return times;
}

/**
 * The compiled worker's start in one fresh plain-node process, as child.js does it, by phase:
 * importing its modules, reading the config (plugins imported and set up), and `Worker.start`
 * (idempotency store, trust, broker connection, subscriptions). Medians of `runs`. Spawned
 * asynchronously: the broker answering the worker lives in this process's event loop.
 */
async function startPhases(configPath: string, runs: number): Promise<number[]> {
  const url = (file: string): string => JSON.stringify(pathToFileURL(join(DIST, file)).href);
  const script = [
    'const t0 = performance.now();',
    `const { parseWorkerConfig, workerOptionsFromConfig, Worker } = await import(${url('src/worker/index.js')});`,
    `const { readFileSync } = await import('node:fs'); const { dirname } = await import('node:path');`,
    'const t1 = performance.now();',
    'const path = process.argv[1];',
    'const options = await workerOptionsFromConfig(parseWorkerConfig(readFileSync(path), { baseDir: dirname(path), source: path }));',
    'const t2 = performance.now();',
    'const worker = await Worker.start(options);',
    'const t3 = performance.now();',
    'await worker.stop();',
    'process.stdout.write(JSON.stringify([t1 - t0, t2 - t1, t3 - t2]));',
  ].join(' ');
  const samples: number[][] = [];
  for (let run = 0; run < runs; run += 1) {
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script, configPath], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    samples.push(JSON.parse(stdout) as number[]);
  }
  return [0, 1, 2].map((i) => median(samples.map((sample) => sample[i] as number)));
}

const ms = (value: number): string => `${value.toFixed(0).padStart(5)} ms`;

/** What the compiled worker's start is made of: node itself, then its imports step by step. */
async function printBreakdown(configPath: string): Promise<void> {
  const boot = median(Array.from({ length: 9 }, () => {
    const started = performance.now();
    node(['-e', '0']);
    return performance.now() - started;
  }));
  const loaded = packagesLoaded();
  const direct = (await dependencies()).filter((name) => loaded.includes(name));
  const steps: Step[] = [
    ...direct.map((name) => ({ label: name, specifiers: [name] })),
    { label: "paygate's worker (src/ compiled)", specifiers: compiledWorker },
    ...PROVIDERS.map((name) => ({ label: `providers/${name} (compiled)`, specifiers: [compiledPlugin(name)] })),
  ];
  const times = stepTimes(steps, 7);
  console.log(`\nWhat a compiled start is made of (fresh plain-node processes, medians of 7):`);
  console.log(`  ${'node -e 0, spawn to exit'.padEnd(50)} ${ms(boot)}`);
  console.log('  importing the worker and its plugins, in this order (each step: what it adds):');
  steps.forEach((step, i) => console.log(`    ${step.label.padEnd(48)} ${ms(times[i] as number)}`));
  console.log(`    ${'all imports'.padEnd(48)} ${ms(times.reduce((a, b) => a + b, 0))}`);
  const [imported, configured, started] = (await startPhases(configPath, 7)) as [number, number, number];
  console.log("  the compiled worker's start in one process, as child.js does it:");
  console.log(`    ${'import the worker modules'.padEnd(48)} ${ms(imported)}`);
  console.log(`    ${'read the config, import and set up the plugins'.padEnd(48)} ${ms(configured)}`);
  console.log(`    ${'Worker.start: store, trust, connect, subscribe'.padEnd(48)} ${ms(started)}`);
  console.log(`  npm packages loaded (${loaded.length}): ${loaded.join(', ')}`);
  const needless = loaded.filter((name) => NOT_FOR_WORKERS.has(name));
  console.log(`  of the production dependencies a worker has no use for (${[...NOT_FOR_WORKERS].join(', ')}), loaded: ${needless.length === 0 ? 'none' : needless.join(', ')}`);
}

async function main(): Promise<void> {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'paygate-bench-start-'));
  const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0 });
  try {
    await writeDevPki(dir, { algo: 'ec' });
    console.log(`bench:start: ${STARTS} starts of each, interleaved, plugins ${PROVIDERS.join(', ')}, node ${process.version}`);
    const times = await measureStarts(dir, broker.port).catch((error: unknown) => {
      // The worker's own lines say why it did not start.
      console.error(readFileSync(join(dir, 'workers.log'), 'utf8').split('\n').slice(-20).join('\n'));
      throw error;
    });
    const compiled = median(times.compiled);
    const tsx = median(times.tsx);
    console.log(`\nWorker fork → ready (subscribed), median of ${STARTS}:`);
    console.log(`  compiled (dist/, plain node)  ${compiled.toFixed(0).padStart(5)} ms  (p90 ${quantile([...times.compiled].sort((a, b) => a - b), 0.9).toFixed(0)} ms)`);
    console.log(`  sources through tsx           ${tsx.toFixed(0).padStart(5)} ms  (p90 ${quantile([...times.tsx].sort((a, b) => a - b), 0.9).toFixed(0)} ms)`);
    console.log(`  compiled / tsx                ${((compiled / tsx) * 100).toFixed(0).padStart(5)} %   (target ≤ 40 %, and ≤ 400 ms)`);
    await printBreakdown(join(dir, 'compiled.yaml'));
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
