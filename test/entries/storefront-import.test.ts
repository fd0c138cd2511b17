/**
 * A storefront that imports a plugin for its types and payload checks must not load the
 * plugin's server side: no transport (soap, undici, the XML libraries), no store, no sandbox, no
 * worker. Checked in fresh processes, on what Node really loads; the SDK's list is the one
 * docs/sdk.md publishes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadedBy, ROOT } from './loads.ts';

const PLUGINS = ['card', 'paypal', 'giftcard'] as const;

/** Packages only the worker side may load. */
const SERVER_PACKAGES = [
  'soap', 'undici', 'fast-xml-parser', 'xmlbuilder2', 'better-sqlite3', 'pino', 'prom-client', 'commander', '@peculiar/x509', 'vitest',
];

/** Files of this repository only the worker side (or the tests) may load. */
const SERVER_FILES = [
  /^providers\/[^/]+\/sandbox\//,
  /^providers\/_sandbox-kit\//,
  /^src\/providers\/setup\.ts$/,
  /^src\/providers\/transports\/(?!scrub\.ts$)/,
  /^src\/(worker|broker|supervisor|cli|certs)\//,
  /^test\//,
];

/** The package list docs/sdk.md gives under its `storefront-packages` marker. */
function documentedPackages(): string[] {
  const doc = readFileSync(join(ROOT, 'docs/sdk.md'), 'utf8');
  const line = /<!-- storefront-packages -->\n(.+)\n/.exec(doc)?.[1] ?? '';
  return [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string).sort();
}

describe('what importing a plugin loads', () => {
  for (const plugin of PLUGINS) {
    it(`providers/${plugin}: its schemas and the contract, no transport, store, sandbox or worker`, async () => {
      const { packages, files } = await loadedBy([`providers/${plugin}/index.ts`]);
      expect(files).toContain(`providers/${plugin}/schemas.ts`);
      expect(packages).toContain('zod');
      expect(packages.filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
      expect(files.filter((file) => SERVER_FILES.some((pattern) => pattern.test(file)))).toEqual([]);
    });
  }

  it('the SDK with each plugin loads exactly the packages docs/sdk.md lists', async () => {
    const documented = documentedPackages();
    expect(documented).toContain('stompit');
    for (const plugin of PLUGINS) {
      const { packages, files } = await loadedBy(['src/index.ts', `providers/${plugin}/index.ts`]);
      expect({ plugin, packages }).toEqual({ plugin, packages: documented });
      expect(files.filter((file) => SERVER_FILES.some((pattern) => pattern.test(file)))).toEqual([]);
    }
  });

  it('paygate/provider alone loads no transport either', async () => {
    const { packages, files } = await loadedBy(['src/provider.ts']);
    expect(packages.filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
    expect(files.filter((file) => SERVER_FILES.some((pattern) => pattern.test(file)))).toEqual([]);
  });

  it('the probe sees what a module loads: the worker brings the transports and the store', async () => {
    const { packages, files } = await loadedBy(['src/worker/index.ts']);
    // The transports' libraries (soap, undici, the XML ones) load on first use, not at import.
    expect(packages).toEqual(expect.arrayContaining(['better-sqlite3']));
    expect(files).toContain('src/providers/transports/soap.ts');
  });
});
