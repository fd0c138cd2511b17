/**
 * `openssl speed` for `npm run bench:wire`: run it, parse the figures the wire bounds are made
 * of, and keep the faster of two runs.
 */
import { spawnSync } from 'node:child_process';

/** The figures of one run, ops per CPU-second. */
export interface NativeSpeed {
  rsa2048: { sign: number; verify: number };
  rsa3072: { sign: number; verify: number };
  ecdsap256: { sign: number; verify: number };
  ecdhp256: number;
}

/** Run `openssl speed` for the four key operations and parse its table. */
export function opensslSpeed(seconds: number): { speed: NativeSpeed; table: string; version: string } {
  const cmd = ['speed', '-seconds', String(seconds), 'rsa2048', 'rsa3072', 'ecdsap256', 'ecdhp256'];
  const result = spawnSync('openssl', cmd, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${cmd.join(' ')} failed:\n${result.stderr}`);
  const out = result.stdout;
  const number = (re: RegExp, what: string): number => {
    const m = re.exec(out);
    if (!m?.[1]) throw new Error(`cannot find ${what} in openssl speed output:\n${out}`);
    return Number(m[1]);
  };
  // rsa 2048 bits 0.000349s 0.000017s   2866.9  58475.9
  const rsa = (bits: number): { sign: number; verify: number } => ({
    sign: number(new RegExp(`^rsa ${bits} bits\\s+\\S+\\s+\\S+\\s+([\\d.]+)\\s+[\\d.]+\\s*$`, 'm'), `rsa ${bits} sign/s`),
    verify: number(new RegExp(`^rsa ${bits} bits\\s+\\S+\\s+\\S+\\s+[\\d.]+\\s+([\\d.]+)\\s*$`, 'm'), `rsa ${bits} verify/s`),
  });
  // 256 bits ecdsa (nistp256)   0.0000s   0.0001s  39487.9  12992.4
  const ecdsaLine = /^\s*256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)\s*$/m.exec(out);
  if (!ecdsaLine?.[1] || !ecdsaLine[2]) throw new Error(`cannot find ecdsa nistp256 in openssl speed output:\n${out}`);
  const speed: NativeSpeed = {
    rsa2048: rsa(2048),
    rsa3072: rsa(3072),
    ecdsap256: { sign: Number(ecdsaLine[1]), verify: Number(ecdsaLine[2]) },
    // 256 bits ecdh (nistp256)   0.0001s  16847.9
    ecdhp256: number(/^\s*256 bits ecdh \(nistp256\)\s+\S+\s+([\d.]+)\s*$/m, 'ecdh nistp256 op/s'),
  };
  const table = out
    .split('\n')
    .filter((line) => /sign|verify|op\b|op\/s|bits/.test(line) && !/^(options|compiler|CPUINFO)/.test(line))
    .join('\n');
  const version = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout.trim();
  return { speed, table, version };
}

/**
 * The faster figure of each column of two openssl speed runs. A run taken while the machine
 * was busy gives a low bound, which would flatter the ratios; the better of a run before and a
 * run after node's measurements is the fairer reference.
 */
export function fasterOf(a: NativeSpeed, b: NativeSpeed): NativeSpeed {
  const pair = (x: { sign: number; verify: number }, y: { sign: number; verify: number }) => ({ sign: Math.max(x.sign, y.sign), verify: Math.max(x.verify, y.verify) });
  return { rsa2048: pair(a.rsa2048, b.rsa2048), rsa3072: pair(a.rsa3072, b.rsa3072), ecdsap256: pair(a.ecdsap256, b.ecdsap256), ecdhp256: Math.max(a.ecdhp256, b.ecdhp256) };
}

