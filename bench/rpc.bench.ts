/**
 * `npm run bench:rpc`: secure request/reply round trips per second, with p50/p99 latency, at 1,
 * 16 and 64 requests in flight, per broker, for the RSA-2048 and EC P-256 profiles, beside the
 * plaintext stompit request/reply of bench/support.ts on the same broker in the same run, with
 * the ratio. Figures are recorded in docs/benchmarks.md, never asserted.
 *
 * A secure round trip is the whole product path: the SDK validates the payload, writes the YAML,
 * signs and encrypts it, SENDs with a receipt; the worker (`paygate worker`, its own process)
 * decrypts, verifies, checks trust and freshness, records the request id and the idempotency
 * entry (SQLite, fsync), calls the counting fixture, stores the reply (fsync), signs and encrypts
 * it, SENDs it with a receipt and ACKs; the SDK decrypts, verifies the gateway's signature and
 * validates the result. Every request has its own idempotency key (each one is a provider call).
 *
 * Processes: the embedded broker (own process), the worker (own process), the SDK (this one).
 * RSA bound: each round trip needs four RSA-2048 private-key operations (client signs, worker
 * unwraps, worker signs, client unwraps); `openssl speed rsa2048` gives private ops per second
 * on one core, so one core does at most sign/4 round trips per second: that is the bound the
 * target refers to. The SDK and the worker run in two processes, so the two halves can overlap
 * on this machine's two cores; the table shows the 2-core bound (sign/2) too.
 *
 * BENCH_SECONDS (default 3) per depth after a 0.5 s warm-up; PAYGATE_TEST_BROKERS as for tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDevPki, type KeySpec } from '../src/certs/devca.ts';
import { createGateway } from '../src/client/index.ts';
import { counting } from '../test/fixtures/counting-provider.ts';
import { parseTestBrokers, type BrokerDescriptor } from '../test/helpers/brokers.ts';
import { benchBroker, DEPTHS, printTable, quantile, SECONDS, startEmbedded, WARM_UP_MS, type Row } from './support.ts';

const BIN = fileURLToPath(new URL('../bin/paygate.js', import.meta.url));
const COUNTING = fileURLToPath(new URL('../test/fixtures/counting-provider.ts', import.meta.url));
const PROFILES: readonly { name: string; spec: KeySpec }[] = [
  { name: 'RSA-2048', spec: { algo: 'rsa', bits: 2048 } },
  { name: 'EC P-256', spec: { algo: 'ec' } },
];
const CARD = { number: '4111111111111111', exp_month: 12, exp_year: new Date().getFullYear() + 2, cvc: '123' };

interface SecureRow extends Row {
  profile: string;
}

/** `openssl speed rsa2048`: private-key operations per second on one core. */
function rsa2048SignsPerSecond(): number {
  const result = spawnSync('openssl', ['speed', '-seconds', '2', 'rsa2048'], { encoding: 'utf8' });
  const match = /^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+[\d.]+\s*$/m.exec(result.stdout);
  if (!match?.[1]) throw new Error(`cannot read openssl speed rsa2048:\n${result.stdout}${result.stderr}`);
  return Number(match[1]);
}

/** `paygate worker --config` in a child process; resolves once it serves. */
async function startWorker(config: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--config', config], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    out += chunk.toString();
    if (out.includes('serving')) return child;
  }
  throw new Error(`paygate worker exited before serving: ${out}`);
}

function writeConfig(dir: string, broker: BrokerDescriptor, port: number, queuePrefix: string): string {
  const path = join(dir, 'worker.yaml');
  writeFileSync(
    path,
    [
      `brokers: [{host: "${broker.host}", port: ${port}, login: "${broker.login}", passcode: "${broker.passcode}", vhost: "${broker.vhost}"}]`,
      'prefetch: 64',
      `identity: {cert: "${join(dir, 'gateway.crt')}", key: "${join(dir, 'gateway.key')}"}`,
      `trust: {client_ca: ["${join(dir, 'ca.crt')}"]}`,
      `queue_prefix: "${queuePrefix}"`,
      `providers: [{name: counting, module: "${COUNTING}"}]`,
      `idempotency: {path: "${join(dir, 'idempotency.sqlite')}"}`,
    ].join('\n'),
  );
  return path;
}

type CountingGateway = Awaited<ReturnType<typeof createGateway<readonly [typeof counting]>>>;

/** Keeps `depth` secure requests in flight for the warm-up plus SECONDS. */
async function measure(gateway: CountingGateway, depth: number): Promise<Pick<Row, 'depth' | 'rate' | 'p50' | 'p99'>> {
  const latencies: number[] = [];
  const measureFrom = performance.now() + WARM_UP_MS;
  const end = measureFrom + SECONDS * 1_000;
  const caller = async (): Promise<void> => {
    for (let sentAt = performance.now(); sentAt < end; sentAt = performance.now()) {
      const key = randomUUID();
      await gateway.request('counting', 'authorize', { amount: { value: 1999, currency: 'EUR' }, card: CARD, order_id: key }, { idempotencyKey: key });
      if (sentAt >= measureFrom) latencies.push(performance.now() - sentAt);
    }
  };
  await Promise.all(Array.from({ length: depth }, caller));
  latencies.sort((a, b) => a - b);
  return { depth, rate: latencies.length / SECONDS, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

async function benchProfile(broker: BrokerDescriptor, port: number, profile: (typeof PROFILES)[number]): Promise<SecureRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-rpc-bench-'));
  const queuePrefix = `/queue/paygate.bench${randomUUID().slice(0, 8)}.`;
  let worker: ChildProcess | undefined;
  try {
    await writeDevPki(dir, profile.spec);
    worker = await startWorker(writeConfig(dir, broker, port, queuePrefix));
    const pem = (name: string): string => readFileSync(join(dir, name), 'utf8');
    const gateway = await createGateway({
      brokers: { nodes: [{ host: broker.host, port, login: broker.login, passcode: broker.passcode, vhost: broker.vhost }] },
      identity: { cert: pem('client.crt'), key: pem('client.key') },
      gatewayCertificates: [pem('gateway.crt')],
      trust: [pem('ca.crt')],
      providers: [counting] as const,
      queuePrefix,
    });
    const rows: SecureRow[] = [];
    try {
      // The worker process has just started: let the JIT warm up both sides before measuring.
      await measure(gateway, 16);
      for (const depth of DEPTHS) rows.push({ broker: broker.name, profile: profile.name, ...(await measure(gateway, depth)) });
    } finally {
      await gateway.close(5_000);
    }
    return rows;
  } finally {
    if (worker) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchOne(broker: BrokerDescriptor): Promise<{ raw: Row[]; secure: SecureRow[] }> {
  const embedded = broker.name === 'embedded' ? await startEmbedded() : undefined;
  const port = embedded?.port ?? broker.port ?? 61613;
  try {
    const raw = await benchBroker(broker, port);
    const secure: SecureRow[] = [];
    for (const profile of PROFILES) secure.push(...(await benchProfile(broker, port, profile)));
    return { raw, secure };
  } finally {
    if (embedded) {
      embedded.child.kill('SIGTERM');
      await once(embedded.child, 'exit');
    }
  }
}

function report(raw: Row[], secure: SecureRow[], rsaSign: number): void {
  const rawRate = (b: string, d: number): number => raw.find((r) => r.broker === b && r.depth === d)?.rate ?? Number.NaN;
  console.log(`\nSecure RPC (SDK → broker → worker → reply), ${SECONDS} s per depth, node ${process.version}\n`);
  printTable(
    ['broker', 'profile', 'in flight', 'rt/s', 'p50 ms', 'p99 ms', 'plaintext rt/s', 'secure / plaintext'],
    [
      ...raw.map((r) => [r.broker, 'plaintext', String(r.depth), r.rate.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), r.rate.toFixed(0), '100 %']),
      ...secure.map((r) => {
        const base = rawRate(r.broker, r.depth);
        return [r.broker, r.profile, String(r.depth), r.rate.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), base.toFixed(0), `${((100 * r.rate) / base).toFixed(1)} %`];
      }),
    ],
  );
  const bound1 = rsaSign / 4;
  console.log(`\nopenssl speed rsa2048: ${rsaSign.toFixed(0)} private-key ops/s (one core)`);
  console.log(`RSA-2048 bound, 4 private-key ops per round trip: ${bound1.toFixed(0)} rt/s on one core, ${(2 * bound1).toFixed(0)} on two`);
  for (const r of secure.filter((row) => row.profile === 'RSA-2048' && row.depth === 64)) {
    console.log(`  ${r.broker}: RSA-2048 at 64 in flight = ${((100 * r.rate) / bound1).toFixed(0)} % of the one-core bound, ${((50 * r.rate) / bound1).toFixed(0)} % of the two-core bound (target ≥ 80 %)`);
  }
  const ec64 = secure.find((r) => r.broker === 'embedded' && r.profile === 'EC P-256' && r.depth === 64);
  const ec1 = secure.find((r) => r.broker === 'embedded' && r.profile === 'EC P-256' && r.depth === 1);
  if (ec64 && ec1) {
    console.log(`EC P-256 on the embedded broker: ${((100 * ec64.rate) / rawRate('embedded', 64)).toFixed(1)} % of plaintext at 64 in flight (target ≥ 50 %); p50 ${ec1.p50.toFixed(2)} ms at 1 in flight (target ≤ 1 ms)`);
  }
}

async function main(): Promise<void> {
  const brokers = parseTestBrokers(process.env.PAYGATE_TEST_BROKERS);
  if (!brokers.some((b) => b.name === 'embedded')) brokers.unshift(parseTestBrokers('embedded')[0] as BrokerDescriptor);
  const rsaSign = rsa2048SignsPerSecond();
  const raw: Row[] = [];
  const secure: SecureRow[] = [];
  const failed: string[] = [];
  for (const broker of brokers) {
    try {
      const rows = await benchOne(broker);
      raw.push(...rows.raw);
      secure.push(...rows.secure);
      console.error(`${broker.name}: done`);
    } catch (error) {
      failed.push(`${broker.name}: ${(error as Error).message}`);
    }
  }
  report(raw, secure, rsaSign);
  for (const line of failed) console.log(`not measured: ${line}`);
  if (failed.length > 0) process.exitCode = 1;
}

await main();
