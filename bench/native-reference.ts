/**
 * Native references for `npm run bench:wire`, from two small C programs linked against the
 * machine's libcrypto (bench/native/): OpenSSL's own CMS open of the message paygate sealed, and
 * where a P-256 ECDH derive's time goes. They need a C compiler and OpenSSL's headers
 * (`apt-get install gcc libssl-dev`); without them the benchmark says so and goes on without.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SOURCES = new URL('./native/', import.meta.url);

/** The compiled programs, or why there are none. */
export type NativePrograms = { cmsOpen: string; ecdhDerive: string; dir: string } | { missing: string };

/** Compile both programs into a temporary folder (`cc -O2 … -lcrypto`). */
export function compileNative(): NativePrograms {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-bench-native-'));
  const build = (name: string): string | { missing: string } => {
    const out = join(dir, name);
    const cc = spawnSync('cc', ['-O2', '-o', out, new URL(`${name}.c`, SOURCES).pathname, '-lcrypto'], { encoding: 'utf8' });
    if (cc.error) return { missing: `no C compiler (${cc.error.message})` };
    if (cc.status !== 0) return { missing: `cc ${name}.c failed (OpenSSL headers missing? apt-get install libssl-dev):\n${cc.stderr.trim()}` };
    return out;
  };
  const cmsOpen = build('cms-open');
  const ecdhDerive = build('ecdh-derive');
  if (typeof cmsOpen === 'string' && typeof ecdhDerive === 'string') return { cmsOpen, ecdhDerive, dir };
  rmSync(dir, { recursive: true, force: true });
  return typeof cmsOpen === 'string' ? (ecdhDerive as { missing: string }) : cmsOpen;
}

/** What OpenSSL's CMS_decrypt + CMS_verify need to open one message. */
export interface CmsOpenInput {
  sealed: string;
  recipientCertPem: string;
  recipientKeyPem: string;
  caCertPem: string;
}

/** OpenSSL's own opens per CPU-second of `input.sealed`, with and without the chain check. */
export function opensslCmsOpen(program: string, input: CmsOpenInput, seconds: number): { withChain: number; signatureOnly: number } {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-bench-cms-'));
  try {
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    const args = [file('message.p7m', input.sealed), file('recipient.crt', input.recipientCertPem), file('recipient.key', input.recipientKeyPem), file('ca.crt', input.caCertPem), String(seconds)];
    const run = (extra: string[]): number => {
      const result = spawnSync(program, [...args, ...extra], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`cms-open ${extra.join(' ')} failed (exit ${result.status}):\n${result.stderr}`);
      return Number(result.stdout.trim());
    };
    return { withChain: run([]), signatureOnly: run(['--no-chain']) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** µs per P-256 derive in libcrypto, by way of doing it (see bench/native/ecdh-derive.c). */
export function opensslEcdhCosts(program: string, seconds: number): { way: string; us: number }[] {
  const result = spawnSync(program, [String(seconds)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ecdh-derive failed (exit ${result.status}):\n${result.stderr}`);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [way = '', us = 'NaN'] = line.trim().split(/\s+/);
      return { way, us: Number(us) };
    });
}
