/**
 * The real `openssl` binary (and any other command) for interoperability tests: stdin in,
 * stdout/stderr/exit status out. Tests use it as the independent peer of paygate's wire code,
 * so nothing here may import from `src/`.
 */
import { spawn, spawnSync } from 'node:child_process';

/** What a finished command gave back. */
export interface CommandResult {
  stdout: Buffer;
  /** stderr as text (openssl and paygate write diagnostics there). */
  stderr: string;
  /** Exit status; `null` when killed by a signal. */
  status: number | null;
}

const MAX_BUFFER = 64 * 1024 * 1024;

/** Runs `command args…` with `input` on stdin and waits; never throws on a non-zero exit. */
export function run(command: string, args: readonly string[], input?: string | Buffer): CommandResult {
  const result = spawnSync(command, args, { input: input ?? '', maxBuffer: MAX_BUFFER });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr.toString(), status: result.status };
}

/** As {@link run}, without blocking: several slow commands (the paygate CLI) can run at once. */
export function runAsync(command: string, args: readonly string[], input?: string | Buffer): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), status }));
    child.stdin.on('error', () => undefined); // the command may exit before reading all of stdin
    child.stdin.end(input ?? '');
  });
}

/** Runs `openssl args…`; returns the result whatever the exit status. */
export function runOpenssl(args: readonly string[], input?: string | Buffer): CommandResult {
  return run('openssl', args, input);
}

/** Runs `openssl args…` and returns its stdout; throws with openssl's stderr if it fails. */
export function openssl(args: readonly string[], input?: string | Buffer): Buffer {
  const result = runOpenssl(args, input);
  if (result.status !== 0) {
    throw new Error(`openssl ${args.join(' ')} exited with ${String(result.status)}:\n${result.stderr}`);
  }
  return result.stdout;
}

/** Runs `openssl args…` expecting failure; returns stderr. Throws if it succeeded. */
export function opensslFails(args: readonly string[], input?: string | Buffer): string {
  const result = runOpenssl(args, input);
  if (result.status === 0) throw new Error(`openssl ${args.join(' ')} succeeded but was expected to fail`);
  return result.stderr;
}

/** `-keyopt`s that make `openssl cms -encrypt` use RSAES-OAEP with SHA-256 for the preceding `-recip`. */
export const OAEP_SHA256 = ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256'] as const;

/**
 * `openssl cms -encrypt` arguments for one recipient certificate: OAEP-SHA-256 key options for
 * RSA recipients (OpenSSL 3.0 applies `-keyopt` to the `-recip` before it), none for EC.
 */
export function recipientArgs(certPath: string, keyType: 'rsa' | 'ec'): string[] {
  return ['-recip', certPath, ...(keyType === 'rsa' ? OAEP_SHA256 : [])];
}

/**
 * Byte offsets of DER elements, as `openssl asn1parse` reports them (independent of our own
 * DER reader). Each entry: offset of the tag, header length, content length, depth, and the
 * rest of the line (e.g. `cons: SEQUENCE`, `prim: cont [ 0 ]`, `prim: OBJECT :rsaesOaep`).
 */
export interface Asn1Element {
  offset: number;
  depth: number;
  headerLength: number;
  length: number;
  constructed: boolean;
  description: string;
}

export function asn1Parse(der: Buffer): Asn1Element[] {
  const text = openssl(['asn1parse', '-inform', 'DER'], der).toString();
  const elements: Asn1Element[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+):d=\s*(\d+)\s+hl=\s*(\d+)\s+l=\s*(\d+|inf)\s+(cons|prim):\s*(.*)$/.exec(line);
    if (!m) continue;
    elements.push({
      offset: Number(m[1]),
      depth: Number(m[2]),
      headerLength: Number(m[3]),
      length: m[4] === 'inf' ? -1 : Number(m[4]),
      constructed: m[5] === 'cons',
      description: (m[6] ?? '').trim(),
    });
  }
  return elements;
}

/** The body of a PEM or S/MIME base64 entity (everything after the first blank line) as DER. */
export function smimeToDer(smime: string | Buffer): Buffer {
  const text = smime.toString();
  const blank = /\r?\n\r?\n/.exec(text);
  if (!blank) throw new Error('not an S/MIME entity: no blank line after the headers');
  return Buffer.from(text.slice(blank.index + blank[0].length), 'base64');
}

/** Re-wrap DER as an S/MIME entity the way `openssl cms -outform SMIME` writes it. */
export function derToSmime(der: Buffer): string {
  return openssl(['cms', '-cmsout', '-inform', 'DER', '-outform', 'SMIME'], der).toString();
}
