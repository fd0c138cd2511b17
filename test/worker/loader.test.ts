/**
 * loadProvider: a plugin module named in the configuration is imported and its defineProvider
 * definition checked against the configured name; every failure names the file and the fix.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isProviderDefinition, loadProvider, ProviderError } from '../../src/providers/index.ts';
import { counting } from '../fixtures/counting-provider.ts';
import { makeTempDir } from '../helpers/pki.ts';

const fixture = fileURLToPath(new URL('../fixtures/counting-provider.ts', import.meta.url));

async function refusal(path: string, name: string): Promise<ProviderError> {
  const error: unknown = await loadProvider(path, name).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

describe('loadProvider', () => {
  it('returns the definition of a good plugin module (the very object the module exports)', async () => {
    const loaded = await loadProvider(fixture, 'counting');
    expect(loaded).toBe(counting);
    expect(isProviderDefinition(loaded)).toBe(true);
  });

  it('finds a named export when there is no default one', async () => {
    const dir = makeTempDir('loader');
    const file = join(dir, 'named.mjs');
    writeFileSync(file, `export { counting as plugin } from ${JSON.stringify(fixture)};\nexport const other = 42;\n`);
    expect(await loadProvider(file, 'counting')).toBe(counting);
  });

  it('PROVIDER_INVALID naming the file and both names when the plugin has another name', async () => {
    const error = await refusal(fixture, 'card');
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toContain(fixture);
    expect(error.message).toMatch(/defines provider counting, not card/);
    expect(error.message).toMatch(/providers\[\]\.name/);
  });

  it('PROVIDER_INVALID when the module exports no provider definition (a look-alike is not one)', async () => {
    const dir = makeTempDir('loader');
    const file = join(dir, 'fake.mjs');
    writeFileSync(file, "export default { name: 'counting', version: '1', actions: {}, capabilities: [], scrub: (t) => t };\n");
    const error = await refusal(file, 'counting');
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/defineProvider/);
    const helpers = fileURLToPath(new URL('../helpers/pan-scan.ts', import.meta.url));
    expect((await refusal(helpers, 'counting')).code).toBe('PROVIDER_INVALID');
  });

  it('PROVIDER_INVALID naming the file when it does not exist or cannot be imported', async () => {
    const dir = makeTempDir('loader');
    const missing = join(dir, 'missing.ts');
    const error = await refusal(missing, 'counting');
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toContain(missing);
    expect(error.message).toMatch(/does not exist/);
    const broken = join(dir, 'broken.mjs');
    writeFileSync(broken, "throw new Error('card 4111111111111111 in a top-level throw');\n");
    const thrown = await refusal(broken, 'counting');
    expect(thrown.code).toBe('PROVIDER_INVALID');
    expect(thrown.message).not.toContain('4111111111111111');
  });

  it('a definition defineProvider refuses while the module loads: the refusal itself is in the message', async () => {
    const dir = makeTempDir('loader');
    const contract = fileURLToPath(new URL('../../src/providers/index.ts', import.meta.url));
    const file = join(dir, 'no-scrub.ts');
    writeFileSync(file, `import { defineProvider } from ${JSON.stringify(contract)};\nexport default defineProvider({ name: 'counting', version: '1.0.0', actions: {} } as never);\n`);
    const error = await refusal(file, 'counting');
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toMatch(/importing it failed \(PROVIDER_INVALID: .+\)/);
  });
});
