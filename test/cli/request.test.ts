// `paygate request PROVIDER TYPE --data FILE.yaml --config FILE`, the real
// bin in a child process, against a real worker on the embedded broker.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Worker } from '../../src/worker/index.ts';
import { counter, counting } from '../fixtures/counting-provider.ts';
import { asRole, parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { roleNode } from '../integration/support.ts';
import { runPaygate, uniquePrefix, writeClientConfig, type CliRun } from '../integration/request-path-support.ts';

const paygate = (...args: string[]): Promise<CliRun> => runPaygate(args);

const YEAR = new Date().getFullYear() + 2;

describe('paygate request', () => {
  let broker: TestBroker;
  let pki: TestPki;
  let dir: string;
  let worker: Worker;
  let config: string;
  const queuePrefix = uniquePrefix();

  const dataFile = (name: string, yaml: string): string => {
    const path = join(dir, name);
    writeFileSync(path, yaml);
    return path;
  };
  const authorize = (value: number, order: string): string =>
    `amount: {value: ${value}, currency: EUR}\ncard: {number: "4111111111111111", exp_month: 12, exp_year: ${YEAR}, cvc: "123"}\norder_id: ${order}\n`;

  beforeAll(async () => {
    broker = await startTestBroker(parseTestBrokers('embedded')[0] as never);
    pki = await makeTestPki({ algo: 'ec' });
    dir = makeTempDir('cli-request');
    worker = await Worker.start({
      stomp: { nodes: [roleNode(broker.descriptor, 'worker')] },
      identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
      trust: [pki.ca.certPem],
      providers: [counting],
      idempotency: { path: join(dir, 'idempotency.sqlite') },
      queuePrefix,
    });
    config = writeClientConfig(dir, asRole(broker.descriptor, 'storefront'), pki, queuePrefix);
  });
  afterAll(async () => {
    await worker?.stop({ graceMs: 1_000 });
    await broker?.stop();
  });

  it('prints the approved reply as YAML and exits 0', async () => {
    const run = await paygate('request', 'counting', 'authorize', '--data', dataFile('ok.yaml', authorize(1999, 'cli-1')), '--config', config, '--idempotency-key', 'cli-1');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const reply = parseYaml(run.stdout) as Record<string, unknown>;
    expect(reply).toMatchObject({ status: 'approved', idempotency_key: 'cli-1', result: { amount: { value: 1999, currency: 'EUR' } } });
    expect(counter.calls('cli-1')).toBe(1);
  });

  it('a decline is an answer: printed, exit 0', async () => {
    const run = await paygate('request', 'counting', 'authorize', '--data', dataFile('decline.yaml', authorize(2051, 'cli-2')), '--config', config);
    expect(run.code).toBe(0);
    expect(parseYaml(run.stdout)).toMatchObject({ status: 'declined', error: { code: 'CARD_DECLINED', retryable: false } });
  });

  it('an error reply: exit 2 and one stderr line with the remote code (same key, other payload → IDEMPOTENCY_CONFLICT)', async () => {
    const run = await paygate('request', 'counting', 'authorize', '--data', dataFile('conflict.yaml', authorize(777, 'cli-1')), '--config', config, '--idempotency-key', 'cli-1');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^paygate: IDEMPOTENCY_CONFLICT: .+\n$/);
  });

  it('a payload the schema refuses is never sent: exit 2, VALIDATION_FAILED with paths and no card number', async () => {
    const before = counter.total;
    const bad = 'amount: {value: -5, currency: EUR}\ncard: {number: "4111111111111112", exp_month: 12, exp_year: 2030}\norder_id: x\n';
    const run = await paygate('request', 'counting', 'authorize', '--data', dataFile('bad.yaml', bad), '--config', config);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^paygate: VALIDATION_FAILED: .*card\.number/);
    expect(findPans(run.stderr)).toEqual([]);
    expect(run.stderr).not.toContain('4111111111111112');
    expect(counter.total).toBe(before);
  });

  it('usage and config problems: unknown provider, unknown type, bad config → exit 2 with a clear line', async () => {
    const data = dataFile('any.yaml', authorize(100, 'x'));
    const unknownProvider = await paygate('request', 'nosuch', 'authorize', '--data', data, '--config', config);
    expect(unknownProvider.code).toBe(2);
    expect(unknownProvider.stderr).toMatch(/^paygate: UNKNOWN_PROVIDER: provider nosuch is not in .+ \(it lists: counting\)\n$/);
    const unknownType = await paygate('request', 'counting', 'refund', '--data', data, '--config', config);
    expect(unknownType.code).toBe(2);
    expect(unknownType.stderr).toMatch(/^paygate: VALIDATION_FAILED: /);
    const badConfig = dataFile('bad-config.yaml', 'brokers: []\nidentity: {cert: nope}\n');
    const invalid = await paygate('request', 'counting', 'authorize', '--data', data, '--config', badConfig);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^paygate: CONFIG_INVALID: invalid client configuration .*\n {2}brokers: /);
  });

  it('no worker on the queue: TIMEOUT after --timeout, exit 2, the line says the outcome is unknown', async () => {
    const lonely = writeClientConfig(dir, asRole(broker.descriptor, 'storefront'), pki, uniquePrefix());
    const run = await paygate('request', 'counting', 'authorize', '--data', dataFile('t.yaml', authorize(100, 't')), '--config', lonely, '--timeout', '300');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^paygate: TIMEOUT: .*outcome unknown/);
  });
});
