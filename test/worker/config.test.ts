/**
 * The worker's config file (src/worker/config.ts) on real files: a complete config, defaults,
 * `${env:NAME}` secrets, and the errors (each naming the key path and the fix, several at once,
 * never quoting a secret). The referenced files only need to exist: this loader does not parse
 * certificates.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_ERROR_CODES, CONFIG_KEYS, ConfigError, loadWorkerConfig, parseWorkerConfig } from '../../src/worker/config.ts';
import { PaygateError } from '../../src/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'paygate-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A config folder holding the files a full config names. */
function fixture(): string {
  const dir = mkdtempSync(join(root, 'cfg-'));
  for (const sub of ['certs', 'providers/card', 'providers/giftcard']) mkdirSync(join(dir, sub), { recursive: true });
  const pems = ['certs/mq-ca.pem', 'certs/mq-client.pem', 'certs/mq-client.key', 'certs/gateway.pem', 'certs/gateway.key', 'certs/client-ca.pem', 'certs/pinned.pem'];
  for (const file of [...pems, 'certs/card-ca.pem', 'certs/card-client.pem', 'certs/card-client.key']) {
    writeFileSync(join(dir, file), `pem of ${file}\n`);
  }
  writeFileSync(join(dir, 'providers/card/index.ts'), 'export default {};\n');
  writeFileSync(join(dir, 'providers/giftcard/index.ts'), 'export default {};\n');
  return dir;
}

const FULL = `
brokers:
  - host: mq1.internal
    port: 61614
    login: paygate
    passcode: \${env:PAYGATE_MQ_PASSCODE}
    vhost: /payments
    tls: {ca: certs/mq-ca.pem, cert: certs/mq-client.pem, key: certs/mq-client.key}
  - host: mq2.internal
heart_beat_ms: 5000
prefetch: 4
identity: {cert: certs/gateway.pem, key: certs/gateway.key}
trust:
  client_ca: [certs/client-ca.pem, certs/pinned.pem]
freshness_window_ms: 60000
queue_prefix: /queue/pg.
providers:
  - {name: card, module: providers/card/index.ts}
  - {name: giftcard, module: providers/giftcard/index.ts}
idempotency: {path: state/idempotency.sqlite, retention: 14d}
dlq_suffix: .dead
`;

const MINIMAL = `
brokers: [{host: localhost}]
identity: {cert: certs/gateway.pem, key: certs/gateway.key}
trust: {client_ca: [certs/client-ca.pem]}
providers: [{name: card, module: providers/card/index.ts}]
idempotency: {path: idempotency.sqlite}
`;

const SECRET = 's3cr3t-Passc0de-value';
const env = { PAYGATE_MQ_PASSCODE: SECRET };

/** The ConfigError thrown by `action` (fails the test when there is none). */
function configError(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** Replace one line of MINIMAL (by its key prefix) or add lines. */
function minimalWith(replacements: Record<string, string>): string {
  return MINIMAL.split('\n')
    .map((line) => {
      const key = Object.keys(replacements).find((k) => line.startsWith(`${k}:`));
      return key === undefined ? line : (replacements[key] as string);
    })
    .join('\n');
}

describe('loadWorkerConfig: a valid file', () => {
  it('loads a complete config into the STOMP and store options, paths resolved against the file', () => {
    const dir = fixture();
    writeFileSync(join(dir, 'worker.yaml'), FULL);
    const config = loadWorkerConfig(join(dir, 'worker.yaml'), { env });

    expect(config.source).toBe(join(dir, 'worker.yaml'));
    expect(config.stomp.nodes).toHaveLength(2);
    expect(config.stomp.nodes[0]).toMatchObject({ host: 'mq1.internal', port: 61614, login: 'paygate', passcode: SECRET, vhost: '/payments' });
    expect(config.stomp.nodes[0]?.tls).toMatchObject({
      ca: 'pem of certs/mq-ca.pem\n', cert: 'pem of certs/mq-client.pem\n', key: 'pem of certs/mq-client.key\n', rejectUnauthorized: true,
    });
    expect(config.stomp.nodes[1]).toEqual({ host: 'mq2.internal', port: 61_613, vhost: '/' });
    expect(config.stomp.heartBeat).toEqual({ outgoingMs: 5_000, incomingMs: 5_000 });
    expect(config.stomp.prefetch).toBe(4);
    expect(config.identity).toEqual({ cert: join(dir, 'certs/gateway.pem'), key: join(dir, 'certs/gateway.key') });
    expect(config.trust.clientCa).toEqual([join(dir, 'certs/client-ca.pem'), join(dir, 'certs/pinned.pem')]);
    expect(config.freshnessWindowMs).toBe(60_000);
    expect(config.queuePrefix).toBe('/queue/pg.');
    expect(config.dlqSuffix).toBe('.dead');
    expect(config.providers).toEqual([
      { name: 'card', module: join(dir, 'providers/card/index.ts'), options: {} },
      { name: 'giftcard', module: join(dir, 'providers/giftcard/index.ts'), options: {} },
    ]);
    expect(config.idempotency).toMatchObject({ path: join(dir, 'state/idempotency.sqlite'), retentionMs: 14 * 86_400_000 });
  });

  it('is deeply frozen', () => {
    const dir = fixture();
    const config = parseWorkerConfig(FULL, { env, baseDir: dir });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.stomp.nodes[0])).toBe(true);
    expect(Object.isFrozen(config.providers)).toBe(true);
    expect(() => (config.providers as unknown as unknown[]).push({})).toThrow(TypeError);
  });

  it('fills in every default (the config’s own and those of the STOMP layer and the store)', () => {
    const dir = fixture();
    const config = parseWorkerConfig(MINIMAL, { env: {}, baseDir: dir });
    expect(config.freshnessWindowMs).toBe(30_000);
    expect(config.queuePrefix).toBe('/queue/paygate.');
    expect(config.dlqSuffix).toBe('.dlq');
    expect(config.stomp.prefetch).toBe(10);
    expect(config.stomp.nodes).toEqual([{ host: 'localhost', port: 61_613, vhost: '/' }]);
    expect(config.stomp.heartBeat).toEqual({ outgoingMs: 10_000, incomingMs: 10_000 });
    expect(config.stomp.reconnect.enabled).toBe(true);
    expect(config.idempotency).toMatchObject({ path: join(dir, 'idempotency.sqlite'), retentionMs: 7 * 86_400_000, leaseMs: 60_000 });
  });

  it('accepts absolute paths as they are', () => {
    const dir = fixture();
    const text = MINIMAL.replaceAll('certs/', `${dir}/certs/`).replace('providers/card', `${dir}/providers/card`);
    const config = parseWorkerConfig(text, { env: {}, baseDir: join(root, 'elsewhere') });
    expect(config.identity.cert).toBe(join(dir, 'certs/gateway.pem'));
    expect(config.providers[0]?.module).toBe(join(dir, 'providers/card/index.ts'));
    expect(config.idempotency).toHaveProperty('path', join(root, 'elsewhere', 'idempotency.sqlite'));
  });

  it('a plugin may be named by package (resolved from the config folder when loaded); a file path stays a checked file', () => {
    const dir = fixture();
    const byPackage = parseWorkerConfig(minimalWith({ providers: 'providers: [{name: card, module: paygate/providers/card}, {name: acme, module: acme-plugin}]' }), { env: {}, baseDir: dir });
    expect(byPackage.providers.map((provider) => provider.module)).toEqual(['paygate/providers/card', 'acme-plugin']);
    expect(byPackage.baseDir).toBe(dir);
    // Ends like a module file, so it is a path: a missing one is reported at parse time, as before.
    const missing = configError(() => parseWorkerConfig(minimalWith({ providers: 'providers: [{name: card, module: plugins/card.js}]' }), { env: {}, baseDir: dir }));
    expect(missing.message).toContain('providers[0].module');
  });

  it.each([['500ms', 500], ['30s', 30_000], ['90m', 5_400_000], ['36h', 129_600_000], ['7d', 604_800_000]])('retention %s is %i ms', (text, ms) => {
    const config = parseWorkerConfig(minimalWith({ idempotency: `idempotency: {path: x.sqlite, retention: ${text}}` }), { env: {}, baseDir: fixture() });
    expect(config.idempotency.retentionMs).toBe(ms);
  });
});

describe('environment variables', () => {
  it('fill whole values, and may name files', () => {
    const dir = fixture();
    const text = minimalWith({ identity: 'identity: {cert: certs/gateway.pem, key: "${env:GATEWAY_KEY}"}' });
    const config = parseWorkerConfig(text, { env: { GATEWAY_KEY: join(dir, 'certs/gateway.key') }, baseDir: dir });
    expect(config.identity.key).toBe(join(dir, 'certs/gateway.key'));
  });

  it('a missing variable names the key path and the variable', () => {
    const error = configError(() => parseWorkerConfig(FULL, { env: {}, baseDir: fixture() }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.problems).toEqual([
      { path: 'brokers[0].passcode', problem: 'environment variable PAYGATE_MQ_PASSCODE is not set', fix: expect.stringContaining('set PAYGATE_MQ_PASSCODE') },
    ]);
    expect(error.message).toContain('brokers[0].passcode: environment variable PAYGATE_MQ_PASSCODE is not set — set PAYGATE_MQ_PASSCODE');
  });

  it('refuses partial interpolation and bad variable names', () => {
    const text = `${minimalWith({ brokers: 'brokers: [{host: "mq-${env:SITE}.internal", login: "${env:1BAD}"}]' })}`;
    const error = configError(() => parseWorkerConfig(text, { env: { SITE: 'a' }, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path)).toEqual(['brokers[0].host', 'brokers[0].login']);
    expect(error.problems[0]?.problem).toMatch(/whole value/);
    expect(error.problems[1]?.problem).toMatch(/not valid/);
  });

  it('never shows a secret value in an error, whatever goes wrong with it', () => {
    const dir = fixture();
    const cases: Array<[string, Record<string, string>]> = [
      // A secret where a number is expected, where a file is expected, and beside other errors.
      [minimalWith({ brokers: 'brokers: [{host: localhost, port: "${env:PAYGATE_MQ_PASSCODE}"}]' }), env],
      [minimalWith({ identity: 'identity: {cert: certs/gateway.pem, key: "${env:PAYGATE_MQ_PASSCODE}"}' }), env],
      [minimalWith({ brokers: 'brokers: [{host: localhost, passcode: "${env:PAYGATE_MQ_PASSCODE}", bogus: 1}]' }), env],
      [minimalWith({ brokers: 'brokers: [{host: "${env:PAYGATE_MQ_PASSCODE}", passcode: 12}]' }), { PAYGATE_MQ_PASSCODE: '' }],
    ];
    for (const [text, vars] of cases) {
      const error = configError(() => parseWorkerConfig(text, { env: vars, baseDir: dir }));
      expect(error.message).not.toContain(SECRET);
      expect(JSON.stringify(error.problems)).not.toContain(SECRET);
    }
    const numeric = configError(() => parseWorkerConfig(minimalWith({ brokers: 'brokers: [{host: localhost, passcode: 918273645}]' }), { env: {}, baseDir: dir }));
    expect(numeric.message).toContain('brokers[0].passcode: expected a string, got a number');
    expect(numeric.message).not.toContain('918273645');
    const fileError = configError(() => parseWorkerConfig(cases[1]?.[0] as string, { env, baseDir: dir }));
    expect(fileError.problems).toEqual([
      { path: 'identity.key', problem: 'the file named by ${env:PAYGATE_MQ_PASSCODE} does not exist', fix: expect.any(String) },
    ]);
  });
});

describe('errors name the key path and the fix', () => {
  it('an unknown key is refused, with a suggestion for a typo', () => {
    const text = `${minimalWith({ brokers: 'brokers: [{host: localhost, prot: 61613, tls: {ca: certs/mq-ca.pem, crt: x}}]' })}\nfreshness_window: 1000\n`;
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems).toEqual(
      expect.arrayContaining([
        { path: 'brokers[0].prot', problem: 'unknown key', fix: 'did you mean port?' },
        { path: 'brokers[0].tls.crt', problem: 'unknown key', fix: 'did you mean cert?' },
        { path: 'freshness_window', problem: 'unknown key', fix: expect.stringMatching(/freshness_window_ms/) },
      ]),
    );
    expect(error.problems).toHaveLength(3);
  });

  it('an unknown key far from any known one lists the known keys', () => {
    const error = configError(() => parseWorkerConfig(`${MINIMAL}\nworkers: 4\n`, { env: {}, baseDir: fixture() }));
    expect(error.problems).toEqual([{ path: 'workers', problem: 'unknown key', fix: expect.stringContaining('known keys here: brokers, heart_beat_ms, prefetch') }]);
  });

  it.each([
    ['brokers', 'brokers: {host: localhost}', 'brokers', /expected a non-empty list of broker nodes, got a mapping/],
    ['brokers', 'brokers: []', 'brokers', /non-empty list/],
    ['brokers', 'brokers: [localhost]', 'brokers[0]', /expected a mapping/],
    ['brokers', 'brokers: [{port: 61613}]', 'brokers[0].host', /expected a non-empty string, missing/],
    ['brokers', 'brokers: [{host: localhost, port: 70000}]', 'brokers[0].port', /expected an integer 1–65535, got 70000 — set the broker's STOMP port/],
    ['brokers', 'brokers: [{host: localhost, port: "61613"}]', 'brokers[0].port', /expected an integer 1–65535, got a string/],
    ['brokers', 'brokers: [{host: localhost, login: 12}]', 'brokers[0].login', /expected a string, got a number/],
    ['brokers', 'brokers: [{host: localhost, vhost: [a]}]', 'brokers[0].vhost', /got a list/],
    ['brokers', 'brokers: [{host: localhost, tls: yes}]', 'brokers[0].tls', /expected a mapping \(ca, cert, key\)/],
    ['brokers', 'brokers: [{host: localhost, tls: {ca: 1}}]', 'brokers[0].tls.ca', /expected a file path, got a number/],
    ['identity', 'identity: {cert: certs/gateway.pem}', 'identity.key', /expected a file path, missing/],
    ['identity', 'identity: certs/gateway.pem', 'identity', /expected a mapping \(cert, key\), got a string/],
    ['trust', 'trust: {client_ca: []}', 'trust.client_ca', /non-empty list of file paths/],
    ['trust', 'trust: {client_ca: [certs/client-ca.pem, 3]}', 'trust.client_ca[1]', /expected a file path, got a number/],
    ['providers', 'providers: [{name: Card!, module: providers/card/index.ts}]', 'providers[0].name', /lower-case letters/],
    ['providers', 'providers: [{name: card}]', 'providers[0].module', /expected a file path, missing/],
    ['idempotency', 'idempotency: {path: x.sqlite, retention: 7}', 'idempotency.retention', /expected a duration such as 7d/],
    ['idempotency', 'idempotency: {path: x.sqlite, retention: 7 days}', 'idempotency.retention', /a string that does not fit/],
    ['idempotency', 'idempotency: {retention: 7d}', 'idempotency.path', /missing/],
  ])('%s: %s → %s', (key, line, path, message) => {
    const error = configError(() => parseWorkerConfig(minimalWith({ [key]: line }), { env: {}, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path)).toEqual([path]);
    expect(error.message).toMatch(new RegExp(`^  ${path.replace(/[[\].]/g, '\\$&')}: `, 'm'));
    expect(error.message).toMatch(message);
    expect(error.problems[0]?.fix).toBe(CONFIG_KEYS[path.replace(/\[\d+\]/g, '[]')]?.fix);
  });

  it.each([
    ['heart_beat_ms: -1', 'heart_beat_ms'],
    ['heart_beat_ms: 1.5', 'heart_beat_ms'],
    ['prefetch: 0', 'prefetch'],
    ['freshness_window_ms: "30s"', 'freshness_window_ms'],
    ['queue_prefix: paygate.', 'queue_prefix'],
    ['dlq_suffix: ""', 'dlq_suffix'],
  ])('top-level %s → %s', (line, path) => {
    const error = configError(() => parseWorkerConfig(`${MINIMAL}\n${line}\n`, { env: {}, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path)).toEqual([path]);
    expect(error.problems[0]?.fix).toBe(CONFIG_KEYS[path]?.fix);
  });

  it('reports several problems at once, one line each', () => {
    const text = minimalWith({ brokers: 'brokers: [{host: "", port: 0}]', identity: 'identity: {cert: 1, key: 2}' });
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path).sort()).toEqual(['brokers[0].host', 'brokers[0].port', 'identity.cert', 'identity.key']);
    expect(error.message.split('\n')).toHaveLength(5);
    expect(error.message).toMatch(/\(4 problems\)/);
  });

  it('a file that is not a mapping', () => {
    const error = configError(() => parseWorkerConfig('- a\n- b\n', { env: {}, baseDir: fixture() }));
    expect(error.problems).toEqual([{ path: '(file)', problem: expect.stringMatching(/^expected a mapping/), fix: expect.any(String) }]);
  });

  it('duplicate provider names name both entries', () => {
    const text = minimalWith({
      providers: 'providers: [{name: card, module: providers/card/index.ts}, {name: gift, module: providers/giftcard/index.ts}, {name: card, module: providers/giftcard/index.ts}]',
    });
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems).toEqual([{ path: 'providers[2].name', problem: 'the same name as providers[0].name', fix: 'give each provider a unique name' }]);
  });

  it('refuses a provider named feed: its queues would fall among the events queues the feed login reads', () => {
    const text = minimalWith({ providers: 'providers: [{name: feed, module: providers/card/index.ts}]' });
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems).toEqual([{ path: 'providers[0].name', problem: 'the name feed is reserved for the audit events queues (paygate.feed.*)', fix: 'give the provider another name' }]);
  });
});

/** MINIMAL with one provider entry written as the given YAML flow mapping body (after name and module). */
function withProvider(settings: string): string {
  return minimalWith({ providers: `providers: [{name: card, module: providers/card/index.ts, ${settings}}]` });
}

describe('provider settings', () => {
  const CARD = `
providers:
  - name: card
    module: providers/card/index.ts
    endpoint: https://cards.example.com:8443/soap
    tls: {ca: certs/card-ca.pem, cert: certs/card-client.pem, key: certs/card-client.key}
    timeout_ms: 20000
    breaker:
      error_threshold_percentage: 40
      volume_threshold: 5
      rolling_window_ms: 20000
      rolling_buckets: 20
      reset_timeout_ms: 15000
      capacity: 8
    options:
      merchant_id: M-1001
      password: "\${env:CARD_PASSWORD}"
      retries: {count: 2}
  - {name: giftcard, module: providers/giftcard/index.ts}
`;

  it('a full entry resolves: TLS files read, breaker keys under the breaker module’s names, options as written', () => {
    const dir = fixture();
    const text = minimalWith({ providers: CARD });
    const config = parseWorkerConfig(text, { env: { CARD_PASSWORD: SECRET }, baseDir: dir });
    expect(config.providers).toEqual([
      {
        name: 'card',
        module: join(dir, 'providers/card/index.ts'),
        endpoint: 'https://cards.example.com:8443/soap',
        tls: { ca: 'pem of certs/card-ca.pem\n', cert: 'pem of certs/card-client.pem\n', key: 'pem of certs/card-client.key\n' },
        timeoutMs: 20_000,
        breaker: { errorThresholdPercentage: 40, volumeThreshold: 5, rollingCountTimeout: 20_000, rollingCountBuckets: 20, resetTimeout: 15_000, capacity: 8 },
        options: { merchant_id: 'M-1001', password: SECRET, retries: { count: 2 } },
      },
      { name: 'giftcard', module: join(dir, 'providers/giftcard/index.ts'), options: {} },
    ]);
    const card = config.providers[0];
    expect(Object.isFrozen(card?.tls)).toBe(true);
    expect(Object.isFrozen(card?.breaker)).toBe(true);
    expect(Object.isFrozen(card?.options)).toBe(true);
    expect(Object.isFrozen(card?.options['retries'])).toBe(true);
  });

  it('only the breaker keys given are set (the plugin’s defaults apply to the rest)', () => {
    const config = parseWorkerConfig(withProvider('breaker: {capacity: 3}'), { env: {}, baseDir: fixture() });
    expect(config.providers[0]?.breaker).toEqual({ capacity: 3 });
    expect(config.providers[0]).not.toHaveProperty('endpoint');
    expect(config.providers[0]).not.toHaveProperty('tls');
  });

  it('${env:…} inside options fills the value; an unset variable names the option’s path', () => {
    const dir = fixture();
    const text = withProvider('options: {user: "${env:CARD_USER}", password: "${env:CARD_PASSWORD}"}');
    expect(parseWorkerConfig(text, { env: { CARD_USER: 'pg', CARD_PASSWORD: SECRET }, baseDir: dir }).providers[0]?.options).toEqual({ user: 'pg', password: SECRET });
    const error = configError(() => parseWorkerConfig(text, { env: { CARD_USER: 'pg' }, baseDir: dir }));
    expect(error.problems).toEqual([
      { path: 'providers[0].options.password', problem: 'environment variable CARD_PASSWORD is not set', fix: expect.stringContaining('set CARD_PASSWORD') },
    ]);
  });

  it.each([
    ['endpoint: "http://cards.example.com/soap"', 'providers[0].endpoint', /plain http is refused/, /https:\/\/host/],
    ['endpoint: "https://pg:hunter2@cards.example.com/soap"', 'providers[0].endpoint', /carries credentials/, /credentials in the provider's options/],
    ['endpoint: "https://cards.example.com/soap?key=abc"', 'providers[0].endpoint', /has a query/, /https:\/\/host/],
    ['endpoint: "https://cards.example.com/soap#frag"', 'providers[0].endpoint', /has a fragment/, /https:\/\/host/],
    ['endpoint: "cards.example.com"', 'providers[0].endpoint', /not a URL/, /https:\/\/host/],
    ['endpoint: 443', 'providers[0].endpoint', /expected an https:\/\/ URL .*, got a number/, /set the provider's endpoint/],
    ['tls: {cert: certs/card-client.pem}', 'providers[0].tls.key', /missing while tls.cert is given/, /both tls.cert and tls.key, or neither/],
    ['tls: {key: certs/card-client.key}', 'providers[0].tls.cert', /missing while tls.key is given/, /both tls.cert and tls.key, or neither/],
    ['tls: certs/card-ca.pem', 'providers[0].tls', /expected a mapping \(ca, cert, key\), got a string/, /give TLS file paths/],
    ['timeout_ms: 0', 'providers[0].timeout_ms', /expected an integer 1–600000 \(milliseconds\), got 0/, /per-call deadline/],
    ['timeout_ms: 2.5', 'providers[0].timeout_ms', /expected an integer 1–600000 \(milliseconds\), got a number/, /per-call deadline/],
    ['breaker: {error_threshold_percentage: 150}', 'providers[0].breaker.error_threshold_percentage', /expected a number 1–99 \(percent\), got 150/, /share of failed calls/],
    ['breaker: {capacity: 0}', 'providers[0].breaker.capacity', /expected an integer 1–100000, got 0/, /calls in flight/],
    ['breaker: {volume_threshold: 1.5}', 'providers[0].breaker.volume_threshold', /got 1.5/, /how many calls/],
    ['breaker: {rolling_window_ms: 100, rolling_buckets: 200}', 'providers[0].breaker.rolling_buckets', /at most rolling_window_ms, got 200/, /slices/],
    ['breaker: {reset_timeout_ms: "30s"}', 'providers[0].breaker.reset_timeout_ms', /got a string/, /open breaker waits/],
    ['breaker: {volume_treshold: 5}', 'providers[0].breaker.volume_treshold', /unknown key/, /^did you mean volume_threshold\?$/],
    ['breaker: {timeout: 5000}', 'providers[0].breaker.timeout', /unknown key/, /known keys here: error_threshold_percentage, volume_threshold, rolling_window_ms/],
    ['breaker: [capacity]', 'providers[0].breaker', /expected a mapping of breaker options .*, got a list/, /breaker options to change/],
    ['options: [merchant_id]', 'providers[0].options', /expected a mapping of the plugin's own settings, got a list/, /key: value lines under options/],
    ['options: M-1001', 'providers[0].options', /got a string/, /key: value lines under options/],
    ['endpiont: "https://cards.example.com"', 'providers[0].endpiont', /unknown key/, /^did you mean endpoint\?$/],
  ])('%s → %s', (settings, path, problem, fix) => {
    const error = configError(() => parseWorkerConfig(withProvider(settings), { env: {}, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path)).toEqual([path]);
    expect(error.problems[0]?.problem).toMatch(problem);
    expect(error.problems[0]?.fix).toMatch(fix);
    expect(error.message).toContain(`  ${path}: ${error.problems[0]?.problem} — ${error.problems[0]?.fix}`);
  });

  it('a missing provider TLS file is named with its key path, like the broker’s', () => {
    const dir = fixture();
    rmSync(join(dir, 'certs/card-ca.pem'));
    const error = configError(() => parseWorkerConfig(minimalWith({ providers: CARD }), { env: { CARD_PASSWORD: SECRET }, baseDir: dir }));
    expect(error.problems).toEqual([
      { path: 'providers[0].tls.ca', problem: `${join(dir, 'certs/card-ca.pem')} does not exist`, fix: expect.stringContaining("CA(s) that signed the provider's certificate") },
    ]);
  });

  it('reports every bad setting of an entry at once', () => {
    const text = withProvider('endpoint: "http://x.example", timeout_ms: -1, breaker: {error_threshold_percentage: 150}, options: 3');
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path).sort()).toEqual([
      'providers[0].breaker.error_threshold_percentage', 'providers[0].endpoint', 'providers[0].options', 'providers[0].timeout_ms',
    ]);
  });

  it('never shows a value from the settings in an error, secret-looking or not', () => {
    const dir = fixture();
    const vars = { CARD_PASSWORD: SECRET };
    const cases = [
      withProvider(`endpoint: "https://pg:${SECRET}@cards.example.com/soap"`),
      withProvider(`endpoint: "https://cards.example.com/soap?token=${SECRET}"`),
      withProvider(`endpoint: "http://${SECRET}.example.com"`),
      withProvider(`endpoint: "${SECRET}"`),
      withProvider('endpoint: "${env:CARD_PASSWORD}"'),
      withProvider('options: "${env:CARD_PASSWORD}"'),
      withProvider(`options: [${SECRET}]`),
      withProvider('options: {password: "${env:CARD_PASSWORD}"}, timeout_ms: "${env:CARD_PASSWORD}"'),
      withProvider('options: {password: "${env:CARD_PASSWORD}"}, breaker: {capacity: "${env:CARD_PASSWORD}"}'),
      withProvider('tls: {ca: "${env:CARD_PASSWORD}"}'),
      withProvider(`options: {password: ${SECRET}}, tls: {cert: certs/card-client.pem}, bogus: ${SECRET}`),
    ];
    for (const text of cases) {
      const error = configError(() => parseWorkerConfig(text, { env: vars, baseDir: dir }));
      expect(error.message, text).not.toContain(SECRET);
      expect(JSON.stringify(error.problems), text).not.toContain(SECRET);
    }
  });
});

describe('the gateway: section and idempotency.lease', () => {
  it('absent: the pool defaults (2 workers, status on 127.0.0.1:9464, 30 s drain, restart policy)', () => {
    const config = parseWorkerConfig(MINIMAL, { env: {}, baseDir: fixture() });
    expect(config.gateway).toEqual({
      workers: 2,
      http: { host: '127.0.0.1', port: 9464 },
      drainGraceMs: 30_000,
      readyTimeoutMs: 30_000,
      restart: { backoffInitialMs: 500, backoffMaxMs: 30_000, maxRestarts: 5, withinMs: 60_000 },
    });
  });

  it('given: durations in ms, http: false turns the endpoint off, unset keys keep their defaults', () => {
    const text = `${MINIMAL}gateway:\n  workers: 4\n  http: false\n  drain_grace: 5s\n  restart: {backoff_initial: 100ms, max_restarts: 0, within: 2m}\n`;
    const config = parseWorkerConfig(text, { env: {}, baseDir: fixture() });
    expect(config.gateway).toEqual({
      workers: 4,
      http: undefined,
      drainGraceMs: 5_000,
      readyTimeoutMs: 30_000,
      restart: { backoffInitialMs: 100, backoffMaxMs: 30_000, maxRestarts: 0, withinMs: 120_000 },
    });
  });

  it('bad values are named by their key path with the fix, all at once', () => {
    const text = `${MINIMAL}gateway:\n  workers: 0\n  http: {port: 70000}\n  drain_grace: soon\n  restart: {within: 0s, max_restart: 3}\n`;
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path).sort()).toEqual(['gateway.drain_grace', 'gateway.http.port', 'gateway.restart.max_restart', 'gateway.restart.within', 'gateway.workers']);
    expect(error.problems.find((p) => p.path === 'gateway.restart.max_restart')?.fix).toBe('did you mean max_restarts?');
    expect(error.problems.find((p) => p.path === 'gateway.workers')?.problem).toBe('expected an integer 1–64, got 0');
  });

  it('idempotency.lease must outlast every provider call', () => {
    const dir = fixture();
    const ok = parseWorkerConfig(minimalWith({ idempotency: 'idempotency: {path: idempotency.sqlite, lease: 3s}', providers: 'providers: [{name: card, module: providers/card/index.ts, timeout_ms: 2000}]' }), { env: {}, baseDir: dir });
    expect(ok.idempotency.leaseMs).toBe(3_000);
    const short = configError(() => parseWorkerConfig(minimalWith({ idempotency: 'idempotency: {path: idempotency.sqlite, lease: 20s}' }), { env: {}, baseDir: dir }));
    expect(short.problems).toEqual([expect.objectContaining({ path: 'idempotency.lease', problem: expect.stringContaining('30000 ms') })]);
  });
});

describe('idempotency: one engine, SQLite (path) or PostgreSQL (url)', () => {
  it('a url selects PostgreSQL, its password from the environment; pool_size and the timings as written', () => {
    const url = `postgres://paygate:${SECRET}@db.internal:5432/paygate`;
    const config = parseWorkerConfig(minimalWith({ idempotency: 'idempotency: {url: "${env:PAYGATE_STORE_URL}", pool_size: 4, retention: 2d}' }), { env: { PAYGATE_STORE_URL: url }, baseDir: fixture() });
    expect(config.idempotency).toEqual(expect.objectContaining({ url, poolSize: 4, retentionMs: 2 * 86_400_000, leaseMs: 60_000, migrate: true }));
    expect(config.idempotency).not.toHaveProperty('path');
  });

  it('both or neither of path and url, pool_size without url, a url that is not postgres://: named, the url never shown', () => {
    const dir = fixture();
    const url = `postgres://paygate:${SECRET}@db/paygate`;
    const both = configError(() => parseWorkerConfig(minimalWith({ idempotency: 'idempotency: {path: x.sqlite, url: "${env:U}"}' }), { env: { U: url }, baseDir: dir }));
    expect(both.problems.map((p) => p.path)).toEqual(['idempotency']);
    expect(both.message).not.toContain(SECRET);
    const neither = configError(() => parseWorkerConfig(minimalWith({ idempotency: 'idempotency: {retention: 1d}' }), { env: {}, baseDir: dir }));
    expect(neither.problems.map((p) => p.path)).toEqual(['idempotency.path']);
    expect(neither.message).toContain('neither path (SQLite) nor url (PostgreSQL)');
    const pool = configError(() => parseWorkerConfig(minimalWith({ idempotency: 'idempotency: {path: x.sqlite, pool_size: 3}' }), { env: {}, baseDir: dir }));
    expect(pool.problems.map((p) => p.path)).toEqual(['idempotency.pool_size']);
    const mysql = configError(() => parseWorkerConfig(minimalWith({ idempotency: 'idempotency: {url: "${env:U}"}' }), { env: { U: `mysql://root:${SECRET}@db/x` }, baseDir: dir }));
    expect(mysql.problems.map((p) => p.path)).toEqual(['idempotency.url']);
    expect(mysql.message).not.toContain(SECRET);
  });
});

describe('who may sign, where replies go', () => {
  it('absent: nothing set, so the worker\'s defaults apply (client role, brokers\' reply queues, 3 attempts)', () => {
    const config = parseWorkerConfig(MINIMAL, { env: {}, baseDir: fixture() });
    expect(config.trust.clientRoles).toBeUndefined();
    expect(config.replyToPattern).toBeUndefined();
    expect(config.maxReplyAttempts).toBeUndefined();
  });

  it('given: trust.client_roles ([] allowed: no role check), reply_to_pattern and max_reply_attempts as written', () => {
    const dir = fixture();
    const text = minimalWith({ trust: 'trust: {client_ca: [certs/client-ca.pem], client_roles: [1.3.6.1.5.5.7.3.2]}' }) +
      'reply_to_pattern: "/queue/shop-replies\\\\.[a-z0-9-]+"\nmax_reply_attempts: 5\n';
    const config = parseWorkerConfig(text, { env: {}, baseDir: dir });
    expect(config.trust.clientRoles).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(config.replyToPattern).toBe('/queue/shop-replies\\.[a-z0-9-]+');
    expect(config.maxReplyAttempts).toBe(5);
    const none = parseWorkerConfig(minimalWith({ trust: 'trust: {client_ca: [certs/client-ca.pem], client_roles: []}' }), { env: {}, baseDir: dir });
    expect(none.trust.clientRoles).toEqual([]);
  });

  it('bad values are named by their key path with the fix, all at once', () => {
    const text = minimalWith({ trust: 'trust: {client_ca: [certs/client-ca.pem], client_roles: [clientAuth]}' }) + 'reply_to_pattern: "(unclosed"\nmax_reply_attempts: 0\n';
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems.map((p) => p.path).sort()).toEqual(['max_reply_attempts', 'reply_to_pattern', 'trust.client_roles[0]']);
    expect(error.problems.find((p) => p.path === 'trust.client_roles[0]')?.fix).toContain('dotted decimal');
  });
});

describe('referenced files', () => {
  it('relative paths are resolved against the config file’s folder, not the current directory', () => {
    const dir = fixture();
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc/worker.yaml'), MINIMAL.replaceAll('certs/', '../certs/').replace('providers/card', '../providers/card'));
    const config = loadWorkerConfig(join(dir, 'etc/worker.yaml'), { env: {} });
    expect(config.identity.key).toBe(join(dir, 'certs/gateway.key'));
    expect(config.providers[0]?.module).toBe(join(dir, 'providers/card/index.ts'));
    expect(config.idempotency).toHaveProperty('path', join(dir, 'etc/idempotency.sqlite'));
  });

  it('every missing file is named with its key path', () => {
    const dir = fixture();
    rmSync(join(dir, 'certs/gateway.key'));
    rmSync(join(dir, 'certs/mq-ca.pem'));
    rmSync(join(dir, 'providers/giftcard/index.ts'));
    const error = configError(() => parseWorkerConfig(FULL, { env, baseDir: dir }));
    expect(error.problems).toEqual([
      { path: 'brokers[0].tls.ca', problem: `${join(dir, 'certs/mq-ca.pem')} does not exist`, fix: expect.stringContaining("resolved against the config file's folder") },
      { path: 'identity.key', problem: `${join(dir, 'certs/gateway.key')} does not exist`, fix: expect.stringContaining("private key") },
      { path: 'providers[1].module', problem: `${join(dir, 'providers/giftcard/index.ts')} does not exist`, fix: expect.any(String) },
    ]);
  });

  it('a folder where a file is expected is refused', () => {
    const dir = fixture();
    const error = configError(() => parseWorkerConfig(minimalWith({ providers: 'providers: [{name: card, module: providers/card}]' }), { env: {}, baseDir: dir }));
    expect(error.problems).toEqual([{ path: 'providers[0].module', problem: `${join(dir, 'providers/card')} is not a file`, fix: expect.any(String) }]);
  });

  it('a missing config file is a CONFIG_INVALID naming it', () => {
    const path = join(root, 'nope', 'worker.yaml');
    const error = configError(() => loadWorkerConfig(path, { env: {} }));
    expect(error.message).toContain(path);
    expect(error.problems).toEqual([{ path: '(file)', problem: 'cannot be read (ENOENT)', fix: expect.any(String) }]);
  });
});

describe('YAML', () => {
  it('a syntax error is a CONFIG_INVALID with the line', () => {
    const error = configError(() => parseWorkerConfig('brokers: [{host: localhost\nidentity: {', { env: {}, baseDir: fixture() }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('(file)');
    expect(error.problems[0]?.problem).toMatch(/line \d+, column \d+/);
    expect(error.cause).toBeInstanceOf(PaygateError);
  });

  it('anchors and aliases are refused (the wire’s decodeYaml)', () => {
    const text = `${MINIMAL}\nx-defaults: &node {host: localhost}\n`.replace('brokers: [{host: localhost}]', 'brokers: [*node]');
    const error = configError(() => parseWorkerConfig(text, { env: {}, baseDir: fixture() }));
    expect(error.problems[0]?.path).toBe('(file)');
    expect(error.problems[0]?.problem).toMatch(/anchor|alias/i);
    expect((error.cause as PaygateError).code).toBe('YAML_INVALID');
  });

  it('tags are refused', () => {
    const error = configError(() => parseWorkerConfig(`${MINIMAL}\nprefetch: !!int "4"\n`, { env: {}, baseDir: fixture() }));
    expect((error.cause as PaygateError).code).toBe('YAML_INVALID');
  });
});

describe('the error type and the docs', () => {
  it('ConfigError is a PaygateError with a documented code', () => {
    const error = configError(() => parseWorkerConfig('{}', { env: {} }));
    expect(error).toBeInstanceOf(PaygateError);
    expect(error.name).toBe('ConfigError');
    expect(CONFIG_ERROR_CODES).toContain(error.code);
  });

  it('docs/operations.md documents every key', () => {
    const docs = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('\n## Worker configuration'));
    expect(section.length).toBeGreaterThan(100);
    const keys = Object.keys(CONFIG_KEYS).filter((k) => k !== '' && !k.endsWith('[]'));
    for (const key of keys) expect(section, key).toContain(`\`${key}\``);
    expect(section).toContain('${env:');
  });
});
