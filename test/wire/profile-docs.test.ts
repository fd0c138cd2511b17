import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CRYPTO_PROFILE } from '../../src/wire/profile.ts';

const security = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
const yesNo = (v: boolean | string) => (v === true ? 'yes' : v === false ? 'no' : v);

describe('docs/security.md crypto profile table', () => {
  it.each(CRYPTO_PROFILE.map((row) => [row.algorithm, row] as const))('renders %s exactly', (_name, row) => {
    const line = `| ${row.purpose} | ${row.algorithm} | ${yesNo(row.written)} | ${yesNo(row.read)} | ${row.note} |`;
    expect(security.split('\n').map((l) => l.trimEnd())).toContain(line.trimEnd());
  });
});
