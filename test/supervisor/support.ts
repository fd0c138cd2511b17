/**
 * Shared pieces of the gateway suites: a card sandbox and a broker, a gateway config
 * file for them, `paygate gateway` as a real child process whose JSON log lines are collected,
 * an SDK client, and a load runner that records every answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGateway, TimeoutError, type Gateway } from '../../src/client/index.ts';
import card from '../../providers/card/index.ts';
import { startCardSandbox, type CardSandbox } from '../../providers/card/sandbox/index.ts';
import type { StompOptions } from '../../src/stomp/index.ts';
import { startTestBroker, type BrokerDescriptor, type TestBroker, type TestRole } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { roleNode } from '../integration/support.ts';
import { BIN, ROOT, uniquePrefix } from '../integration/request-path-support.ts';

export const CARD_MODULE = join(ROOT, 'providers', 'card', 'index.ts');
const USERNAME = 'merchant-gw';
const PASSWORD = 'pw-Gateway-5b21e0';
export const APPROVE = '4111111111111111';
export const DECLINE = '4000000000000002';
const EXP = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };

/** What a suite changes in the config file besides its `gateway:` section. */
export interface ConfigExtras {
  /** More `providers[]` entries (flow mappings). */
  readonly providers?: string[];
  /** More top-level lines. */
  readonly top?: string[];
  /** `idempotency.lease` (e.g. `3s`); the card entry's `timeout_ms` is then 2000. */
  readonly lease?: string;
  /** `idempotency.path`; `idempotency.sqlite` in the world's folder by default. */
  readonly storePath?: string;
}

/** A broker, a card sandbox, a PKI and a folder: what every gateway suite needs. */
export interface GatewayWorld {
  readonly broker: TestBroker;
  readonly sandbox: CardSandbox;
  readonly pki: TestPki;
  readonly dir: string;
  readonly queuePrefix: string;
  /** Writes the gateway config file (the same path each time: a reload re-reads it). */
  writeConfig(gateway: string, more?: ConfigExtras): string;
  readonly configPath: string;
  /** A node of the broker logging in as `role` (the gateway's config uses `worker`, clients `storefront`). */
  node(role: TestRole): StompOptions['nodes'][number];
  client(timeoutMs?: number): Promise<Gateway<readonly [typeof card]>>;
  close(): Promise<void>;
}

export async function startWorld(descriptor: BrokerDescriptor): Promise<GatewayWorld> {
  const pki = await makeTestPki({ algo: 'ec' });
  const broker = await startTestBroker(descriptor);
  const sandbox = await startCardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, username: USERNAME, password: PASSWORD });
  const dir = makeTempDir('gateway');
  const queuePrefix = uniquePrefix();
  const worker = roleNode(broker.descriptor, 'worker');
  const configPath = join(dir, 'gateway.yaml');
  const clients: Gateway<readonly [typeof card]>[] = [];
  const writeConfig = (gateway: string, more: ConfigExtras = {}): string => {
    writeFileSync(
      configPath,
      [
        'brokers:',
        `  - {host: "${worker.host}", port: ${worker.port}, login: "${worker.login}", passcode: "${worker.passcode}", vhost: "${worker.vhost}"}`,
        'heart_beat_ms: 1000',
        `identity: {cert: "${pki.gateway.certPath}", key: "${pki.gateway.keyPath}"}`,
        `trust: {client_ca: ["${pki.ca.certPath}"]}`,
        `queue_prefix: "${queuePrefix}"`,
        'providers:',
        `  - {name: card, module: "${CARD_MODULE}", endpoint: "${sandbox.url}", tls: {ca: "${pki.ca.certPath}"}, timeout_ms: ${more.lease === undefined ? 10_000 : 2_000},`,
        `     options: {username: ${USERNAME}, password: ${PASSWORD}}, breaker: {volume_threshold: 1000}}`,
        ...(more.providers ?? []).map((entry) => `  - ${entry}`),
        `idempotency: {path: "${more.storePath ?? join(dir, 'idempotency.sqlite')}"${more.lease === undefined ? '' : `, lease: ${more.lease}`}}`,
        ...(more.top ?? []),
        'gateway:',
        ...gateway.split('\n').map((line) => `  ${line}`),
      ].join('\n'),
    );
    return configPath;
  };
  return {
    broker,
    sandbox,
    pki,
    dir,
    queuePrefix,
    configPath,
    writeConfig,
    node: (role) => roleNode(broker.descriptor, role),
    client: async (timeoutMs = 60_000) => {
      const gateway = await createGateway({
        brokers: { nodes: [roleNode(broker.descriptor, 'storefront')] },
        identity: { cert: pki.client.certPem, key: pki.client.keyPem },
        gatewayCertificates: [pki.gateway.certPem],
        trust: [pki.ca.certPem],
        providers: [card] as const,
        queuePrefix,
        defaultTimeoutMs: timeoutMs,
      });
      clients.push(gateway);
      return gateway;
    },
    close: async () => {
      await Promise.allSettled(clients.map((c) => c.close(2_000)));
      await sandbox.close();
      await broker.stop();
    },
  };
}

/** One JSON log line of the gateway or its workers. */
export type LogLine = Record<string, unknown> & { msg?: string; pid?: number; name?: string };

/** `paygate gateway` in a child process. */
export class GatewayProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  constructor(configPath: string) {
    this.child = spawn(process.execPath, [BIN, 'gateway', '--config', configPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PAYGATE_LOG_LEVEL: 'info' } });
    let buffer = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        this.#take(text);
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  #take(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: `(not JSON) ${text}` };
    }
    this.lines.push(line);
    for (const waiter of [...this.#waiters]) {
      if (waiter.test(line)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }

  /** The first log line (already seen or to come) that passes `test`. */
  waitFor(test: (line: LogLine) => boolean, timeoutMs = 60_000, what = 'a log line'): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`)), timeoutMs);
      this.#waiters.push({ test, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      void this.exited.then(() => setTimeout(() => reject(new Error(`the gateway exited before ${what}; stderr: ${this.stderr.slice(-2000)}`)), 50));
    });
  }

  /** Waits for `gateway running`; returns the status URL. */
  async running(timeoutMs = 90_000): Promise<string> {
    const line = await this.waitFor((l) => l.msg === 'gateway running', timeoutMs, '"gateway running" line');
    return String(line.statusUrl);
  }

  /** Lines with this message after index `from`. */
  count(msg: string, from = 0): number {
    return this.lines.slice(from).filter((l) => l.msg === msg).length;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** The pool's worker pids from /healthz. */
export async function poolPids(statusUrl: string): Promise<number[]> {
  const health = (await (await fetch(`${statusUrl}/healthz`)).json()) as { workers: { processes: { pid: number; state: string; slot: number }[] } };
  return health.workers.processes.filter((p) => p.state === 'ready').sort((a, b) => a.slot - b.slot).map((p) => p.pid);
}

/** Each request's one outcome, by idempotency key. */
export interface LoadResult {
  readonly outcomes: Map<string, string>;
  readonly failures: string[];
  /** `unknown` answers that were retried with the same key (a storefront's duty; see docs/idempotency.md). */
  readonly unknownRetries: number;
  /** Requests that timed out (no reply: e.g. dead-lettered by the broker) and were retried with the same key. */
  readonly timeoutRetries: number;
}

/**
 * Sends `count` card authorizations (every `declineEvery`-th with a declining card), at most
 * `concurrency` at a time, fewer when `stop()` turns true first; `onAnswered(n)` runs after each
 * answer. Keys are `${tag}-<i>`.
 */
export async function runLoad(
  client: Gateway<readonly [typeof card]>,
  options: { count: number; concurrency: number; tag: string; declineEvery?: number; retryUnknown?: boolean; onAnswered?: (answered: number) => void; stop?: () => boolean },
): Promise<LoadResult> {
  const outcomes = new Map<string, string>();
  const failures: string[] = [];
  let next = 0;
  let answered = 0;
  let unknownRetries = 0;
  let timeoutRetries = 0;
  const one = async (i: number): Promise<void> => {
    const key = `${options.tag}-${i}`;
    const number = options.declineEvery !== undefined && i % options.declineEvery === 0 ? DECLINE : APPROVE;
    const payload = { amount: { value: 1_000 + (i % 90), currency: 'EUR' }, card: { number, ...EXP } };
    // With retryUnknown, an outcome the SDK calls unknown (an `unknown` reply, or a TIMEOUT) is
    // retried with the same key, as docs/sdk.md tells a storefront to.
    const attempt = async (): Promise<string> => {
      try {
        return (await client.request('card', 'authorize', payload, { idempotencyKey: key })).status;
      } catch (error) {
        if (!options.retryUnknown || !(error instanceof TimeoutError)) throw error;
        return 'timeout';
      }
    };
    try {
      let status = await attempt();
      for (let n = 0; (status === 'unknown' || status === 'timeout') && options.retryUnknown && n < 40; n += 1) {
        if (status === 'unknown') unknownRetries += 1;
        else timeoutRetries += 1;
        await new Promise((resolve) => setTimeout(resolve, 500));
        status = await attempt();
      }
      if (outcomes.has(key)) failures.push(`${key} answered twice`);
      outcomes.set(key, status);
    } catch (error) {
      failures.push(`${key}: ${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
    }
    answered += 1;
    options.onAnswered?.(answered);
  };
  const lanes = Array.from({ length: options.concurrency }, async () => {
    while (next < options.count && !(options.stop?.() ?? false)) await one(next++);
  });
  await Promise.all(lanes);
  return { outcomes, failures, unknownRetries, timeoutRetries };
}

/** Ledger entries per merchant reference (the idempotency key) of authorizations with this tag. */
export function chargesByKey(sandbox: CardSandbox, tag: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of sandbox.ledger.entries) {
    if (!entry.merchantRef.startsWith(`${tag}-`)) continue;
    counts.set(entry.merchantRef, (counts.get(entry.merchantRef) ?? 0) + 1);
  }
  return counts;
}

export const newTag = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
