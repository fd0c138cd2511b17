/**
 * The client config file's `gateway.roles` (docs/sdk.md, "From the command line"): which
 * extendedKeyUsage OIDs make a reply's signer a gateway, for a deployment's own PKI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadClientConfig } from '../../src/cli/client-config.ts';
import { SIGNER_ROLE_OIDS } from '../../src/wire/index.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';

let pki: TestPki;
let dir: string;

beforeAll(async () => {
  pki = await makeTestPki({ algo: 'ec' });
  dir = makeTempDir('client-config');
});

function configWith(gatewayExtra: string, providers = '[{name: counting, module: ./counting.ts}]'): string {
  const path = join(dir, `client-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    path,
    [
      'brokers: [{host: 127.0.0.1, port: 61613}]',
      `identity: {cert: ${pki.client.certPath}, key: ${pki.client.keyPath}}`,
      `gateway: {certs: [${pki.gateway.certPath}], ca: [${pki.ca.certPath}]${gatewayExtra}}`,
      `providers: ${providers}`,
      '',
    ].join('\n'),
  );
  return path;
}

describe('client config: gateway.roles', () => {
  it("defaults to paygate's gateway role", () => {
    expect(loadClientConfig(configWith('')).gatewayRoleOids).toEqual([SIGNER_ROLE_OIDS.gateway]);
  });

  it('takes a PKI of its own (or [] to switch the role check off)', () => {
    expect(loadClientConfig(configWith(', roles: [1.3.6.1.5.5.7.3.4]')).gatewayRoleOids).toEqual(['1.3.6.1.5.5.7.3.4']);
    expect(loadClientConfig(configWith(', roles: []')).gatewayRoleOids).toEqual([]);
  });

  it('refuses what is not a dotted OID, naming the key', () => {
    expect(() => loadClientConfig(configWith(', roles: [gateway]'))).toThrow(expect.objectContaining({
      code: 'CONFIG_INVALID',
      problems: [expect.objectContaining({ path: 'gateway.roles[0]', problem: 'must be a dotted OID' })],
    }));
  });
});

describe('client config: providers[].module', () => {
  it('a package name stays a name (found from the config folder when loaded); a file becomes an absolute path', () => {
    const config = loadClientConfig(configWith('', '[{name: card, module: paygate/providers/card}, {name: counting, module: ./counting.ts}]'));
    expect(config.baseDir).toBe(dir);
    expect(config.providers).toEqual([
      { name: 'card', module: 'paygate/providers/card' },
      { name: 'counting', module: join(dir, 'counting.ts') },
    ]);
  });
});
