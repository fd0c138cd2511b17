import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CERTS_ERROR_CODES } from '../src/certs/errors.ts';
import { WIRE_ERROR_CODES } from '../src/wire/errors.ts';

const catalogue = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  it.each([...WIRE_ERROR_CODES, ...CERTS_ERROR_CODES, 'FILE_UNREADABLE'])('documents %s', (code) => {
    expect(catalogue).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});
