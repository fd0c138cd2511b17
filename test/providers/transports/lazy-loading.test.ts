/**
 * The transports' heavy libraries load on first use (src/providers/transports/lazy.ts): a worker
 * pays at start for none of them, and a worker with no SOAP plugin never loads `soap`. Each case
 * runs in a fresh child process whose resolve hook reports every module loaded
 * (test/entries/loads.ts), with the real bundled plugins started by the worker's `startPlugins`.
 */
import { describe, expect, it } from 'vitest';
import { loadedBy } from '../../entries/loads.ts';

/** The transports' libraries, each imported only by the transport that needs it. */
const TRANSPORT_LIBRARIES = ['fast-xml-parser', 'soap', 'undici', 'xmlbuilder2'];
const FIXTURES = 'test/providers/transports/fixtures';

const librariesLoadedBy = async (modules: readonly string[]): Promise<string[]> =>
  (await loadedBy(modules)).packages.filter((name) => TRANSPORT_LIBRARIES.includes(name));

describe('transport libraries load lazily', { timeout: 60_000 }, () => {
  it('importing the plugin set-up and the worker\'s plugin start loads none of them', async () => {
    expect(await librariesLoadedBy(['src/providers/setup.ts', 'src/worker/plugins.ts', 'src/providers/transports/index.ts'])).toEqual([]);
  });

  it('starting the SOAP, form and XML plugins (transports made, no call yet) loads none of them', async () => {
    expect(await librariesLoadedBy([`${FIXTURES}/start-all.ts`])).toEqual([]);
  });

  it('a worker with no SOAP plugin, its form and XML transports used, loads undici and xmlbuilder2 but never soap', async () => {
    expect(await librariesLoadedBy([`${FIXTURES}/use-form-xml.ts`])).toEqual(['undici', 'xmlbuilder2']);
  });

  it('the SOAP plugin loads soap when its transport is first used (the WSDL read)', async () => {
    const loaded = await librariesLoadedBy([`${FIXTURES}/use-soap.ts`]);
    expect(loaded).toContain('soap');
    expect(loaded).not.toContain('xmlbuilder2');
  });
});
