/**
 * The SDK and `paygate gateway` on two independent embedded brokers, both configured with the
 * same node list in `listed` order (docs/operations.md, "Independent brokers are a standby pair"):
 *
 * 1. everyone sits on the primary and requests are answered;
 * 2. the primary is SIGKILLed while requests are in flight: the SDK and both connections of every
 *    worker fail over to the backup; each request is either answered or fails with a typed
 *    retryable error (TimeoutError / NotSentError), and is retried with the same idempotency key
 *    until answered;
 * 3. requests are answered on the backup;
 * 4. the primary comes back (same port, same store, whose requests are redelivered): the workers
 *    and the SDK move back to it
 *    (failback), a client started now goes there too, and both are answered;
 * 5. the card sandbox's ledger shows one charge per idempotency key, whatever was retried or
 *    redelivered from the primary's store; no failover line was logged at `error`.
 *
 * The primary is `paygate broker --data DIR` in a child process (so that it can be SIGKILLed);
 * the backup is in-process. Every wait is for an event (a log line, an SDK event, an answer, a
 * process's output), never for a duration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, NotSentError, RemoteError, TimeoutError, type Gateway } from '../../src/client/index.ts';
import card from '../../providers/card/index.ts';
import { startCardSandbox, type CardSandbox } from '../../providers/card/sandbox/index.ts';
import type { StompOptions } from '../../src/stomp/index.ts';
import { parseTestBrokers, startEmbeddedBroker, testUsers, type BrokerDescriptor, type EmbeddedBrokerHandle } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { CARD_MODULE, chargesByKey, GatewayProcess, newTag, type LogLine } from '../supervisor/support.ts';
import { BIN, ROOT, uniquePrefix } from './request-path-support.ts';
import { roleNode } from './support.ts';

const USERNAME = 'merchant-2b';
const PASSWORD = 'pw-TwoBrokers-8c1d';
const EXP = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };
/** How often a connection on the backup tries the primary again, and how long it drains the backup. */
const PROBE_MS = 200;
const DRAIN_MS = 3_000; // longer than the card provider's 2 s timeout, as the worker config requires
/** The two connections (consuming, publishing) of each of the two workers. */
const WORKER_CONNECTIONS = 4;

type CardGateway = Gateway<readonly [typeof card]>;

let pki: TestPki;
let sandbox: CardSandbox;
let dataDir: string;
let usersFile: string;
let primary: BrokerProcess;
let backup: EmbeddedBrokerHandle;
let primaryPort: number;
let gateway: GatewayProcess | undefined;
const clients: CardGateway[] = [];
const queuePrefix = uniquePrefix();
const descriptor = parseTestBrokers('embedded')[0] as BrokerDescriptor;

const at = (broker: { port: number }): BrokerDescriptor & { port: number } => ({ ...descriptor, port: broker.port });
const nameOf = (port: number): string => `127.0.0.1:${port}`;

/** `paygate broker` in a child process. */
interface BrokerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<unknown>;
}

/** Starts `paygate broker --data DIR --users FILE` on `port` (0: any); resolves once it listens. */
function startBrokerProcess(port: number): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [BIN, 'broker', '--port', String(port), '--data', dataDir, '--users', usersFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on stomp:\/\/127\.0\.0\.1:(\d+)\n/.exec(out);
      if (match) resolve({ child, port: Number(match[1]), exited });
    });
    void exited.then(() => reject(new Error(`paygate broker exited: ${out} ${err}`)));
  });
}

beforeAll(async () => {
  pki = await makeTestPki({ algo: 'ec' });
  sandbox = await startCardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, username: USERNAME, password: PASSWORD });
  dataDir = makeTempDir('two-brokers-primary');
  usersFile = join(makeTempDir('two-brokers-users'), 'users.yaml');
  writeFileSync(usersFile, JSON.stringify(await testUsers()), { mode: 0o600 }); // JSON is YAML
  primary = await startBrokerProcess(0);
  primaryPort = primary.port;
  backup = await startEmbeddedBroker();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close(2_000)));
  gateway?.signal('SIGKILL');
  await gateway?.exited;
  primary?.child.kill('SIGKILL');
  await primary?.exited;
  await backup?.stop();
  await sandbox?.close();
});

/** The gateway's config: both brokers, the primary first, listed order with fast failback. */
function writeGatewayConfig(dir: string): string {
  const node = (port: number): string => {
    const n = roleNode(at({ port }), 'worker');
    return `  - {host: "${n.host}", port: ${n.port}, login: "${n.login}", passcode: "${n.passcode}", vhost: "${n.vhost}"}`;
  };
  const path = join(dir, 'gateway.yaml');
  writeFileSync(
    path,
    [
      'brokers:',
      node(primaryPort),
      node(backup.port),
      'broker_order: listed',
      `broker_failback: {probe_ms: ${PROBE_MS}, drain_ms: ${DRAIN_MS}}`,
      'heart_beat_ms: 1000',
      `identity: {cert: "${pki.gateway.certPath}", key: "${pki.gateway.keyPath}"}`,
      `trust: {client_ca: ["${pki.ca.certPath}"]}`,
      `queue_prefix: "${queuePrefix}"`,
      'providers:',
      `  - {name: card, module: "${CARD_MODULE}", endpoint: "${sandbox.url}", tls: {ca: "${pki.ca.certPath}"}, timeout_ms: 2000,`,
      `     options: {username: ${USERNAME}, password: ${PASSWORD}}, breaker: {volume_threshold: 1000}}`,
      `idempotency: {path: "${join(dir, 'idempotency.sqlite')}", lease: 3s}`,
      'gateway:',
      '  workers: 2',
      '  http: {port: 0}',
      '  drain_grace: 5s',
    ].join('\n'),
  );
  return path;
}

/** An SDK client with both brokers in the same order as the gateway's. */
async function client(): Promise<CardGateway> {
  const brokers: StompOptions = {
    nodes: [roleNode(at({ port: primaryPort }), 'storefront'), roleNode(at(backup), 'storefront')],
    nodeOrder: 'listed',
    failback: { probeMs: PROBE_MS, drainMs: DRAIN_MS },
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    heartBeat: { outgoingMs: 1_000, incomingMs: 1_000 },
  };
  const created = await createGateway({
    brokers,
    identity: { cert: pki.client.certPem, key: pki.client.keyPem },
    gatewayCertificates: [pki.gateway.certPem],
    trust: [pki.ca.certPem],
    providers: [card] as const,
    queuePrefix,
    defaultTimeoutMs: 20_000,
  });
  clients.push(created);
  return created;
}

/** Each key's final status, and every failure seen on the way (all must be typed and retryable). */
interface Outcomes {
  readonly status: Map<string, string>;
  readonly failures: { key: string; error: string; retryable: boolean }[];
}

/** Is `error` one the SDK documents as "retry with the same idempotency key"? */
function retryable(error: unknown): boolean {
  if (error instanceof TimeoutError || error instanceof NotSentError) return true;
  return error instanceof RemoteError && error.retryable;
}

/**
 * Authorizes `count` payments with keys `${tag}-i`, `lanes` at a time; a retryable failure or an
 * `unknown` answer is retried with the same key (what docs/sdk.md asks of a storefront), at most
 * 30 times per key. `onSent(i)` runs before each first attempt.
 */
async function authorize(gw: CardGateway, tag: string, count: number, lanes = 4, onSent?: (i: number) => void): Promise<Outcomes> {
  const status = new Map<string, string>();
  const failures: Outcomes['failures'] = [];
  let next = 0;
  const one = async (i: number): Promise<void> => {
    const key = `${tag}-${i}`;
    const payload = { amount: { value: 2_000 + i, currency: 'EUR' }, card: { number: '4111111111111111', ...EXP } };
    onSent?.(i);
    for (let attempt = 1; attempt <= 30; attempt += 1) {
      try {
        const reply = await gw.request('card', 'authorize', payload, { idempotencyKey: key });
        if (reply.status !== 'unknown') {
          status.set(key, reply.status);
          return;
        }
      } catch (error) {
        failures.push({ key, error: `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`, retryable: retryable(error) });
        if (!retryable(error)) return;
      }
    }
  };
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return { status, failures };
}

/** Resolves when `count` log lines (seen or to come) pass `test`. */
function lines(gw: GatewayProcess, count: number, test: (line: LogLine) => boolean, what: string): Promise<LogLine> {
  return gw.waitFor((line) => test(line) && gw.lines.filter(test).length >= count, 30_000, what);
}

describe('SDK and gateway on two independent embedded brokers, listed order', () => {
  it('fail over to the backup, move back to the revived primary, and never charge a key twice', async () => {
    const dir = makeTempDir('two-brokers');
    gateway = new GatewayProcess(writeGatewayConfig(dir));
    await gateway.running();
    const shop = await client();
    const reconnects: string[] = [];
    shop.on('reconnected', ({ node }) => reconnects.push(node));
    const tags = { before: newTag('before'), during: newTag('during'), backup: newTag('backup'), after: newTag('after'), late: newTag('late') };

    // 1. Everyone on the primary.
    const before = await authorize(shop, tags.before, 6);
    expect(before.failures).toEqual([]);
    expect([...before.status.values()]).toEqual(Array(6).fill('approved'));

    // 2. The primary is SIGKILLed while requests are in flight.
    const during = await authorize(shop, tags.during, 24, 4, (i) => {
      if (i === 8) primary.child.kill('SIGKILL');
    });
    await primary.exited;
    expect(during.failures.filter((f) => !f.retryable)).toEqual([]);
    expect(during.status.size).toBe(24);
    expect([...during.status.values()].every((s) => s === 'approved')).toBe(true);
    expect(reconnects).toContain(nameOf(backup.port));
    const onBackup = (line: LogLine): boolean => line.msg === 'broker connection restored' && line.node === nameOf(backup.port);
    await lines(gateway, WORKER_CONNECTIONS, onBackup, 'every worker connection on the backup');
    const lost = (line: LogLine): boolean => line.msg === 'broker connection lost; failing over';
    await lines(gateway, WORKER_CONNECTIONS, lost, 'every worker connection loss logged');
    expect(new Set(gateway.lines.filter(lost).map((l) => l.level))).toEqual(new Set(['warn']));

    // 3. Answered on the backup.
    const onB = await authorize(shop, tags.backup, 6);
    expect(onB.failures).toEqual([]);
    expect(onB.status.size).toBe(6);

    // 4. The primary comes back with its store: everyone moves back to it.
    const movedBack = new Promise<string>((resolve) => shop.on('reconnected', ({ node }) => node === nameOf(primaryPort) && resolve(node)));
    primary = await startBrokerProcess(primaryPort);
    const failedBack = (line: LogLine): boolean => line.msg === 'moving back to a broker listed earlier' && line.to === nameOf(primaryPort);
    await lines(gateway, WORKER_CONNECTIONS, failedBack, 'every worker connection back on the primary');
    expect(await movedBack).toBe(nameOf(primaryPort));
    const newcomer = await client(); // started now: goes to the primary, where the workers are
    const [after, late] = await Promise.all([authorize(shop, tags.after, 6), authorize(newcomer, tags.late, 6)]);
    expect([...after.failures, ...late.failures].filter((f) => !f.retryable)).toEqual([]);
    expect(after.status.size + late.status.size).toBe(12);

    // 5. One charge per key, whatever was retried or redelivered; no failover line at error.
    for (const [tag, count] of [[tags.before, 6], [tags.during, 24], [tags.backup, 6], [tags.after, 6], [tags.late, 6]] as const) {
      const charges = chargesByKey(sandbox, tag);
      expect(charges.size, tag).toBe(count);
      expect([...charges.entries()].filter(([, n]) => n !== 1), tag).toEqual([]);
    }
    const failoverCodes = new Set(['STOMP_STALE_MESSAGE', 'STOMP_IO', 'STOMP_CLOSED_BY_PEER', 'STOMP_READ_TIMEOUT']);
    expect(gateway.lines.filter((l) => l.level === 'error' && failoverCodes.has(String(l.code))).map((l) => JSON.stringify(l))).toEqual([]);
    console.error(
      `two-brokers: ${during.failures.length} retryable failures during the switch (${[...new Set(during.failures.map((f) => f.error.split(' ')[0]))].join(', ')}), ` +
        `${after.failures.length + late.failures.length} after the failback; SDK reconnects ${reconnects.join(' → ')}`,
    );
  }, 240_000);
});
