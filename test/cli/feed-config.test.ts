// The feed server's config file (src/cli/feed-config.ts): defaults, resolved paths and TLS,
// `${env:NAME}`, and every problem reported at once with its path and fix, never a value.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFeedConfig } from '../../src/cli/feed-config.ts';
import { SIGNER_ROLE_OIDS } from '../../src/wire/index.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';

const HASH = 'ab'.repeat(32);

describe('feed server config', () => {
  let pki: TestPki;
  let dir: string;
  beforeAll(async () => {
    pki = await makeTestPki({ algo: 'ec' });
    dir = makeTempDir('feed-config');
    writeFileSync(join(dir, 'tls.crt'), pki.tls.certPem);
    writeFileSync(join(dir, 'tls.key'), pki.tls.keyPem);
  });
  const parse = (yaml: string, env: Record<string, string> = {}) => parseFeedConfig(yaml, { baseDir: dir, env, source: 'feed.yaml' });

  it('a minimal file: loopback HTTP on 8080, the store under the file, the store and page defaults, no consumer', () => {
    const config = parse('store: {path: feed.sqlite}\n');
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.store).toMatchObject({ path: join(dir, 'feed.sqlite'), defaultPageSize: 1000, maxPageSize: 10_000, synchronous: 'FULL' });
    expect(config.maxEntryBytes).toBe(1024 * 1024);
    expect(config.clients).toEqual([]);
    expect(config.events).toBeUndefined();
    expect(config.checkpoints).toBeUndefined();
    expect(Object.isFrozen(config.store)).toBe(true);
  });

  it('with an identity and no checkpoints key: checkpoints every minute on audit and payments', () => {
    const config = parse(`store: {path: feed.sqlite}\nidentity: {cert: "${pki.feed.certPath}", key: "${pki.feed.keyPath}"}\n`);
    expect(config.checkpoints).toEqual({ intervalMs: 60_000, feeds: ['audit', 'payments'] });
    expect(parse(`store: {path: feed.sqlite}\nidentity: {cert: "${pki.feed.certPath}", key: "${pki.feed.keyPath}"}\ncheckpoints: {interval: 5s}\n`).checkpoints)
      .toEqual({ intervalMs: 5_000, feeds: ['audit', 'payments'] });
  });

  it('a full file: TLS read, tokens lower-cased, checkpoints, events with their brokers, trust and defaults', () => {
    const config = parse(
      [
        'listen: {host: 0.0.0.0, port: 8443}',
        'public_url: https://feeds.example.com/',
        'tls: {cert: tls.crt, key: tls.key}',
        'store: {path: /var/tmp/x.sqlite, page_size: 50, max_page_size: 500, synchronous: NORMAL}',
        `clients: [{name: reader, token_sha256: "${HASH.toUpperCase()}", feeds: {audit: [read], "*": [read, append]}}]`,
        `identity: {cert: "${pki.feed.certPath}", key: "${pki.feed.keyPath}"}`,
        'checkpoints: {interval: 5m, feeds: [audit, payments]}',
        'events:',
        '  brokers: [{host: 127.0.0.1, port: 61613, login: feed, passcode: "${env:MQ_PASS}"}]',
        `  trust: {gateway_ca: ["${pki.ca.certPath}"]}`,
        '  heart_beat_ms: 2000',
      ].join('\n'),
      { MQ_PASS: 'secret-pass' },
    );
    expect(config.tls?.cert).toBe(pki.tls.certPem);
    expect(config.publicUrl).toBe('https://feeds.example.com');
    expect(config.store).toMatchObject({ path: '/var/tmp/x.sqlite', defaultPageSize: 50, maxPageSize: 500, synchronous: 'NORMAL' });
    expect(config.clients).toEqual([{ name: 'reader', tokenSha256: HASH, feeds: { audit: ['read'], '*': ['read', 'append'] } }]);
    expect(config.checkpoints).toEqual({ intervalMs: 300_000, feeds: ['audit', 'payments'] });
    expect(config.events).toMatchObject({ queue: '/queue/paygate.feed.events', dlqSuffix: '.dlq', prefetch: 200, trust: { gatewayCa: [pki.ca.certPath] } });
    expect(config.events?.stomp.nodes[0]).toMatchObject({ host: '127.0.0.1', port: 61613, login: 'feed', passcode: 'secret-pass' });
    expect(config.events?.stomp.heartBeat).toEqual({ outgoingMs: 2000, incomingMs: 2000 });
    expect(config.events?.stomp.prefetch).toBe(200);
  });

  it('gateway_roles are passed through; [] switches the check off', () => {
    const base = `store: {path: f.sqlite}\nidentity: {cert: "${pki.feed.certPath}", key: "${pki.feed.keyPath}"}\nevents: {brokers: [{host: h}], trust: {gateway_ca: ["${pki.ca.certPath}"], gateway_roles: ROLES}}\n`;
    expect(parse(base.replace('ROLES', `["${SIGNER_ROLE_OIDS.gateway}"]`)).events?.trust.gatewayRoles).toEqual([SIGNER_ROLE_OIDS.gateway]);
    expect(parse(base.replace('ROLES', '[]')).events?.trust.gatewayRoles).toEqual([]);
  });

  it('reports every problem at once, with its path and a fix, never quoting a value', () => {
    const secret = 'not-a-hash-but-a-secret-token';
    let message = '';
    try {
      parse(
        [
          'listen: {host: 10.0.0.5, port: 70000}',
          'store: {path: f.sqlite, page_size: 0}',
          `clients: [{name: a, token_sha256: "${secret}", feeds: {audit: [write]}}]`,
          'checkpoints: {interval: often}',
          'events: {brokers: [], trust: {gateway_ca: []}, prefech: 3}',
          'bogus: 1',
        ].join('\n'),
      );
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
      message = (error as Error).message;
    }
    expect(message).toMatch(/^invalid feed server configuration feed\.yaml \(\d+ problems\):/);
    for (const path of ['listen.port', 'store.page_size', 'clients[0].token_sha256', 'clients[0].feeds.audit[0]', 'checkpoints.interval', 'events.brokers', 'events.trust.gateway_ca', 'events.prefech', 'bogus']) {
      expect(message).toContain(`  ${path}: `);
    }
    expect(message).toContain('did you mean prefetch?');
    expect(message).not.toContain(secret);
  });

  it('after the shape: TLS off loopback, the identity the consumer needs, missing files, an unset variable, a shared token', () => {
    let message = '';
    try {
      parse(
        [
          'listen: {host: 192.0.2.1}',
          'store: {path: f.sqlite}',
          `clients: [{name: a, token_sha256: "${HASH}", feeds: {x: [read]}}, {name: b, token_sha256: "${HASH}", feeds: {x: [read]}}]`,
          'events: {brokers: [{host: h, passcode: "${env:NOPE}"}], trust: {gateway_ca: [missing-ca.pem]}}',
        ].join('\n'),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('events.brokers[0].passcode: environment variable NOPE is not set');
    try {
      parse(
        [
          'listen: {host: 192.0.2.1}',
          'store: {path: f.sqlite}',
          `clients: [{name: a, token_sha256: "${HASH}", feeds: {x: [read]}}, {name: b, token_sha256: "${HASH}", feeds: {x: [read]}}]`,
          'events: {brokers: [{host: h}], trust: {gateway_ca: [missing-ca.pem]}}',
        ].join('\n'),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/ {2}tls: required when listen\.host is not a loopback address/);
    expect(message).toMatch(/ {2}identity: required with events/);
    expect(message).toMatch(/ {2}clients\[1\]\.token_sha256: the same token as an earlier client/);
    expect(message).toContain(`  events.trust.gateway_ca[0]: ${join(dir, 'missing-ca.pem')} does not exist`);
  });
});
