/**
 * Doc examples as TypeScript: every ```ts block of README.md, docs/*.md and the plugins'
 * READMEs, type-checked by tsc's API against the sources, with the package's specifiers (`paygate`, `paygate/provider`,
 * `paygate/providers/card`…) mapped to them as the package's `exports` map them to `dist/`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

/** The repository root. */
export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** The documents whose examples are checked, as repo paths: the README, docs/, and each plugin's README. */
export function documents(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort();
  const plugins = readdirSync(join(ROOT, 'providers'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, 'providers', entry.name, 'README.md')))
    .map((entry) => `providers/${entry.name}/README.md`)
    .sort();
  return ['README.md', ...docs.map((name) => `docs/${name}`), ...plugins];
}

/** One ```ts block. */
export interface DocExample {
  /** `docs/sdk.md:42`: the document and the line of the opening fence. */
  readonly where: string;
  readonly code: string;
  /** The reason given by a `<!-- not-compiled: reason -->` marker right before the block, if any. */
  readonly optOut?: string;
  /**
   * The repo path a `<!-- example: path -->` marker right before the block names: the block is
   * checked as that file (its relative imports resolve from there). Otherwise a file of its own
   * next to its document: a relative import (an internal module such as the broker or a plugin's
   * sandbox, which the package does not export) is written from the document's folder, as its links are.
   */
  readonly file?: string;
}

const FENCE_OPEN = /^```(ts|typescript)\s*$/;
const OPT_OUT = /^<!--\s*not-compiled:\s*(\S.*?)\s*-->$/;
const AS_FILE = /^<!--\s*example:\s*(\S+)\s*-->$/;

/** The ```ts blocks of a markdown text, with their opt-out markers. */
export function examplesOf(doc: string, text: string): DocExample[] {
  const lines = text.split('\n');
  const found: DocExample[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (!FENCE_OPEN.test(lines[i] ?? '')) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i += 1) body.push(lines[i] ?? '');
    // The marker must sit on the line right before the fence (blank lines between are allowed).
    let j = start - 1;
    while (j >= 0 && (lines[j] ?? '').trim() === '') j -= 1;
    const marker = (lines[j] ?? '').trim();
    const reason = OPT_OUT.exec(marker)?.[1];
    const file = AS_FILE.exec(marker)?.[1];
    found.push({
      where: `${doc}:${start + 1}`,
      code: body.join('\n'),
      ...(reason === undefined ? {} : { optOut: reason }),
      ...(file === undefined ? {} : { file }),
    });
  }
  return found;
}

/** Every example of {@link documents}. */
export function allExamples(): DocExample[] {
  return documents().flatMap((doc) => examplesOf(doc, readFileSync(join(ROOT, doc), 'utf8')));
}

/** The package's specifiers → the sources they are built from (the `exports` map, before the build). */
export const PACKAGE_PATHS: Readonly<Record<string, string[]>> = {
  paygate: [join(ROOT, 'src/index.ts')],
  'paygate/provider': [join(ROOT, 'src/provider.ts')],
  'paygate/wire': [join(ROOT, 'src/wire/index.ts')],
  'paygate/worker': [join(ROOT, 'src/worker/index.ts')],
  'paygate/providers/*': [join(ROOT, 'providers/*/index.ts')],
};

function compilerOptions(): ts.CompilerOptions {
  const file = join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(file, (path) => ts.sys.readFile(path));
  if (read.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, file);
  // A storefront's project may well be stricter than ours: the examples must hold there too.
  return { ...parsed.options, noEmit: true, exactOptionalPropertyTypes: true, paths: { ...PACKAGE_PATHS } };
}

/**
 * Where an example lives while it is checked: a virtual file in the repository (so `zod` and the
 * sources resolve), in its document's folder unless it names a file.
 */
function virtualPath(example: DocExample, index: number): string {
  if (example.file !== undefined) return join(ROOT, example.file);
  const doc = example.where.replace(/:\d+$/, '');
  return join(ROOT, dirname(doc), `.doc-example-${index}.ts`);
}

/** One example's problems, as `line: message` (lines of the block), empty when it compiles. */
export type Problems = readonly string[];

/**
 * Type-checks the examples in one program (each its own module) and returns each one's
 * problems. A block without an import or export gets `export {}` so that it is a module too.
 */
export function typeCheck(examples: readonly DocExample[]): Problems[] {
  const files = new Map(
    examples.map((example, index) => {
      const isModule = /^\s*(import|export)\b/m.test(example.code);
      return [virtualPath(example, index), isModule ? example.code : `${example.code}\nexport {};\n`] as const;
    }),
  );
  const options = compilerOptions();
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (path) => files.has(path) || fileExists.call(host, path);
  host.readFile = (path) => files.get(path) ?? readFile.call(host, path);
  host.getSourceFile = (path, language, onError, create) => {
    const text = files.get(path);
    return text === undefined ? getSourceFile.call(host, path, language, onError, create) : ts.createSourceFile(path, text, language, true);
  };
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  return examples.map((example, index) => {
    const source = program.getSourceFile(virtualPath(example, index));
    if (source === undefined) return ['the example was not compiled'];
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    return diagnostics.map((d) => {
      const line = d.start === undefined ? '?' : String(source.getLineAndCharacterOfPosition(d.start).line + 1);
      return `line ${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  });
}
