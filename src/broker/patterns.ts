/**
 * Destination patterns of the users file, ActiveMQ style: `*` matches one segment (one or more
 * characters, none of them `.` or `/`), a trailing `>` matches the rest (one or more characters
 * of any kind). Everything else matches itself. `/queue/paygate.*` matches `/queue/paygate.card`
 * but not `/queue/paygate.card.dlq`; `/queue/paygate.>` matches both.
 */

/** Destination kinds a pattern may name; temp queues follow fixed rules (access.ts), not patterns. */
const PATTERN_PREFIXES = ['/queue/', '/topic/'] as const;

/** Why `pattern` is not a valid destination pattern, or undefined when it is. */
export function patternProblem(pattern: string): string | undefined {
  const prefix = PATTERN_PREFIXES.find((p) => pattern.startsWith(p));
  if (prefix === undefined) {
    return 'must start with /queue/ or /topic/ (temporary queues have fixed rules; see reply)';
  }
  const rest = pattern.slice(prefix.length);
  if (rest === '') return 'names no destination after the prefix';
  if (/[\s\0]/.test(pattern)) return 'must not contain white space';
  const arrow = rest.indexOf('>');
  if (arrow !== -1 && arrow !== rest.length - 1) return '> may only end a pattern';
  return undefined;
}

/** A compiled set of patterns: `matches(destination)`. */
export class PatternSet {
  readonly #regex: RegExp | undefined;

  /** @param patterns valid patterns (see {@link patternProblem}); an empty list matches nothing. */
  constructor(readonly patterns: readonly string[]) {
    this.#regex = patterns.length === 0 ? undefined : new RegExp(`^(?:${patterns.map(toRegexSource).join('|')})$`);
  }

  matches(destination: string): boolean {
    return this.#regex?.test(destination) ?? false;
  }
}

function toRegexSource(pattern: string): string {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '[^./]+';
    else if (char === '>') source += '[\\s\\S]+';
    else source += char.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
  }
  return source;
}
