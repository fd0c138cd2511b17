/**
 * The YAML writer behind `encodeYaml`: block style for plain data, written directly.
 *
 * Why not the `yaml` package's `Document#toString`: it builds a node tree and runs its general
 * stringifier (folding, comments, flow decisions) for every document, ~270 µs for a request;
 * three documents are written per round trip, so it was a tenth of a round trip's CPU
 * (docs/benchmarks.md). What we write is a small, fixed subset:
 *
 * - mappings in block style, keys in insertion order; sequences as `- item`, indented under
 *   their key; `{}` and `[]` for empty ones; one trailing newline;
 * - a string is written plain only when it is unmistakably a string to YAML 1.2 *and* 1.1
 *   readers: ASCII words made of letters, digits and `_ . / @ + -`, single spaces between words,
 *   starting with a letter, `_` or `/`, and not one of 1.1's booleans or null (`yes`, `off`, `n`,
 *   …), or a UUID. Everything else is a JSON-style double-quoted scalar (JSON escapes are YAML escapes),
 *   with the characters YAML may not carry raw (C1 controls, DEL, U+2028/2029, BOM, U+FFFE/F)
 *   escaped as `\uXXXX`;
 * - numbers as JavaScript writes them (`-0`, `.inf`, `-.inf`, `.nan` for the special ones).
 *
 * The decoder (the `yaml` package) reads all of it back to the same value; the YAML tests check
 * that on fixed and generated data.
 */

/** Plain data only: what `toPlain` in yaml.ts produces. */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

/** Implicit keys longer than this need YAML's explicit `? key` form, which we do not write. */
export const MAX_IMPLICIT_KEY = 1024;

const SAFE_PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*(?: [A-Za-z0-9_./@+-]+)*$/;
const RESERVED = /^(?:y|yes|n|no|true|false|on|off|null)$/i;
// A UUID (every document's `id`) is a string to any YAML reader: no number, date or sexagesimal
// form has an 8-4-4-4-12 shape, so it may start with a digit and stay plain.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Characters that YAML does not allow raw in a double-quoted scalar, or reads as line breaks.
const NOT_PRINTABLE = /[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** A string as a YAML scalar: plain when safe, else double-quoted. */
export function scalarString(text: string): string {
  if ((SAFE_PLAIN.test(text) && !RESERVED.test(text)) || UUID.test(text)) return text;
  return JSON.stringify(text).replace(NOT_PRINTABLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function scalarNumber(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (value === Number.POSITIVE_INFINITY) return '.inf';
  if (value === Number.NEGATIVE_INFINITY) return '-.inf';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

/** The scalar text of a leaf, or undefined for a non-empty collection. */
function leaf(value: Plain): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'string') return scalarString(value);
  if (typeof value === 'number') return scalarNumber(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return value.length === 0 ? '[]' : undefined;
  return Object.keys(value).length === 0 ? '{}' : undefined;
}

function writeMapping(map: { [key: string]: Plain }, pad: string, out: string[]): void {
  for (const key of Object.keys(map)) {
    if (key.length > MAX_IMPLICIT_KEY) throw new RangeError('a mapping key is too long for an implicit YAML key');
    const value = map[key] as Plain;
    const text = leaf(value);
    const name = scalarString(key);
    if (text !== undefined) {
      out.push(`${pad}${name}: ${text}\n`);
    } else {
      out.push(`${pad}${name}:\n`);
      writeCollection(value, `${pad}  `, out);
    }
  }
}

function writeSequence(items: Plain[], pad: string, out: string[]): void {
  for (const item of items) {
    const text = leaf(item);
    if (text !== undefined) {
      out.push(`${pad}- ${text}\n`);
      continue;
    }
    // A nested collection starts on the dash's line: `- a: 1` / `  b: 2`, `- - 1`.
    const start = out.length;
    writeCollection(item, `${pad}  `, out);
    out[start] = `${pad}- ${(out[start] as string).slice(pad.length + 2)}`;
  }
}

function writeCollection(value: Plain, pad: string, out: string[]): void {
  if (Array.isArray(value)) writeSequence(value, pad, out);
  else writeMapping(value as { [key: string]: Plain }, pad, out);
}

/**
 * Writes `value` as a YAML document (see the module comment).
 * @throws RangeError for a mapping key longer than {@link MAX_IMPLICIT_KEY} characters.
 */
export function emitYaml(value: Plain): string {
  const text = leaf(value);
  if (text !== undefined) return `${text}\n`;
  const out: string[] = [];
  writeCollection(value, '', out);
  return out.join('');
}
