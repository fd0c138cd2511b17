/**
 * Helpers of the worker configuration's loader (config.ts): `${env:NAME}` substitution, key
 * paths, and the wording of a problem (what a key expects, what was found, how to fix it) —
 * never quoting a value, which may be a secret.
 */
import type { z } from 'zod';
import type { ConfigProblem } from './config.ts';
import type { ProblemParams } from './config-providers.ts';

/** What each key expects and how to fix it (config.ts's `CONFIG_KEYS`). */
export type ConfigKeys = Readonly<Record<string, { readonly expect: string; readonly fix: string }>>;

const ENV_REF = /^\$\{env:([^}]*)\}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `brokers[0].tls.ca` from `['brokers', 0, 'tls', 'ca']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** `brokers[].tls.ca` from `brokers[0].tls.ca`: the key of config.ts's `CONFIG_KEYS`. */
export function patternOf(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}

/** Replaces whole-value `${env:NAME}` strings; records problems and which paths came from the environment. */
export function substituteEnv(
  value: unknown,
  path: PropertyKey[],
  env: Readonly<Record<string, string | undefined>>,
  problems: ConfigProblem[],
  fromEnv: Map<string, string>,
): unknown {
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, [...path, i], env, problems, fromEnv));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, [...path, k], env, problems, fromEnv)]));
  }
  if (typeof value !== 'string' || !value.includes('${env:')) return value;
  const key = formatPath(path);
  const match = ENV_REF.exec(value);
  if (!match) {
    problems.push({ path: key, problem: '${env:…} must be the whole value (no text around it)', fix: 'put the whole value in the environment variable' });
    return undefined;
  }
  const name = match[1] as string;
  if (!ENV_NAME.test(name)) {
    problems.push({ path: key, problem: 'the environment variable name in ${env:…} is not valid', fix: 'use letters, digits and _, not starting with a digit' });
    return undefined;
  }
  fromEnv.set(key, name);
  const found = env[name];
  if (found === undefined) {
    problems.push({ path: key, problem: `environment variable ${name} is not set`, fix: `set ${name} in the worker's environment, or write the value in the file` });
    return undefined;
  }
  return found;
}

/** The value at `path` in `root`, if any. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let here = root;
  for (const part of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<PropertyKey, unknown>)[part];
  }
  return here;
}

/**
 * What a value is, without quoting it (it may be a secret). A number is shown only when it is out
 * of range for a numeric key (a number given where a string is expected may be a passcode).
 */
function describeValue(value: unknown, wrongType: boolean): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'got an empty value';
  if (Array.isArray(value)) return 'got a list';
  if (typeof value === 'object') return 'got a mapping';
  if (typeof value === 'string') return value === '' ? 'got an empty string' : wrongType ? 'got a string' : 'got a string that does not fit';
  if (typeof value === 'number' && !wrongType) return `got ${value}`;
  return `got a ${typeof value}`;
}

export function describeIssue(issue: z.core.$ZodIssue, input: unknown, keys: ConfigKeys): ConfigProblem[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const pattern = patternOf(path);
    const prefix = pattern === '' ? '' : `${pattern}.`;
    const known = Object.keys(keys)
      .filter((k) => k.startsWith(prefix) && k !== pattern && !k.slice(prefix.length).includes('.') && !k.endsWith('[]'))
      .map((k) => k.slice(prefix.length));
    return issue.keys.map((key) => {
      const near = known
        .filter((k) => editDistance(k, key) <= 2 || (key.length >= 4 && (k.startsWith(key) || key.startsWith(k))))
        .sort((a, b) => editDistance(a, key) - editDistance(b, key))[0];
      return {
        path: path === '' ? key : `${path}.${key}`,
        problem: 'unknown key',
        fix: near === undefined ? `remove it (known keys here: ${known.join(', ')})` : `did you mean ${near}?`,
      };
    });
  }
  const spec = keys[patternOf(path)] ?? { expect: 'a valid value', fix: 'see docs/operations.md' };
  const own = issue.code === 'custom' ? (issue.params as Partial<ProblemParams> | undefined) : undefined;
  if (typeof own?.problem === 'string' && typeof own.fix === 'string') return [{ path, problem: own.problem, fix: own.fix }];
  if (issue.code === 'custom' && issue.message.startsWith('duplicate:')) {
    const first = issue.path.slice(0, -2);
    return [{ path, problem: `the same name as ${formatPath([...first, Number(issue.message.slice(10)), 'name'])}`, fix: 'give each provider a unique name' }];
  }
  const where = path === '' ? '(file)' : path;
  const value = valueAt(input, issue.path);
  return [{ path: where, problem: `expected ${spec.expect}, ${describeValue(value, issue.code === 'invalid_type')}`, fix: spec.fix }];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

export function dropUndefined<T extends Record<string, unknown>>(object: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
