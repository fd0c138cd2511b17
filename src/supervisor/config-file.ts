/**
 * The gateway's configuration file as the supervisor reads it: validated with the worker's
 * loader, and its text kept, so that every worker process runs exactly the bytes validated.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, parseWorkerConfig, type WorkerConfig } from '../worker/index.ts';

/** Reads and validates the file; the text is kept so workers run exactly what was validated. */
export function loadConfig(options: { readonly configPath: string; readonly env?: Readonly<Record<string, string | undefined>> }): { config: WorkerConfig; text: string } {
  const source = resolve(options.configPath);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'cannot be read';
    throw new ConfigError(source, [{ path: '(file)', problem: `cannot be read (${code})`, fix: 'check the path given to --config and its permissions' }], { cause });
  }
  const config = parseWorkerConfig(text, { baseDir: dirname(source), source, env: options.env ?? process.env });
  return { config, text };
}
