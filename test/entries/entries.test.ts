/**
 * The package's entry modules (the `exports` map: `paygate`, `paygate/provider`, `paygate/wire`,
 * `paygate/worker`, `paygate/providers/<name>`): what each one offers, checked on the sources
 * the build compiles.
 */
import * as zod from 'zod';
import { describe, expect, it } from 'vitest';
import * as sdk from '../../src/index.ts';
import * as client from '../../src/client/index.ts';
import { PaygateError } from '../../src/errors.ts';
import * as provider from '../../src/provider.ts';
import * as contract from '../../src/providers/index.ts';
import * as wire from '../../src/wire/index.ts';
import { exportedNames, namesPluginsImport } from './surface.ts';

const names = exportedNames('src/index.ts', 'src/client/index.ts', 'src/provider.ts', 'src/providers/index.ts', 'src/worker/index.ts', 'src/wire/index.ts');

function namesOf(path: string): Set<string> {
  const found = names.get(path);
  if (found === undefined || found.size === 0) throw new Error(`no exports read from ${path}`);
  return found;
}

describe('paygate (the SDK)', () => {
  it('exports everything the SDK module does, values and types, as the same objects', () => {
    expect([...namesOf('src/client/index.ts')].filter((name) => !namesOf('src/index.ts').has(name))).toEqual([]);
    for (const [name, value] of Object.entries(client)) expect(sdk[name as keyof typeof sdk], name).toBe(value);
  });

  it('offers createGateway, readIdentityFiles and the error classes, all PaygateErrors', () => {
    expect(typeof sdk.createGateway).toBe('function');
    expect(typeof sdk.readIdentityFiles).toBe('function');
    const errors = [sdk.GatewayError, sdk.ValidationError, sdk.CardDataInTextError, sdk.NotSentError, sdk.TimeoutError, sdk.RemoteError, sdk.ReplyResultError];
    for (const error of errors) expect(error.prototype instanceof PaygateError, error.name).toBe(true);
    expect(sdk.PaygateError).toBe(PaygateError);
  });

  it('names the types a storefront writes: a plugin request and result, money, the broker options', () => {
    for (const type of ['RequestOf', 'ResultOf', 'Money', 'Certificate', 'StompOptions', 'GatewayReply', 'GatewayOptions']) {
      expect(namesOf('src/index.ts'), type).toContain(type);
    }
  });
});

describe('paygate/provider (the plugin author\'s surface)', () => {
  it('re-exports the whole contract the repository\'s plugins use, as the same objects', () => {
    expect([...namesOf('src/providers/index.ts')].filter((name) => !namesOf('src/provider.ts').has(name))).toEqual([]);
    for (const [name, value] of Object.entries(contract)) expect(provider[name as keyof typeof provider], name).toBe(value);
  });

  it('exports every name a bundled plugin imports from the contract or the wire', () => {
    const imported = namesPluginsImport();
    expect(imported.size).toBeGreaterThan(20);
    const missing = [...imported].filter(([name]) => !namesOf('src/provider.ts').has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });

  it('re-exports the whole wire surface too (its payload building blocks among it), as the same objects', () => {
    expect([...namesOf('src/wire/index.ts')].filter((name) => !namesOf('src/provider.ts').has(name))).toEqual([]);
    for (const [name, value] of Object.entries(wire)) expect(provider[name as keyof typeof provider], name).toBe(value);
    expect(typeof provider.moneySchema.parse).toBe('function');
  });

  it('gives paygate\'s own zod, so that plugin schemas pass the contract\'s instanceof checks', () => {
    expect(provider.z.ZodType).toBe(zod.ZodType);
    expect(provider.z.string() instanceof zod.ZodType).toBe(true);
  });

  it('offers the test kit', () => {
    expect(typeof provider.runAction).toBe('function');
    expect(typeof provider.testActionContext).toBe('function');
  });
});

describe('paygate/worker and paygate/wire', () => {
  it('paygate/worker names every type Worker.start and the config starter take', () => {
    const worker = namesOf('src/worker/index.ts');
    for (const name of ['Worker', 'WorkerOptions', 'StartHooks', 'ProviderSettingsInput', 'startWorkerFromConfig', 'WorkerOverrides', 'StopOptions']) {
      expect(worker, name).toContain(name);
    }
  });

  it('paygate/wire offers seal and open with their options, identities and trust', () => {
    const wireNames = namesOf('src/wire/index.ts');
    for (const name of ['seal', 'open', 'SealOptions', 'OpenOptions', 'OpenedMessage', 'loadIdentity', 'Identity', 'TrustStore', 'Certificate', 'WireError']) {
      expect(wireNames, name).toContain(name);
    }
  });
});
