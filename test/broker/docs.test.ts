/**
 * docs/broker.md must not drift from the code: every option of the schema and every error code
 * has its row.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BROKER_ERROR_CODES, BROKER_HEADERS, BROKER_ROLES, brokerOptionsSchema, roleRights } from '../../src/broker/index.ts';
import { FRAME_ERROR_CODES } from '../../src/stomp/frame.ts';

const doc = readFileSync(new URL('../../docs/broker.md', import.meta.url), 'utf8');

describe('docs/broker.md', () => {
  it.each(Object.keys(brokerOptionsSchema.shape))('documents the option %s', (option) => {
    expect(doc).toMatch(new RegExp(`^\\| (\`[a-zA-Z]+\`, )*\`${option}\`[ ,|]`, 'm'));
  });

  it.each([...BROKER_ERROR_CODES])('documents the error code %s', (code) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });

  it.each([...BROKER_ROLES])('has the rights of the role %s in its table', (role) => {
    const { read, write, reply } = roleRights(role, 'P');
    const cell = (patterns: readonly string[]): string => (patterns.length === 0 ? '—' : patterns.map((p) => `\`${p}\``).join(', '));
    expect(doc).toContain(`| \`${role}\` | ${cell(read)} | ${cell(write)} | ${reply ? 'yes' : 'no'} |`);
  });

  it.each([...BROKER_HEADERS])('names the broker-owned header %s', (header) => {
    expect(doc).toContain(`\`${header}\``);
  });

  it.each([...FRAME_ERROR_CODES])('names the frame error code %s', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });
});
