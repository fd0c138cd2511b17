import { Composer, Document, LineCounter, Parser, isAlias, isNode, visit } from 'yaml';
import type { CST, YAMLError } from 'yaml';
import { WireError } from './errors.ts';
import { Secret, revealSecret } from './secret.ts';
import { emitYaml, type Plain } from './yaml-emit.ts';
import { NOT_CANONICAL, readCanonicalYaml } from './yaml-read.ts';

/**
 * The YAML codec of the wire contract: plain YAML 1.2 core schema in, deterministic
 * YAML out. Decoding refuses anything beyond plain data (tags, anchors, aliases, merge keys,
 * duplicate keys, several documents) and enforces size and depth limits before building any
 * JavaScript value. Errors name a line and column, never a slice of the text: the text may
 * hold a card number.
 */

/** Limits applied by {@link decodeYaml}. */
export interface YamlLimits {
  /** Maximum size of the text in UTF-8 bytes, checked before parsing. Default 64 KiB. */
  maxBytes?: number;
  /**
   * Maximum nesting of mappings and sequences (a flat mapping is depth 1). Default 32, at most
   * {@link MAX_YAML_DEPTH}: the `yaml` composer recurses once per level.
   */
  maxDepth?: number;
}

/**
 * The highest `maxDepth` accepted. The `yaml` composer recurses several frames per level and
 * runs out of stack somewhere around 800 nested flow collections (it then reports
 * RESOURCE_EXHAUSTION, which we map to `YAML_LIMIT`); 256 keeps well clear of that.
 */
export const MAX_YAML_DEPTH = 256;

/** The defaults of {@link YamlLimits}. */
export const DEFAULT_YAML_LIMITS: Readonly<Required<YamlLimits>> = Object.freeze({
  maxBytes: 64 * 1024,
  maxDepth: 32,
});

/** Fixed schema options, shared by both directions so that what we write is what we read. */
const SCHEMA = {
  version: '1.2',
  schema: 'core',
  merge: false, // `<<` is an ordinary key
  resolveKnownTags: false, // no !!binary, !!set, !!timestamp …
} as const;

/** Error codes of the `yaml` package, described in our own words (its messages may quote input). */
const PROBLEMS: Record<string, string> = {
  DUPLICATE_KEY: 'duplicate mapping key',
  NON_STRING_KEY: 'mapping keys must be scalars',
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'tab used as indentation',
  MISSING_CHAR: 'missing closing character',
  UNEXPECTED_TOKEN: 'unexpected token',
  BAD_DQ_ESCAPE: 'bad escape in a double-quoted string',
  MULTILINE_IMPLICIT_KEY: 'implicit keys must be on a single line',
  KEY_OVER_1024_CHARS: 'implicit key longer than 1024 characters',
  BLOCK_AS_IMPLICIT_KEY: 'block collection used as an implicit key',
  BLOCK_IN_FLOW: 'block collection inside a flow collection',
  BAD_DIRECTIVE: 'bad directive',
  BAD_SCALAR_START: 'bad start of a plain scalar',
};

/**
 * Decodes one YAML 1.2 document into plain data (objects, arrays, strings, numbers, booleans,
 * null).
 *
 * @param text the document; a `Uint8Array`/`Buffer` must be valid UTF-8.
 * @throws RangeError for limits out of range (a programming error, not bad input).
 * @throws WireError `YAML_LIMIT` when the text is too large or too deeply nested, `YAML_INVALID`
 *   for bad UTF-8, syntax errors, tags, anchors/aliases, duplicate keys, directives other than
 *   `%YAML 1.2`, and zero or several documents.
 */
export function decodeYaml(text: string | Uint8Array, limits: YamlLimits = {}): unknown {
  const { maxBytes, maxDepth } = { ...DEFAULT_YAML_LIMITS, ...limits };
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError('maxBytes must be a positive integer');
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_YAML_DEPTH) {
    throw new RangeError(`maxDepth must be an integer from 1 to ${MAX_YAML_DEPTH}`);
  }
  const bytes = typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : text.byteLength;
  if (bytes > maxBytes) {
    throw new WireError('YAML_LIMIT', `YAML text is ${bytes} bytes, over the limit of ${maxBytes}`);
  }
  const source = typeof text === 'string' ? text : decodeUtf8(text);
  // Our own documents (and others in the same plain style) are read directly; the rest, and
  // every error, go through the yaml package below.
  const fast = readCanonicalYaml(source, maxDepth);
  if (fast !== NOT_CANONICAL) return fast;

  const lines = new LineCounter();
  const tokens = [...new Parser(lines.addNewLine).parse(source)];
  const where = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `line ${line}, column ${col}`;
  };

  const documents = tokens.filter((t): t is CST.Document => t.type === 'document');
  if (documents.length !== 1) {
    const problem = documents.length === 0 ? 'holds no document' : 'holds several documents';
    throw new WireError('YAML_INVALID', `YAML text ${problem}; exactly one is expected`);
  }
  // Depth is measured on the concrete syntax tree, before composing: the composer recurses, so
  // 60 000 nested `[` would otherwise be built (or overflow the stack) before being refused.
  const deep = findTooDeep(documents[0]?.value, maxDepth);
  if (deep !== undefined) {
    throw new WireError('YAML_LIMIT', `YAML nesting exceeds depth ${maxDepth} at ${where(deep)}`);
  }

  const composer = new Composer({ ...SCHEMA, uniqueKeys: true, stringKeys: true, prettyErrors: false });
  const [doc] = [...composer.compose(tokens, true)];
  if (!doc) throw new WireError('YAML_INVALID', 'YAML text holds no document');
  const [error] = doc.errors;
  if (error) throw syntaxError(error, where);
  if (doc.directives.yaml.explicit && doc.directives.yaml.version !== '1.2') {
    throw new WireError('YAML_INVALID', 'only YAML 1.2 documents are accepted (%YAML directive)');
  }
  refuseProperties(doc, where);
  // Aliases were refused above, so no expansion can happen here; 0 makes sure of it.
  return doc.toJS({ maxAliasCount: 0 });
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new WireError('YAML_INVALID', 'YAML text is not valid UTF-8');
  }
}

function syntaxError(error: YAMLError, where: (offset: number) => string): WireError {
  if (error.code === 'RESOURCE_EXHAUSTION') {
    return new WireError('YAML_LIMIT', `YAML nesting exhausted the parser at ${where(error.pos[0])}`);
  }
  const problem = PROBLEMS[error.code] ?? 'syntax error';
  return new WireError('YAML_INVALID', `YAML ${problem} (${error.code}) at ${where(error.pos[0])}`);
}

/** Offset of the first collection nested deeper than `max`, if any (iterative: no recursion). */
function findTooDeep(root: CST.Token | undefined, max: number): number | undefined {
  const stack: Array<[CST.Token | null | undefined, number]> = [[root, 0]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [token, depth] = next;
    if (!token || !('items' in token)) continue;
    if (depth + 1 > max) return token.offset;
    // Reversed so that the first item is examined first and the reported offset is the earliest.
    for (const item of [...token.items].reverse()) {
      stack.push(['value' in item ? item.value : undefined, depth + 1]);
      stack.push(['key' in item ? item.key : undefined, depth + 1]);
    }
  }
  return undefined;
}

/** Refuses anchors, aliases and explicit tags anywhere in the composed (not yet converted) tree. */
function refuseProperties(doc: Document.Parsed, where: (offset: number) => string): void {
  visit(doc, (_key, node) => {
    if (!isNode(node)) return;
    const at = where(node.range?.[0] ?? 0);
    if (isAlias(node) || node.anchor) {
      throw new WireError('YAML_INVALID', `YAML anchors and aliases are not accepted (at ${at})`);
    }
    if (node.tag !== undefined) {
      throw new WireError('YAML_INVALID', `YAML tags are not accepted (at ${at})`);
    }
  });
}

/**
 * Encodes plain data as YAML, deterministically: the same value always gives the same bytes.
 *
 * Block style, no line folding, no anchors or aliases (a repeated object is written out again),
 * keys in insertion order, one trailing newline (written by `yaml-emit.ts`; the `yaml` package
 * only for a key longer than 1024 characters). Strings that a YAML 1.2 *or* 1.1 reader would
 * take for something else (`"123"`, `"true"`, `"yes"`, `"2026-01-01"`) are quoted, so peers on
 * older YAML libraries read the same data. Quoted strings, multi-line ones included, are
 * one-line JSON-style double-quoted scalars: block scalars are avoided because the `yaml`
 * package writes `" \n"` as a `|+` block that reads back as `"\n"`.
 *
 * This is the ONLY place that writes the clear value of a {@link Secret}: they are replaced by
 * their clear value while the value is copied, before the `yaml` package sees it (it would
 * otherwise call `toJSON` and write the mask).
 *
 * @param value `null`, booleans, numbers, strings, arrays, plain objects, `Secret`s, and objects
 *   with `toJSON` (such as `Date`). `undefined` properties are left out, as in JSON.
 * @throws TypeError for other values (functions, symbols, bigints, `Map`, class instances) and
 *   for cycles.
 */
export function encodeYaml(value: unknown): string {
  const plain = toPlain(value, new Set());
  try {
    return emitYaml(plain as Plain);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  // A key too long for an implicit key: the general writer, which uses explicit `? key` entries.
  const doc = new Document(plain, { ...SCHEMA, aliasDuplicateObjects: false, compat: 'yaml-1.1' });
  return doc.toString({
    lineWidth: 0, // no folding
    minContentWidth: 0,
    blockQuote: false,
    doubleQuotedAsJSON: true,
    indent: 2,
    directives: null, // `---` only when the content needs it
  });
}

/** A deep copy of `value` made only of YAML's plain data, with secrets revealed. */
function toPlain(value: unknown, path: Set<object>): unknown {
  if (value instanceof Secret) return revealSecret(value);
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
    return value;
  }
  if (typeof value !== 'object') throw new TypeError(`encodeYaml cannot encode a ${typeof value}`);
  if (path.has(value)) throw new TypeError('encodeYaml cannot encode a cyclic structure');
  path.add(value);
  try {
    if (Array.isArray(value)) return value.map((item: unknown) => (item === undefined ? null : toPlain(item, path)));
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON !== 'function') {
        throw new TypeError(`encodeYaml cannot encode a ${value.constructor?.name ?? 'class'} instance`);
      }
      return toPlain(toJSON.call(value), path);
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key must stay an ordinary key.
      if (item !== undefined) Object.defineProperty(out, key, { value: toPlain(item, path), enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    path.delete(value);
  }
}
