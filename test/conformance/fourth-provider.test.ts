/**
 * A fourth provider (`loyalty`, XML points), written only from
 * docs/providers.md and providers/_template, runs through the conformance suite against its own
 * sandbox without a change to src/. The plugin files import only the public surfaces
 * `src/providers/index.ts` and `src/wire/index.ts` (and zod); so does the template.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConformance } from './index.ts';
import loyalty from './fourth-provider/index.ts';
import { MEMBER_PIN, MEMBERS } from './fourth-provider/sandbox/ledger.ts';
import { startLoyaltySandbox, type LoyaltySandbox } from './fourth-provider/sandbox/server.ts';

const OPTIONS = { merchant: 'shop-42', api_token: 'lt-sandbox-token-9137' };
const redeem = (member: string, points = 500, pin = MEMBER_PIN) => ({ member, pin, points });

describeConformance<typeof loyalty, LoyaltySandbox>({
  provider: loyalty,
  sandbox: {
    async start(tls) {
      const sandbox = await startLoyaltySandbox({ tls, credentials: OPTIONS });
      return { sandbox, settings: { endpoint: sandbox.endpoint, tls: { ca: tls.ca }, timeoutMs: 5_000, options: OPTIONS } };
    },
    stop: (sandbox) => sandbox.stop(),
    knobs: {
      down: (sandbox) => sandbox.down(),
      up: (sandbox) => sandbox.up(),
      requests: (sandbox) => sandbox.requests,
      rawBodies: (sandbox) => sandbox.rawBodies,
    },
  },
  cases: {
    redeem: {
      approve: redeem(MEMBERS.rich),
      expect: { provider_code: '0' },
      declines: [
        { payload: redeem(MEMBERS.poor, 5_000), code: 'INSUFFICIENT_BALANCE' },
        { payload: redeem(MEMBERS.unknown), code: 'CARD_NOT_FOUND' },
        { payload: redeem(MEMBERS.locked), code: 'CARD_INACTIVE' },
        { payload: redeem(MEMBERS.rich, 500, '000000'), code: 'CARD_DECLINED' },
      ],
    },
    balance: {
      approve: { member: MEMBERS.poor, pin: MEMBER_PIN },
      expect: { points: 100 },
      declines: [{ payload: { member: MEMBERS.unknown, pin: MEMBER_PIN }, code: 'CARD_NOT_FOUND' }],
    },
  },
  publicOptions: ['merchant'],
  transcriptNames: { credentials: { api_token: 'token' } },
});

const root = new URL('../..', import.meta.url).pathname;
/** The public surfaces a plugin may import (docs/providers.md, "The contract"). */
const PUBLIC = new Set(['src/providers/index.ts', 'src/wire/index.ts']);

/** Every import specifier of a file (static `from '…'`, side-effect `import '…'` and dynamic `import('…')`). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
}

/** What a plugin file imports that it may not: project files other than the public surfaces and its own folder's plugin files, packages other than zod. */
function forbiddenImports(folder: string): string[] {
  const files = readdirSync(join(root, folder), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(folder, e.name));
  expect(files.length).toBeGreaterThanOrEqual(5);
  return files.flatMap((file) =>
    importsOf(file)
      .filter((specifier) => {
        if (!specifier.startsWith('.')) return specifier !== 'zod';
        const target = relative(root, join(root, file, '..', specifier));
        return !PUBLIC.has(target) && !(target.startsWith(`${folder}/`) && !target.slice(folder.length + 1).includes('/'));
      })
      .map((specifier) => `${file} → ${specifier}`),
  );
}

describe('plugins built from the guide use only the public surfaces', () => {
  it('the fourth provider (loyalty) imports only src/providers/index.ts, src/wire/index.ts, zod and its own files', () => {
    expect(forbiddenImports('test/conformance/fourth-provider')).toEqual([]);
  });
  it('so does the template', () => {
    expect(forbiddenImports('providers/_template')).toEqual([]);
  });
  it('the check sees a forbidden import (the conformance suite itself imports src/worker)', () => {
    expect(importsOf('test/conformance/run.ts')).toContain('../../src/worker/options.ts');
    expect(forbiddenImports('test/conformance').some((line) => line.includes('src/worker/options.ts'))).toBe(true);
  });
});
