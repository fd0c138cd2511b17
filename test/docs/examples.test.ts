/**
 * Every ```ts example of README.md, docs/*.md and the plugins' READMEs compiles against the real sources and plugins
 * (strict, with exactOptionalPropertyTypes), through the package's own specifiers: an example
 * cannot drift from the API it shows. A block may opt out only with a
 * `<!-- not-compiled: reason -->` line right before it.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { allExamples, examplesOf, ROOT, typeCheck, type DocExample } from './doc-examples.ts';

/**
 * Sketches in documents this suite does not own, that do not compile yet (placeholders such as
 * `…`, names they assume). Keyed by document and first line, so that edits elsewhere in the
 * document do not move them. Each must still fail: once its owner makes it compile, or marks it
 * `not-compiled` with a reason, the entry must go (the last test says so).
 */
const PENDING: Readonly<Record<string, string>> = {
  "docs/broker.md|import { EmbeddedBroker, hashPassword, parseUsersFile } from '../src/broker/index.ts';": '`…` placeholders, undeclared dataDir',
  "docs/idempotency.md|import { IdempotencyStore } from '../src/worker/idempotency-store.ts';": 'a path relative to docs/, undeclared inputs',
  'docs/operations.md|const connection = await StompConnection.connect({': 'no import, undeclared caPem',
  "docs/stomp.md|import { StompConnection } from '../stomp/index.ts';": 'a path relative to src/…, undeclared secrets and handlers',
  "providers/card/README.md|import { startCardSandbox } from './providers/card/sandbox/index.ts';": 'a path relative to the root, undeclared PEMs',
  "providers/giftcard/README.md|import { startGiftcardSandbox } from './providers/giftcard/sandbox/index.ts';": 'a path relative to the root, undeclared PEMs',
  "providers/paypal/README.md|import { startPaypalSandbox } from './providers/paypal/sandbox/index.ts';": 'a path relative to the root, undeclared PEMs',
};

function keyOf(example: DocExample): string {
  const doc = example.where.replace(/:\d+$/, '');
  const first = example.code.split('\n').find((line) => line.trim() !== '') ?? '';
  return `${doc}|${first.trim()}`;
}

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
    if (Object.hasOwn(PENDING, keyOf(example))) continue;
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

  it('the pending sketches still fail, and each is still there (else remove it from PENDING)', () => {
    const pending = checked.filter((example) => Object.hasOwn(PENDING, keyOf(example)));
    expect(pending.map(keyOf).sort()).toEqual(Object.keys(PENDING).sort());
    for (const example of pending) expect(problems.get(example)?.length, example.where).toBeGreaterThan(0);
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
