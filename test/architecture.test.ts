/**
 * The dependency rules of docs/architecture.md, checked on the source: imports
 * flow one way, so a layer can be reasoned about, tested and replaced on its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** The project files a source file imports (relative imports only), as repo paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => relative(root, join(root, file, '..', s)));
}

/** Which top-level areas of ours may each folder import (besides itself and src/errors.ts). */
const ALLOWED: Record<string, (target: string) => boolean> = {
  'src/wire': () => false,
  'src/stomp': () => false,
  'src/broker': (t) => t === 'src/stomp/frame.ts',
  // The certificate tools write the signer roles the wire checks: one table, kept by the wire.
  'src/certs': (t) => t === 'src/wire/roles.ts',
  // The plugin contract sees the wire only through its public surface.
  'src/providers': (t) => t === 'src/wire/index.ts',
  // The SDK never imports the worker, the broker or the supervisor.
  'src/client': (t) => /^src\/(wire|stomp|providers)\//.test(t),
  // Workers never import the SDK or the broker.
  'src/worker': (t) => /^src\/(wire|stomp|providers)\//.test(t) || t === 'src/audit/events.ts',
  // The feed server reads the events document (src/audit/events.ts, a leaf over src/wire) from
  // the broker; the auditor's tools in src/audit read the feed's store, chain and Atom.
  'src/feed': (t) => /^src\/(wire|stomp)\//.test(t) || t === 'src/audit/events.ts',
  // The traffic capture reads RabbitMQ and ActiveMQ over STOMP.
  'src/audit': (t) => /^src\/(wire|feed|stomp)\//.test(t),
};

describe('dependency rules', () => {
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder} imports only what docs/architecture.md allows`, () => {
      const files = sources(folder);
      expect(files.length).toBeGreaterThan(0);
      const offending = files.flatMap((file) =>
        importsOf(file)
          .filter((target) => !target.startsWith(`${folder}/`) && target !== 'src/errors.ts' && !allowed(target))
          .map((target) => `${file} → ${target}`),
      );
      expect(offending).toEqual([]);
    });
  }

  it('src/wire never loads the certificate generator (and its @peculiar/x509) on the message path', () => {
    const offending = sources('src/wire').filter((f) => /@peculiar|reflect-metadata/.test(readFileSync(join(root, f), 'utf8')));
    expect(offending).toEqual([]);
  });

  it('provider plugins (and their sandboxes) use only the public surfaces of src/providers and src/wire', () => {
    const plugins = sources('providers').filter((f) => !f.endsWith('.test.ts') && !/(^|\/)test-[^/]*\.ts$/.test(f));
    expect(plugins.length).toBeGreaterThan(0);
    const offending = plugins.flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith('src/') && target !== 'src/providers/index.ts' && target !== 'src/wire/index.ts')
        .map((target) => `${file} → ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('only the wire layer and provider plugins reveal card data (revealSecret)', () => {
    const allowed = (file: string): boolean => file.startsWith('src/wire/') || /^providers\/[^/]+\//.test(file);
    const files = [...sources('src'), ...sources('providers')].filter((f) => !f.endsWith('.test.ts'));
    const offending = files.filter((f) => !allowed(f) && /\brevealSecret\b/.test(readFileSync(join(root, f), 'utf8')));
    expect(offending).toEqual([]);
    // The check sees a use: the YAML codec is one.
    expect(sources('src/wire').some((f) => /\brevealSecret\b/.test(readFileSync(join(root, f), 'utf8')))).toBe(true);
  });

  it('the checker sees imports (it would flag src/cli, which may use everything)', () => {
    expect(importsOf('src/cli/main.ts')).toContain('src/cli/certs.ts');
  });
});
