import { describe, expect, it } from 'vitest';
import { WireError } from '../../src/wire/errors.ts';
import { CardNumber, Cvc, Secret } from '../../src/wire/secret.ts';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_YAML_LIMITS, MAX_YAML_DEPTH, decodeYaml, encodeYaml } from '../../src/wire/yaml.ts';
import { NOT_CANONICAL, readCanonicalYaml } from '../../src/wire/yaml-read.ts';
import { findPans } from '../helpers/pan-scan.ts';

const PAN = '4111111111111111';

/** The WireError thrown by `fn`, failing the test if it throws anything else or nothing. */
function wireError(fn: () => unknown): WireError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return error as WireError;
  }
  throw new Error('expected a WireError');
}

/** A "billion laughs" document: 9 levels of 9 aliases each, 9^9 strings once expanded. */
function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = `*${String.fromCharCode(96 + i)}`;
    lines.push(`${name}: &${name} [${Array(9).fill(prev).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

describe('decodeYaml', () => {
  it('decodes plain YAML 1.2 core-schema data', () => {
    const text = 'paygate: 1\nkind: request\nok: true\nnone: null\nlist: [1, two, 3.5]\nmap: {a: b}\n';
    expect(decodeYaml(text)).toEqual({
      paygate: 1,
      kind: 'request',
      ok: true,
      none: null,
      list: [1, 'two', 3.5],
      map: { a: 'b' },
    });
  });

  it('reads YAML 1.1 spellings as strings (core schema only)', () => {
    expect(decodeYaml('a: yes\nb: off\nc: 2026-01-01\nd: 0777\n')).toEqual({ a: 'yes', b: 'off', c: '2026-01-01', d: 777 });
  });

  it('accepts a Buffer of UTF-8 and refuses invalid UTF-8', () => {
    expect(decodeYaml(Buffer.from('name: Zoë\n', 'utf8'))).toEqual({ name: 'Zoë' });
    const bad = Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x28, 0x0a]);
    expect(wireError(() => decodeYaml(bad)).code).toBe('YAML_INVALID');
  });

  it('accepts and drops a leading byte-order mark', () => {
    expect(decodeYaml(Buffer.from('\ufeffa: 1\n', 'utf8'))).toEqual({ a: 1 });
    expect(decodeYaml('\ufeffa: 1\n')).toEqual({ a: 1 });
  });

  it('refuses text over the byte limit before parsing, counting UTF-8 bytes', () => {
    const big = `a: "${'x'.repeat(DEFAULT_YAML_LIMITS.maxBytes)}"\n`;
    expect(wireError(() => decodeYaml(big)).code).toBe('YAML_LIMIT');
    // 40 two-byte characters are 80 bytes: over a 64-byte limit although only 46 characters.
    const e = wireError(() => decodeYaml(`a: ${'é'.repeat(40)}\n`, { maxBytes: 64 }));
    expect(e.code).toBe('YAML_LIMIT');
    // Checked before parsing: an unparseable text over the limit is a limit error.
    expect(wireError(() => decodeYaml(`[${'{'.repeat(100)}`, { maxBytes: 50 })).code).toBe('YAML_LIMIT');
  });

  it('enforces the nesting depth on flow and block collections', () => {
    const flow = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => decodeYaml(flow(32))).not.toThrow();
    expect(wireError(() => decodeYaml(flow(33))).code).toBe('YAML_LIMIT');
    const block = (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i * 2)}k:`).join('\n') + ' 1\n';
    expect(() => decodeYaml(block(32))).not.toThrow();
    expect(wireError(() => decodeYaml(block(33))).code).toBe('YAML_LIMIT');
    expect(wireError(() => decodeYaml(flow(3), { maxDepth: 2 })).message).toMatch(/depth 2 at line 1, column 3/);
  });

  it('refuses pathological nesting near the size limit without overflowing the stack', () => {
    expect(wireError(() => decodeYaml('['.repeat(60_000))).code).toBe('YAML_LIMIT');
    expect(wireError(() => decodeYaml(`${'- '.repeat(30_000)}x\n`)).code).toBe('YAML_LIMIT');
  });

  it('accepts limits up to MAX_YAML_DEPTH and refuses nonsense limits', () => {
    const flow = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => decodeYaml(flow(MAX_YAML_DEPTH), { maxDepth: MAX_YAML_DEPTH })).not.toThrow();
    expect(() => decodeYaml('a: 1', { maxDepth: MAX_YAML_DEPTH + 1 })).toThrow(RangeError);
    expect(() => decodeYaml('a: 1', { maxDepth: 0 })).toThrow(RangeError);
    expect(() => decodeYaml('a: 1', { maxBytes: Number.NaN })).toThrow(RangeError);
  });

  it('refuses anchors and aliases, saying so', () => {
    const e = wireError(() => decodeYaml('a: &x 1\nb: *x\n'));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.message).toMatch(/aliases .*not accepted/);
    expect(wireError(() => decodeYaml('a: &x 1\n')).message).toMatch(/anchors/);
    expect(wireError(() => decodeYaml('a: *nowhere\n')).code).toBe('YAML_INVALID');
  });

  it('refuses a billion-laughs bomb without expanding it', () => {
    const e = wireError(() => decodeYaml(billionLaughs()));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.message).toMatch(/aliases/);
  });

  it.each([
    ['a core tag', 'a: !!str 1\n'],
    ['!!binary', 'a: !!binary aGVsbG8=\n'],
    ['a local tag', 'a: !foo bar\n'],
    ['a tag on a collection', 'a: !!set {x: null}\n'],
    ['the non-specific tag', 'a: ! 12\n'],
    ['a verbatim tag', 'a: !<tag:example.com,2026:x> y\n'],
  ])('refuses %s', (_name, text) => {
    const e = wireError(() => decodeYaml(text));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.message).toMatch(/tags are not accepted/);
  });

  it('treats << as an ordinary key (merge keys off)', () => {
    expect(decodeYaml('<<: {a: 1}\nb: 2\n')).toEqual({ '<<': { a: 1 }, b: 2 });
  });

  it('refuses duplicate keys, also when spelled differently', () => {
    expect(wireError(() => decodeYaml('a: 1\na: 2\n')).code).toBe('YAML_INVALID');
    expect(wireError(() => decodeYaml('"1": a\n1: b\n')).message).toMatch(/duplicate/);
  });

  it('refuses non-scalar keys', () => {
    expect(wireError(() => decodeYaml('? [a, b]\n: 1\n')).code).toBe('YAML_INVALID');
  });

  it('wants exactly one document', () => {
    expect(wireError(() => decodeYaml('a: 1\n---\nb: 2\n')).message).toMatch(/several documents/);
    expect(wireError(() => decodeYaml('')).message).toMatch(/no document/);
    expect(wireError(() => decodeYaml('# only a comment\n')).code).toBe('YAML_INVALID');
    expect(decodeYaml('---\na: 1\n...\n')).toEqual({ a: 1 });
  });

  it('refuses a %YAML 1.1 directive but accepts %YAML 1.2', () => {
    expect(wireError(() => decodeYaml('%YAML 1.1\n---\na: yes\n')).code).toBe('YAML_INVALID');
    expect(decodeYaml('%YAML 1.2\n---\na: yes\n')).toEqual({ a: 'yes' });
  });

  it('keeps __proto__ an ordinary key', () => {
    const value = decodeYaml('__proto__: {polluted: true}\n') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('reports positions but never the text of the input', () => {
    const cases = [
      `pan: ${PAN}\npan: ${PAN}\n`,
      `pan: "${PAN}\n`,
      `pan: &${PAN} ${PAN}\nx: *${PAN}\n`,
      `pan: !${PAN} ${PAN}\n`,
      `{pan: ${PAN}, [${PAN}]: x}\n`,
      `pan: ${PAN}\n  bad: indent\n`,
    ];
    for (const text of cases) {
      const e = wireError(() => decodeYaml(text));
      expect(e.message).toMatch(/line \d+, column \d+/);
      expect(e.message).not.toContain('411111');
      expect(findPans(e.message, { thorough: true })).toEqual([]);
      expect(e.cause).toBeUndefined();
    }
  });
});

describe('encodeYaml', () => {
  it('writes block style with one trailing newline', () => {
    expect(encodeYaml({ a: 1, b: [1, 2], c: { d: 'e' }, e: [], f: {} })).toBe(
      'a: 1\nb:\n  - 1\n  - 2\nc:\n  d: e\ne: []\nf: {}\n',
    );
  });

  it('quotes strings that would read back as something else, in YAML 1.2 or 1.1', () => {
    const out = encodeYaml({ a: '123', b: 'true', c: 'null', d: '', e: '1e3', f: 'yes', g: '2026-01-01', h: '0x1F' });
    expect(out).toBe('a: "123"\nb: "true"\nc: "null"\nd: ""\ne: "1e3"\nf: "yes"\ng: "2026-01-01"\nh: "0x1F"\n');
  });

  it('writes multi-line strings as one-line JSON-style double-quoted scalars', () => {
    // Not block scalars: the yaml package writes ' \n' as a `|+` block that reads back as '\n'.
    expect(encodeYaml({ a: 'line1\nline2\n', b: ' \n' })).toBe('a: "line1\\nline2\\n"\nb: " \\n"\n');
    expect(decodeYaml(encodeYaml({ b: ' \n' }))).toEqual({ b: ' \n' });
  });

  it('never folds long lines', () => {
    const long = `${'word '.repeat(100)}end`;
    expect(encodeYaml({ long })).toBe(`long: ${long}\n`);
  });

  it('writes repeated objects out again instead of using anchors', () => {
    const shared = { value: 1, currency: 'EUR' };
    const out = encodeYaml({ a: shared, b: shared });
    expect(out).not.toMatch(/[&*]/);
    expect(decodeYaml(out)).toEqual({ a: shared, b: shared });
  });

  it('is deterministic: equal values give identical bytes, keys in insertion order', () => {
    const make = () => ({ z: 1, a: { y: [true, null, 'x'], b: 'multi\nline\n' }, m: 2.5 });
    expect(encodeYaml(make())).toBe(encodeYaml(make()));
    expect(encodeYaml({ b: 1, a: 2 })).toBe('b: 1\na: 2\n');
  });

  it('round-trips plain data', () => {
    const values: unknown[] = [
      { paygate: 1, kind: 'request', payload: { amount: { value: 1999, currency: 'EUR' }, order_id: 'ord-1001' } },
      ['a', 1, -2.5, true, false, null, '', ' lead', 'trail ', 'a: b', '- x', '#c', "it's \"q\""],
      { text: 'line1\nline2', keep: 'ends\n\n', lead: '\nstarts', tab: '\tx', unicode: 'Zoë 😀 ünïcode' },
      { looksLike: ['123', '1.5', 'true', 'False', 'null', '~', '.inf', '0o17', '1_000', '1:20', 'y', 'n'] },
      { big: Number.MAX_SAFE_INTEGER, small: -Number.MAX_SAFE_INTEGER, tiny: 1e-7, huge: 1e21, negZero: -0 },
      { nested: [[[{ deep: [{}] }]]], empty: { list: [], map: {} } },
      'a bare string',
      42,
      null,
    ];
    for (const value of values) {
      expect(decodeYaml(encodeYaml(value))).toEqual(value);
    }
  });

  it('round-trips generated data (seeded, so failures reproduce)', () => {
    let seed = 0x9e3779b9;
    const random = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const atoms = ['', ' ', '-', ':', '#', '"', "'", '\n', '\t', '\\', '{', ']', '&', '*', '!', '|', '>', '%', '@', '`',
      'yes', 'No', 'null', '~', '0', '1e3', '0x1', '.5', 'a', 'Zoë', '😀', '2026-01-01', 'true', '4111'];
    const string = () => Array.from({ length: Math.floor(random() * 6) }, () => pick(atoms)).join('');
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.4) {
        return pick<() => unknown>([string, () => Math.floor(random() * 2e9) - 1e9, () => random() * 1e6, () => random() < 0.5, () => null])();
      }
      if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [string(), value(depth + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const v = value(0);
      expect(decodeYaml(encodeYaml(v))).toEqual(v);
      expect(encodeYaml(decodeYaml(encodeYaml(v)))).toBe(encodeYaml(v));
      // The fast reader takes everything we write, and agrees with the yaml package on it.
      const fast = readCanonicalYaml(encodeYaml(v), 32);
      expect(fast).not.toBe(NOT_CANONICAL);
      expect(fast).toEqual(parseYaml(encodeYaml(v), { version: '1.2', schema: 'core' }));
    }
  });

  it('writes the clear value of secrets, and only here', () => {
    const doc = { card: { number: new CardNumber(PAN), cvc: new Cvc('123') }, token: new Secret('s3cr3t') };
    const out = encodeYaml(doc);
    expect(out).toBe(`card:\n  number: "${PAN}"\n  cvc: "123"\ntoken: s3cr3t\n`);
    expect(JSON.stringify(doc)).not.toContain(PAN);
  });

  it('drops undefined properties and uses toJSON of other objects', () => {
    expect(encodeYaml({ a: undefined, b: 1, when: new Date(0) })).toBe('b: 1\nwhen: "1970-01-01T00:00:00.000Z"\n');
    expect(encodeYaml([1, undefined])).toBe('- 1\n- null\n');
  });

  it('refuses values that are not plain data', () => {
    expect(() => encodeYaml({ f: () => 1 })).toThrow(TypeError);
    expect(() => encodeYaml({ n: 1n })).toThrow(TypeError);
    expect(() => encodeYaml(new Map([['a', 1]]))).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => encodeYaml(cyclic)).toThrow(/cyclic/);
  });

  it('writes UUIDs plain, quotes other digit-led strings, and escapes what YAML may not carry raw', () => {
    expect(encodeYaml({ id: '6f1c8b2a-3d4e-4f5a-9b6c-7d8e9f0a1b2c', num: '12345678', n: 1 })).toBe('id: 6f1c8b2a-3d4e-4f5a-9b6c-7d8e9f0a1b2c\nnum: "12345678"\n"n": 1\n');
    const raw = { del: 'a\x7fb', nel: 'a\x85b', ls: 'a\u2028b', ps: 'a\u2029b', bom: '\ufeffx', c1: '\x9b', nonchar: '\uffff' };
    const out = encodeYaml(raw);
    expect([...out].every((ch) => ch === '\n' || (ch >= ' ' && ch <= '~'))).toBe(true);
    expect(decodeYaml(out)).toEqual(raw);
    expect(encodeYaml({ nums: [-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, 1e-7] })).toBe(
      'nums:\n  - -0\n  - .nan\n  - .inf\n  - -.inf\n  - 1e+21\n  - 1e-7\n',
    );
  });

  it('nests collections inside sequences on the dash line', () => {
    expect(encodeYaml([{ a: 1, b: [2, { c: 3 }] }, [4, [5]], {}])).toBe('- a: 1\n  b:\n    - 2\n    - c: 3\n- - 4\n  - - 5\n- {}\n');
  });

  it('reads back the same under YAML 1.1 rules (older peers), not only 1.2', () => {
    const looksLike = ['123', '1.5', 'true', 'False', 'null', '~', '.inf', '0o17', '1_000', '1:20', 'y', 'n', 'On', 'OFF', '0b101', '2026-01-01', '+1', 'ord-1001', 'a b'];
    const out = encodeYaml({ looksLike });
    expect(parseYaml(out, { version: '1.1' })).toEqual({ looksLike });
  });

  it('falls back to explicit keys for a key too long to be implicit', () => {
    const key = 'k'.repeat(1_100);
    const out = encodeYaml({ [key]: 1, short: 2 });
    expect(out).toContain('? ');
    expect(decodeYaml(out, { maxBytes: 10_000 })).toEqual({ [key]: 1, short: 2 });
  });

  it('keeps a __proto__ key an ordinary key', () => {
    const value = JSON.parse('{"__proto__": {"x": 1}}') as unknown;
    expect(encodeYaml(value)).toBe('__proto__:\n  x: 1\n');
  });
});

describe('the fast reader (yaml-read.ts)', () => {
  const core = (text: string): unknown => parseYaml(text, { version: '1.2', schema: 'core', uniqueKeys: true });

  it('gives exactly what the yaml package gives on the documents it accepts', () => {
    const accepted = [
      'a: 1\n',
      'paygate: 1\nkind: request\nid: 6f1c8b2a-3d4e-4f5a-9b6c-7d8e9f0a1b2c\npayload:\n  amount:\n    value: 1999\n    currency: EUR\n',
      'p: 1.50\nq: -2\nr: 1e+21\nw: -1.5e-7\n',
      'x: "a\\u00e9\\n\\"q\\""\n',
      '"a b": 1\n"": x\n',
      '- - 1\n  - 2\n- 3\n- a: 1\n  b:\n    - c\n',
      'list: []\nmap: {}\nnone: null\nok: true\nko: false\n',
      'a: b c\n',
      'a: Zoë\n'.replace('Zoë', 'Zo_e'),
      '42\n',
      'a bare string\n',
      '"a: b"\n',
      '__proto__:\n  x: 1\n',
      'inf: .inf\nninf: -.inf\n',
    ];
    for (const text of accepted) {
      const fast = readCanonicalYaml(text, 32);
      expect(fast, text).not.toBe(NOT_CANONICAL);
      expect(fast, text).toEqual(core(text));
    }
    expect(Object.getPrototypeOf(decodeYaml('__proto__:\n  x: 1\n'))).toBe(Object.prototype);
    expect(Number.isNaN((readCanonicalYaml('v: .nan\n', 32) as { v: number }).v)).toBe(true);
  });

  it('leaves everything else to the yaml package (which then reads or refuses it)', () => {
    const declined = [
      'a: 1', // no final newline
      'a: 1\r\n',
      'a: 1 # comment\n',
      'a: [1, 2]\n',
      'a: {b: 1}\n',
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      'a: |\n  text\n',
      'a: 007\n',
      'a: 1e5\n',
      'a: yes\n',
      'on: 1\n',
      "a: 'single'\n",
      'a: "\\x41"\n',
      'a:\n- 1\n',
      'a:\n',
      'a: 1\na: 2\n',
      'a:  two spaces\n',
      'a: 1\n\nb: 2\n',
      'a: b\n  continued\n',
      '---\na: 1\n',
      'a:\tb\n',
      'a: x\u2028y\n',
      '- \n',
      'k: "a": b\n',
      'a: http://x\n',
    ];
    for (const text of declined) expect(readCanonicalYaml(text, 32), JSON.stringify(text)).toBe(NOT_CANONICAL);
    // …and decodeYaml still reads or refuses each exactly as before.
    expect(decodeYaml('a: 1 # comment\n')).toEqual({ a: 1 });
    expect(decodeYaml('a: yes\n')).toEqual({ a: 'yes' });
    expect(() => decodeYaml('a: 1\na: 2\n')).toThrow(/duplicate/);
    expect(() => decodeYaml('a: &x 1\nb: *x\n')).toThrow(/anchors and aliases/);
  });

  it('leaves documents deeper than the limit to the full parser, which refuses them', () => {
    const deep = `${Array.from({ length: 5 }, (_, i) => `${'  '.repeat(i)}k:`).join('\n')}\n${'  '.repeat(5)}v: 1\n`;
    expect(readCanonicalYaml(deep, 6)).toEqual({ k: { k: { k: { k: { k: { v: 1 } } } } } });
    expect(readCanonicalYaml(deep, 5)).toBe(NOT_CANONICAL);
    expect(() => decodeYaml(deep, { maxDepth: 5 })).toThrow(WireError);
  });
});
