/**
 * The worker's `events` config key and option (src/worker/config-events.ts, options.ts): absent
 * means no events; present, the queue defaults to `/queue/paygate.feed.events`, the recipient
 * file is resolved and checked like every file of the config and read into the worker option;
 * mistakes are reported with the key and the fix, never the value; a recipient that is not a
 * certificate stops the worker's start before it connects anywhere.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, ConfigError, parseWorkerConfig } from '../../src/worker/config.ts';
import { workerOptionsFromConfig } from '../../src/worker/from-config.ts';
import { DEFAULT_EVENTS_QUEUE, parseWorkerOptions, Worker } from '../../src/worker/index.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { counting } from '../fixtures/counting-provider.ts';

const root = mkdtempSync(join(tmpdir(), 'paygate-events-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function configDir(): Promise<string> {
  const pki = await makeTestPki();
  const dir = mkdtempSync(join(root, 'cfg-'));
  writeFileSync(join(dir, 'gateway.pem'), pki.gateway.certPem);
  writeFileSync(join(dir, 'gateway.key'), pki.gateway.keyPem);
  writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
  writeFileSync(join(dir, 'feed.pem'), pki.feed.certPem);
  return dir;
}

const BASE = `
brokers: [{host: 127.0.0.1, port: 1}]
identity: {cert: gateway.pem, key: gateway.key}
trust: {client_ca: [ca.pem]}
providers: [{name: counting, module: ${fileURLToPath(new URL('../fixtures/counting-provider.ts', import.meta.url))}}]
idempotency: {path: idempotency.sqlite}
`;

function problemsOf(run: () => unknown): ConfigError['problems'] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('events in the worker config', () => {
  it('absent: no events key in the config nor in the worker options', async () => {
    const dir = await configDir();
    const config = parseWorkerConfig(BASE, { baseDir: dir, env: {} });
    expect(config.events).toBeUndefined();
    expect(parseWorkerOptions({ ...(await minimalOptions()) }).events).toBeUndefined();
  });

  it('present: the queue defaults, the recipient is resolved and read into the option', async () => {
    const dir = await configDir();
    const pki = await makeTestPki();
    const config = parseWorkerConfig(`${BASE}events: {recipient: feed.pem}\n`, { baseDir: dir, env: {} });
    expect(config.events).toEqual({ queue: DEFAULT_EVENTS_QUEUE, recipient: join(dir, 'feed.pem') });
    expect(DEFAULT_EVENTS_QUEUE).toBe('/queue/paygate.feed.events');
    const options = await workerOptionsFromConfig(config);
    expect(options.events).toEqual({ queue: DEFAULT_EVENTS_QUEUE, recipient: pki.feed.certPem });

    const other = parseWorkerConfig(`${BASE}events: {queue: /queue/paygate.feed.eu-west, recipient: feed.pem}\n`, { baseDir: dir, env: {} });
    expect(other.events?.queue).toBe('/queue/paygate.feed.eu-west');
  });

  it('mistakes name the key and the fix, never the value', async () => {
    const dir = await configDir();
    const problems = problemsOf(() => parseWorkerConfig(`${BASE}events: {queue: "topic secret-name", recipient: missing.pem, extra: 1}\n`, { baseDir: dir, env: {} }));
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['events.queue', 'events.extra']));
    expect(problems.find((p) => p.path === 'events.queue')?.fix).toBe(CONFIG_KEYS['events.queue']?.fix);
    expect(JSON.stringify(problems)).not.toContain('secret-name');

    const missing = problemsOf(() => parseWorkerConfig(`${BASE}events: {recipient: missing.pem}\n`, { baseDir: dir, env: {} }));
    expect(missing).toEqual([expect.objectContaining({ path: 'events.recipient', problem: expect.stringContaining('does not exist') as unknown as string })]);
    expect(problemsOf(() => parseWorkerConfig(`${BASE}events: {}\n`, { baseDir: dir, env: {} })).map((p) => p.path)).toEqual(['events.recipient']);
  });

  it('a recipient that is not a certificate fails the start before any connection (port 1 would refuse)', async () => {
    const options = { ...(await minimalOptions()), events: { recipient: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' } };
    await expect(Worker.start(options)).rejects.toMatchObject({ name: 'WireError' });
  });
});

async function minimalOptions(): Promise<Parameters<typeof Worker.start>[0]> {
  const pki = await makeTestPki();
  return {
    stomp: { nodes: [{ host: '127.0.0.1', port: 1 }], connectTimeoutMs: 1_000 },
    identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
    trust: [pki.ca.certPem],
    providers: [counting],
    idempotency: { path: join(mkdtempSync(join(root, 'store-')), 'idempotency.sqlite') },
  };
}
