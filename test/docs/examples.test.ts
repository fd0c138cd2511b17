/**
 * Every ```ts example of README.md, docs/*.md and the plugins' READMEs compiles against the real sources and plugins
 * (strict, with exactOptionalPropertyTypes), through the package's own specifiers (internal
 * modules by a path relative to the document): an example cannot drift from the API it shows.
 * A block may opt out only with a `<!-- not-compiled: reason -->` line right before it.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { allExamples, examplesOf, ROOT, typeCheck, type DocExample } from './doc-examples.ts';

const examples = allExamples();
const checked = examples.filter((example) => example.optOut === undefined);
const problems = new Map(typeCheck(checked).map((found, index) => [checked[index] as DocExample, found]));

describe('doc examples', () => {
  it('finds the examples (the SDK and plugin guides have several)', () => {
    const docs = new Set(examples.map((example) => example.where.replace(/:\d+$/, '')));
    expect(docs).toContain('docs/sdk.md');
    expect(docs).toContain('docs/providers.md');
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  for (const example of checked) {
    it(`${example.where} compiles`, () => {
      expect(problems.get(example)).toEqual([]);
    });
  }

  it('a block checked as a named file names one that does not exist (it would hide the real one)', () => {
    const named = examples.flatMap((example) => (example.file === undefined ? [] : [example.file]));
    expect(named.filter((file) => existsSync(join(ROOT, file)))).toEqual([]);
  });

  it('every opt-out gives a reason, and opt-outs stay rare', () => {
    const outs = examples.filter((example) => example.optOut !== undefined);
    expect(outs.every((example) => (example.optOut ?? '').length >= 10)).toBe(true);
    expect(outs.length).toBeLessThanOrEqual(Math.ceil(examples.length / 10));
  });
});

describe('the checker', () => {
  const sdkCall = (field: string): string => `import type card from 'paygate/providers/card';
import type { Gateway } from 'paygate';
declare const gateway: Gateway<readonly [typeof card]>;
await gateway.request('card', 'capture', { ${field}: 'cg-000001' });
`;

  it('rejects a wrong field in an example, and accepts the right one', () => {
    const [right, wrong] = typeCheck([
      { where: 'probe:1', code: sdkCall('authorization_id') },
      { where: 'probe:2', code: sdkCall('order_id') },
    ]);
    expect(right).toEqual([]);
    expect(wrong?.join('\n')).toMatch(/order_id/);
  });

  it('resolves a relative import from the folder of the example\'s document, as its links', () => {
    const code = "import { startCardSandbox } from './sandbox/index.ts';\nexport const start = startCardSandbox;\n";
    const [beside, elsewhere] = typeCheck([
      { where: 'providers/card/README.md:1', code },
      { where: 'docs/probe.md:1', code },
    ]);
    expect(beside).toEqual([]);
    expect(elsewhere?.join('\n')).toMatch(/sandbox\/index\.ts/);
  });

  it('reads the markers only right before a block: an opt-out with its reason, a file to check it as', () => {
    const text = [
      '<!-- not-compiled: a shell session, not a module -->',
      '',
      '```ts',
      'x',
      '```',
      'text',
      '```ts',
      'y',
      '```',
      '<!-- example: providers/demo/index.ts -->',
      '```ts',
      'z',
      '```',
    ].join('\n');
    expect(examplesOf('d.md', text)).toEqual([
      { where: 'd.md:3', code: 'x', optOut: 'a shell session, not a module' },
      { where: 'd.md:7', code: 'y' },
      { where: 'd.md:11', code: 'z', file: 'providers/demo/index.ts' },
    ]);
  });
});
