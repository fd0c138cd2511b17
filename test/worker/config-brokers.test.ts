/**
 * Node selection in both config files (src/worker/config-brokers.ts): `broker_order` and
 * `broker_failback` in the worker/gateway file and, with the same keys and meaning, in the client
 * file of `paygate request` — defaults, values reaching the STOMP options, and the errors.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClientConfig } from '../../src/cli/client-config.ts';
import { ConfigError, parseWorkerConfig } from '../../src/worker/config.ts';

const root = mkdtempSync(join(tmpdir(), 'paygate-config-brokers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(): string {
  const dir = mkdtempSync(join(root, 'cfg-'));
  mkdirSync(join(dir, 'certs'));
  for (const file of ['gateway.pem', 'gateway.key', 'client-ca.pem', 'client.pem', 'client.key']) writeFileSync(join(dir, 'certs', file), 'pem\n');
  writeFileSync(join(dir, 'card.ts'), 'export default {};\n');
  return dir;
}

const BROKERS = 'brokers: [{host: mq-primary}, {host: mq-backup}]';

const workerFile = (extra: string[]): string =>
  [
    BROKERS,
    ...extra,
    'identity: {cert: certs/gateway.pem, key: certs/gateway.key}',
    'trust: {client_ca: [certs/client-ca.pem]}',
    'providers: [{name: card, module: card.ts}]',
    'idempotency: {path: idempotency.sqlite}',
  ].join('\n');

function clientFile(dir: string, extra: string[]): string {
  const path = join(dir, `client-${Math.random().toString(36).slice(2)}.yaml`);
  const lines = [
    BROKERS,
    ...extra,
    'identity: {cert: certs/client.pem, key: certs/client.key}',
    'gateway: {certs: [certs/gateway.pem], ca: [certs/client-ca.pem]}',
    'providers: [{name: card, module: card.ts}]',
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function problemsOf(action: () => unknown): ConfigError['problems'] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('worker/gateway file: broker_order and broker_failback', () => {
  it('absent: listed order (every worker on the first reachable broker), failback every 30 s, a drain outlasting the longest provider call', () => {
    const config = parseWorkerConfig(workerFile([]), { env: {}, baseDir: folder() });
    expect(config.stomp.nodeOrder).toBe('listed');
    // The transports' default timeout (30 s) plus 10 s: a request in hand is answered and acknowledged on the node left behind.
    expect(config.stomp.failback).toEqual({ probeMs: 30_000, drainMs: 40_000 });
    const slow = parseWorkerConfig(workerFile([]).replace('module: card.ts}', 'module: card.ts, timeout_ms: 90000}').replace('{path: idempotency.sqlite}', '{path: idempotency.sqlite, lease: 120s}'), { env: {}, baseDir: folder() });
    expect(slow.stomp.failback).toEqual({ probeMs: 30_000, drainMs: 100_000 });
  });

  it('refuses a drain no longer than the longest provider call, naming the key and the call', () => {
    const problems = problemsOf(() => parseWorkerConfig(workerFile(['broker_failback: {drain_ms: 30000}']), { env: {}, baseDir: folder() }));
    expect(problems).toEqual([
      { path: 'broker_failback.drain_ms', problem: expect.stringContaining('longer than the longest provider call (30000 ms'), fix: expect.stringContaining('raise broker_failback.drain_ms') },
    ]);
  });

  it('given: reaches the STOMP options as written; unset failback keys keep their defaults', () => {
    const dir = folder();
    const random = parseWorkerConfig(workerFile(['broker_order: random']), { env: {}, baseDir: dir });
    expect(random.stomp.nodeOrder).toBe('random');
    const listed = parseWorkerConfig(workerFile(['broker_order: listed', 'broker_failback: {probe_ms: 0}']), { env: {}, baseDir: dir });
    expect(listed.stomp.nodeOrder).toBe('listed');
    expect(listed.stomp.failback).toEqual({ probeMs: 0, drainMs: 40_000 });
  });

  it('bad values are named by their key path with the fix', () => {
    const problems = problemsOf(() =>
      parseWorkerConfig(workerFile(['broker_order: roundrobin', 'broker_failback: {probe_ms: -1, drain: 5}']), { env: {}, baseDir: folder() }),
    );
    expect(problems).toEqual([
      { path: 'broker_order', problem: 'expected listed or random, got a string that does not fit', fix: expect.stringMatching(/^use listed .* or random/) },
      { path: 'broker_failback.probe_ms', problem: 'expected an integer ≥ 0 (milliseconds; 0 = never move back), got -1', fix: expect.any(String) },
      { path: 'broker_failback.drain', problem: 'unknown key', fix: 'did you mean drain_ms?' },
    ]);
  });

  it('broker_failback with broker_order: random is refused: there is nothing to move back to', () => {
    const problems = problemsOf(() => parseWorkerConfig(workerFile(['broker_order: random', 'broker_failback: {probe_ms: 1000}']), { env: {}, baseDir: folder() }));
    expect(problems).toEqual([
      { path: 'broker_failback', problem: expect.stringContaining('no effect with broker_order: random'), fix: 'remove broker_failback, or use broker_order: listed' },
    ]);
  });
});

describe('client file: the same keys', () => {
  it('absent: listed with the STOMP defaults; given: passed to the SDK as written', () => {
    const dir = folder();
    expect(loadClientConfig(clientFile(dir, [])).brokers).not.toHaveProperty('nodeOrder'); // the STOMP default (listed) applies
    const given = loadClientConfig(clientFile(dir, ['broker_order: listed', 'broker_failback: {probe_ms: 5000, drain_ms: 1000}'])).brokers;
    expect(given).toMatchObject({ nodeOrder: 'listed', failback: { probeMs: 5_000, drainMs: 1_000 } });
    expect(loadClientConfig(clientFile(dir, ['broker_order: random'])).brokers.nodeOrder).toBe('random');
  });

  it('refuses what the worker file refuses, naming the key', () => {
    const dir = folder();
    expect(problemsOf(() => loadClientConfig(clientFile(dir, ['broker_order: first'])))).toEqual([
      { path: 'broker_order', problem: expect.any(String), fix: expect.stringMatching(/^use listed/) },
    ]);
    expect(problemsOf(() => loadClientConfig(clientFile(dir, ['broker_order: random', 'broker_failback: {drain_ms: 10}'])))).toEqual([
      { path: 'broker_failback', problem: expect.stringContaining('no effect with broker_order: random'), fix: expect.any(String) },
    ]);
  });
});
