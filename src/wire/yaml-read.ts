/**
 * A fast reader for the YAML that `yaml-emit.ts` writes (and that hand-written documents in the
 * same simple style use): block mappings and sequences indented by two spaces, one scalar per
 * line, plain scalars of the emitter's safe kind, JSON-style double-quoted strings, `[]`, `{}`.
 *
 * Why: the `yaml` package builds a concrete syntax tree, a document and then JavaScript values,
 * ~250 µs for a request; two documents are read per round trip (docs/benchmarks.md). This reader
 * only recognises; it never guesses. Anything outside that subset — comments, flow collections,
 * anchors, tags, block scalars, other quoting, blank lines, CR, tabs, a duplicate key, a depth
 * over the limit, a plain scalar it is not sure of — makes it return {@link NOT_CANONICAL}, and
 * `decodeYaml` reads the text with the `yaml` package instead, whose checks and errors then apply.
 * On what it does accept it must give exactly what the `yaml` package gives; the YAML tests check
 * that on fixed and generated documents.
 */

/** Returned when the text is not in the subset; the caller falls back to the full parser. */
export const NOT_CANONICAL: unique symbol = Symbol('not canonical');

const SAFE_PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*(?: [A-Za-z0-9_./@+-]+)*$/;
const RESERVED = /^(?:y|yes|n|no|true|false|on|off|null)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Exactly what `String(number)` writes for a finite number (no leading zeros, no `+` mantissa).
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-][0-9]+)?$/;
// Characters the emitter always escapes; raw, YAML readers may see a line break or refuse them.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const SUSPECT = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;

class NotCanonical extends Error {}
const bail = (): never => {
  throw new NotCanonical();
};

type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

function readScalar(text: string): Value {
  switch (text) {
    case 'null':
      return null;
    case 'true':
      return true;
    case 'false':
      return false;
    case '[]':
      return [];
    case '{}':
      return {};
    case '.inf':
      return Number.POSITIVE_INFINITY;
    case '-.inf':
      return Number.NEGATIVE_INFINITY;
    case '.nan':
      return Number.NaN;
    default:
  }
  const first = text.charCodeAt(0);
  if (first === 0x22 /* " */) return readQuoted(text);
  if (NUMBER.test(text)) return Number(text);
  if ((SAFE_PLAIN.test(text) && !RESERVED.test(text)) || UUID.test(text)) return text;
  return bail();
}

function readQuoted(text: string): string {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'string') return value;
  } catch {
    // YAML-only escapes (\x, \e, \N, …) or not one string: the full parser decides.
  }
  return bail();
}

function readKey(text: string): string {
  if (text.charCodeAt(0) === 0x22) return readQuoted(text);
  if ((SAFE_PLAIN.test(text) && !RESERVED.test(text)) || UUID.test(text)) return text;
  return bail();
}

/** The index of the quote closing the double-quoted scalar that opens `text`, or -1. */
function closingQuote(text: string): number {
  for (let i = 1; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c /* \ */) i += 1;
    else if (ch === 0x22) return i;
  }
  return -1;
}

/** Where the key of a `key: value` / `key:` line ends (the index of its `:`), or -1 for a scalar line. */
function keyEnd(line: string): number {
  if (line.charCodeAt(0) !== 0x22) return line.indexOf(':');
  const close = closingQuote(line);
  if (close < 0) return bail();
  if (close === line.length - 1) return -1; // the whole line is one quoted scalar
  return line.charCodeAt(close + 1) === 0x3a /* : */ ? close + 1 : bail();
}

/** Splits `key: value` / `key:` at the separator. */
function splitEntry(line: string): [key: string, rest: string | undefined] {
  const end = keyEnd(line);
  if (end <= 0) return bail();
  if (end === line.length - 1) return [line.slice(0, end), undefined];
  if (line.charCodeAt(end + 1) !== 0x20 || line.charCodeAt(end + 2) === 0x20) return bail();
  return [line.slice(0, end), line.slice(end + 2)];
}

/** Reads the document's lines; `lines[i]` may be replaced by its content after a `- `. */
class Reader {
  i = 0;
  constructor(
    readonly lines: string[],
    readonly maxDepth: number,
  ) {}

  /** The indentation of line `i` (-1 at the end). */
  indentAt(i: number): number {
    const line = this.lines[i];
    if (line === undefined) return -1;
    let n = 0;
    while (line.charCodeAt(n) === 0x20) n += 1;
    return n;
  }

  /** A collection whose first line is `i`, at indent `pad`. */
  collection(pad: number, depth: number): Value {
    if (depth > this.maxDepth) return bail();
    const line = this.lines[this.i] as string;
    return line.startsWith('- ', pad) ? this.sequence(pad, depth) : this.mapping(pad, depth);
  }

  mapping(pad: number, depth: number): Value {
    const map: { [key: string]: Value } = {};
    const seen = new Set<string>();
    while (this.indentAt(this.i) === pad) {
      const line = (this.lines[this.i] as string).slice(pad);
      if (line.startsWith('- ')) return bail();
      const [keyText, rest] = splitEntry(line);
      const key = readKey(keyText);
      if (seen.has(key)) return bail();
      seen.add(key);
      this.i += 1;
      const value = rest === undefined ? this.nested(pad, depth) : readScalar(rest);
      if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      else map[key] = value;
    }
    return map;
  }

  sequence(pad: number, depth: number): Value {
    const items: Value[] = [];
    while (this.indentAt(this.i) === pad && (this.lines[this.i] as string).startsWith('- ', pad)) {
      const rest = (this.lines[this.i] as string).slice(pad + 2);
      if (rest.startsWith('- ') || splitsAsEntry(rest)) {
        // `- a: 1` / `- - 1`: the item is a collection whose first line starts after the dash.
        this.lines[this.i] = `${' '.repeat(pad + 2)}${rest}`;
        items.push(this.collection(pad + 2, depth + 1));
      } else {
        items.push(readScalar(rest));
        this.i += 1;
      }
    }
    return items;
  }

  /** The value of `key:` on a line of its own: a collection indented below, or a sequence at the same indent. */
  nested(pad: number, depth: number): Value {
    const below = this.indentAt(this.i);
    if (below === pad + 2) return this.collection(pad + 2, depth + 1);
    return bail(); // `key:` with nothing below is null in YAML, which the emitter never writes
  }
}

/** Whether a sequence item's text is a mapping entry (`a: 1`, `"a b": x`, `a:`), not a scalar. */
function splitsAsEntry(text: string): boolean {
  return keyEnd(text) >= 0;
}

/**
 * Reads `source` if it is in the subset (see the module comment), else returns
 * {@link NOT_CANONICAL}. `maxDepth` as for `decodeYaml`: deeper text is left to the full parser,
 * which refuses it with its own error.
 */
export function readCanonicalYaml(source: string, maxDepth: number): unknown {
  if (!source.endsWith('\n') || SUSPECT.test(source)) return NOT_CANONICAL;
  const lines = source.slice(0, -1).split('\n');
  try {
    if (lines.length === 1 && !splitsAsEntry(lines[0] as string) && !(lines[0] as string).startsWith('- ')) {
      return readScalar(lines[0] as string);
    }
    if (lines.some((line) => line === '' || line.endsWith(' '))) return NOT_CANONICAL;
    const reader = new Reader(lines, maxDepth);
    if (reader.indentAt(0) !== 0) return NOT_CANONICAL;
    const value = reader.collection(0, 1);
    return reader.i === lines.length ? value : NOT_CANONICAL;
  } catch (error) {
    if (error instanceof NotCanonical) return NOT_CANONICAL;
    throw error;
  }
}
