/**
 * Wire benchmark (`npm run bench:wire`): seal and open(+verify) throughput for RSA-2048,
 * RSA-3072 and EC P-256, beside the machine's native bound for the same key operations,
 * measured in the same run with `openssl speed`.
 *
 *   open  = one private-key op (RSA-OAEP decrypt ≈ RSA sign, or one ECDH) + one public verify
 *   seal  = one private sign + one public-key op (RSA-OAEP encrypt ≈ RSA verify, or one ECDH)
 *   bound = 1 / (1/private + 1/public)   (ops per CPU-second, as openssl speed counts them)
 *
 * Target: open+verify ≥ 50 % of its native bound. Single-threaded, ~1 KB YAML bodies, keys from
 * the dev CA, a warm-up and a fixed duration per case. Then, per key type, where the time of
 * one open() goes, stage by stage.
 *
 * Then, when a C compiler and OpenSSL's headers are there (bench/native-reference.ts), two
 * native references: OpenSSL's own CMS open of the same sealed message, and what a P-256 ECDH
 * derive costs in libcrypto done the ways node and OpenSSL's CMS code do it.
 *
 * Options: --seconds N (per case, default 3), --warmup N (default 1), --no-stages,
 * --speed-seconds N (openssl speed, default 2), --no-native.
 */
import {
  constants, createPublicKey, diffieHellman, generateKeyPairSync, privateDecrypt, publicEncrypt, sign, verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { generateDevPki } from '../src/certs/devca.ts';
import type { KeySpec } from '../src/certs/devca.ts';
import { parseDer } from '../src/wire/der.ts';
import { openEnvelope } from '../src/wire/enveloped-data.ts';
import { decodeBody, parseEntity } from '../src/wire/mime.ts';
import { verifySignedData } from '../src/wire/signed-data.ts';
import { open, openOptionsSchema, seal } from '../src/wire/smime.ts';
import { TrustStore } from '../src/wire/trust.ts';
import { loadIdentity } from '../src/wire/x509.ts';
import type { Identity } from '../src/wire/x509.ts';
import { fasterOf, opensslSpeed, type NativeSpeed } from './openssl-speed.ts';
import { compileNative, opensslCmsOpen, opensslEcdhCosts, type CmsOpenInput, type NativePrograms } from './native-reference.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'speed-seconds': { type: 'string', default: '2' },
    'no-stages': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const SPEED_SECONDS = Number(args['speed-seconds']);
const TARGET = 0.5;

/** A realistic authorize request (~1 KB), as the SDK would write it. */
const YAML = `paygate: 1
kind: request
id: 6f1c2a9e-3b7d-4c1e-9a55-0d2b8e4f7a10
idempotency_key: ord-1001-auth
provider: card
type: authorize
sent_at: "2026-11-23T13:00:00.000Z"
expires_at: "2026-11-23T13:00:30.000Z"
payload:
  order_id: ord-1001
  amount:
    value: 1999
    currency: EUR
  card:
    number: "4111111111111111"
    cvc: "737"
    exp_month: 12
    exp_year: 2030
    holder: Zoe Mueller
  customer:
    id: cus-88412
    email: zoe.mueller@example.com
    ip: 203.0.113.7
    billing_address:
      line1: Bahnhofstrasse 12
      city: Zurich
      postal_code: "8001"
      country: CH
  items:
    - {sku: CAF-001, name: cafe creme, quantity: 2, unit_price: 450}
    - {sku: CRO-002, name: croissant, quantity: 1, unit_price: 320}
    - {sku: JUS-003, name: orange juice, quantity: 1, unit_price: 579}
  description: Table 7, breakfast for two
  return_url: https://shop.example.com/orders/ord-1001/return
  metadata:
    channel: web
    session: 0b7e1f0c-55aa-4a3e-8d7c-2f6a9b1c3d4e
    campaign: autumn-2026
`;

// ---- timing -----------------------------------------------------------------------------

interface Rate {
  /** Operations per second of user CPU time (what openssl speed reports by default). */
  cpu: number;
  /** Operations per second of wall-clock time. */
  wall: number;
  ops: number;
}

/** Run `fn` for `WARMUP` seconds, then count calls for `seconds` seconds. */
function measure(fn: () => unknown, seconds = SECONDS, warmup = WARMUP): Rate {
  const warmEnd = performance.now() + warmup * 1000;
  while (performance.now() < warmEnd) fn();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let ops = 0;
  let now = t0;
  while (now < end) {
    fn();
    ops++;
    now = performance.now();
  }
  const user = process.cpuUsage(cpu0).user / 1e6;
  return { cpu: ops / user, wall: ops / ((now - t0) / 1000), ops };
}

/** Throughput bound of two operations done one after the other. */
const serial = (a: number, b: number): number => 1 / (1 / a + 1 / b);

// ---- the cases --------------------------------------------------------------------------

interface Case {
  label: string;
  spec: KeySpec;
  /** Native bounds from openssl speed, with the operations they are made of. */
  bound: (s: NativeSpeed) => { seal: number; open: number; sealOps: string; openOps: string };
}

const CASES: Case[] = [
  {
    label: 'RSA-2048',
    spec: { algo: 'rsa', bits: 2048 },
    bound: (s) => ({
      seal: serial(s.rsa2048.sign, s.rsa2048.verify),
      open: serial(s.rsa2048.sign, s.rsa2048.verify),
      sealOps: 'rsa2048 sign + verify(≈encrypt)',
      openOps: 'rsa2048 sign(≈decrypt) + verify',
    }),
  },
  {
    label: 'RSA-3072',
    spec: { algo: 'rsa', bits: 3072 },
    bound: (s) => ({
      seal: serial(s.rsa3072.sign, s.rsa3072.verify),
      open: serial(s.rsa3072.sign, s.rsa3072.verify),
      sealOps: 'rsa3072 sign + verify(≈encrypt)',
      openOps: 'rsa3072 sign(≈decrypt) + verify',
    }),
  },
  {
    label: 'EC P-256',
    spec: { algo: 'ec' },
    bound: (s) => ({
      seal: serial(s.ecdsap256.sign, s.ecdhp256),
      open: serial(s.ecdhp256, s.ecdsap256.verify),
      sealOps: 'ecdsap256 sign + ecdhp256',
      openOps: 'ecdhp256 + ecdsap256 verify',
    }),
  },
];

interface Parties {
  client: Identity;
  gateway: Identity;
  trust: TrustStore;
  /** The gateway's certificate and key and the CA, as PEM, for OpenSSL's own open. */
  pem: Omit<CmsOpenInput, 'sealed'>;
}

async function parties(spec: KeySpec): Promise<Parties> {
  const pki = await generateDevPki(spec);
  return {
    client: loadIdentity(pki.client.certPem, pki.client.keyPem),
    gateway: loadIdentity(pki.gateway.certPem, pki.gateway.keyPem),
    trust: new TrustStore([pki.ca.certPem]),
    pem: { recipientCertPem: pki.gateway.certPem, recipientKeyPem: pki.gateway.keyPem, caCertPem: pki.ca.certPem },
  };
}

// ---- stage breakdown of open() ----------------------------------------------------------

interface Stage {
  name: string;
  usPerOp: number;
  /** Part of open() (false: a reference figure, e.g. the bare node:crypto primitive). */
  inOpen: boolean;
}

/**
 * The two key operations open() cannot avoid, done with bare node:crypto calls as cheaply as the
 * API allows: the private-key op (RSA-OAEP decrypt, or ECDH with a ready KeyObject for the
 * peer) and the signature verify. What node itself can reach, beside what openssl speed reaches.
 */
function primitivesOf(p: Parties): { name: string; usPerOp: number }[] {
  const time = (fn: () => unknown): number => 1e6 / measure(fn, Math.max(0.5, SECONDS / 4), 0.2).cpu;
  const me = p.gateway;
  const data = Buffer.alloc(200, 7);
  const signature = sign('sha256', data, p.client.privateKey);
  const verifyOne = { name: `${p.client.certificate.keyType === 'rsa' ? 'RSA PKCS#1' : 'ECDSA'} verify`, usPerOp: time(() => verify('sha256', data, p.client.certificate.publicKey, signature)) };
  if (me.certificate.keyType === 'rsa') {
    const oaep = { key: me.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
    const encrypted = publicEncrypt({ ...oaep, key: me.certificate.publicKey }, Buffer.alloc(32, 1));
    return [{ name: 'RSA-OAEP decrypt', usPerOp: time(() => privateDecrypt(oaep, encrypted)) }, verifyOne];
  }
  const ephemeral = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = ephemeral.publicKey.export({ type: 'spki', format: 'der' });
  return [
    { name: 'ECDH derive', usPerOp: time(() => diffieHellman({ privateKey: me.privateKey, publicKey: ephemeral.publicKey })) },
    verifyOne,
    { name: 'ECDH derive + import the peer point', usPerOp: time(() => diffieHellman({ privateKey: me.privateKey, publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }) as KeyObject })) },
  ];
}

function stagesOf(p: Parties, sealed: string, primitives: { name: string; usPerOp: number }[]): Stage[] {
  const short = (fn: () => unknown): number => 1e6 / measure(fn, Math.max(0.5, SECONDS / 4), 0.2).cpu;
  // open() reads a text body as text (no copy into bytes): so does the stage.
  const envelopeDer = decodeBody(parseEntity(sealed));
  const opened = openEnvelope(envelopeDer, p.gateway);
  const signedDer = decodeBody(parseEntity(opened.content));
  const verified = verifySignedData(signedDer);
  const stages: Stage[] = [
    { name: 'open() total', usPerOp: short(() => open(sealed, { identity: p.gateway, trust: p.trust })), inOpen: false },
    { name: '  options validation (zod, every call)', usPerOp: short(() => openOptionsSchema.parse({ identity: p.gateway, trust: p.trust })), inOpen: true },
    { name: '  outer MIME + base64 decode', usPerOp: short(() => decodeBody(parseEntity(sealed))), inOpen: true },
    { name: '  openEnvelope (DER parse + key recovery + AES-GCM)', usPerOp: short(() => openEnvelope(envelopeDer, p.gateway)), inOpen: true },
    { name: '    of which forge DER parse of the envelope', usPerOp: short(() => parseDer(envelopeDer, 'envelope')), inOpen: false },
    { name: '  inner MIME + base64 decode', usPerOp: short(() => decodeBody(parseEntity(opened.content))), inOpen: true },
    { name: '  verifySignedData (DER parse + digest + verify)', usPerOp: short(() => verifySignedData(signedDer)), inOpen: true },
    { name: '    of which forge DER parse of the SignedData', usPerOp: short(() => parseDer(signedDer, 'SignedData')), inOpen: false },
    { name: '  TrustStore.verify (cached path)', usPerOp: short(() => p.trust.verify(verified.signer, verified.certificates)), inOpen: true },
  ];
  for (const primitive of primitives) stages.push({ name: `node:crypto ${primitive.name} (bare)`, usPerOp: primitive.usPerOp, inOpen: false });
  return stages;
}

// ---- main ---------------------------------------------------------------------------------

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
const num = (x: number): string => x.toFixed(0).padStart(6);

function pad(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]): string => `| ${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head, ...body] = rows;
  return [line(head ?? []), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** What one key type measured, before any bound is applied. */
interface Measured {
  c: Case;
  s: Rate;
  o: Rate;
  nodeBound: number;
  own?: { withChain: number; signatureOnly: number };
  stages?: Stage[];
}

function measureCase(c: Case, p: Parties, native: NativePrograms): Measured {
  const sealOnce = (): string => seal(YAML, { recipients: [p.gateway.certificate], signer: p.client });
  const sealed = sealOnce();
  const opened = open(sealed, { identity: p.gateway, trust: p.trust });
  if (opened.yaml !== YAML) throw new Error(`${c.label}: open() did not give back the YAML`);
  process.stdout.write(`measuring ${c.label} seal … `);
  const s = measure(sealOnce);
  process.stdout.write(`${s.cpu.toFixed(0)}/s; open … `);
  const o = measure(() => open(sealed, { identity: p.gateway, trust: p.trust }));
  console.log(`${o.cpu.toFixed(0)}/s`);
  const primitives = primitivesOf(p);
  const [privateOp, verifyOp] = primitives;
  return {
    c,
    s,
    o,
    nodeBound: 1e6 / ((privateOp?.usPerOp ?? 0) + (verifyOp?.usPerOp ?? 0)),
    own: 'cmsOpen' in native ? opensslCmsOpen(native.cmsOpen, { sealed, ...p.pem }, SECONDS) : undefined,
    stages: args['no-stages'] ? undefined : stagesOf(p, sealed, primitives),
  };
}

function runOpensslSpeed(when: string): NativeSpeed {
  console.log(`running openssl speed -seconds ${SPEED_SECONDS} rsa2048 rsa3072 ecdsap256 ecdhp256 (${when}) …`);
  const { speed, table, version } = opensslSpeed(SPEED_SECONDS);
  console.log(`${version}\n${table}\n`);
  return speed;
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log('# paygate wire benchmark');
  console.log(`date:     ${new Date().toISOString()}`);
  console.log(`machine:  ${cpu}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  console.log(`node:     ${process.version} (OpenSSL ${process.versions.openssl}), single-threaded, synchronous crypto`);
  console.log(`body:     ${Buffer.byteLength(YAML)} bytes of YAML; AES-256-GCM; signer certificate included`);
  console.log(`per case: ${WARMUP} s warm-up, ${SECONDS} s measured; ops/s per CPU-second (user), as openssl speed counts\n`);

  const all = await Promise.all(CASES.map(async (c) => ({ c, p: await parties(c.spec) })));
  const before = runOpensslSpeed('before');
  const native: NativePrograms = args['no-native'] ? { missing: 'skipped (--no-native)' } : compileNative();
  const measured = all.map(({ c, p }) => measureCase(c, p, native));
  const speed = fasterOf(before, runOpensslSpeed('after'));
  printResults(measured, speed);
  printNativeReferences(native, measured, speed);
  printWallClock(measured);
  printStages(measured);
}

function printResults(measured: Measured[], speed: NativeSpeed): void {
  const rows: string[][] = [['key', 'seal/s', 'seal bound', 'seal %', 'open+verify/s', 'open bound', 'open %', `target open ≥ ${pct(TARGET)}`, 'node:crypto bound', 'open % of it']];
  for (const { c, s, o, nodeBound } of measured) {
    const b = c.bound(speed);
    rows.push([
      c.label, num(s.cpu), num(b.seal), pct(s.cpu / b.seal), num(o.cpu), num(b.open), pct(o.cpu / b.open), o.cpu / b.open >= TARGET ? 'PASS' : 'FAIL',
      num(nodeBound), pct(o.cpu / nodeBound),
    ]);
  }
  console.log('\n## Results (ops per CPU-second; bound = 1 / (1/private + 1/public) from openssl speed, the faster of the two runs)\n');
  console.log(pad(rows));
  console.log('\nnode:crypto bound: the same two key operations as open, with bare node:crypto calls (no CMS, no MIME).');
  console.log('Native operations per bound:');
  for (const c of CASES) {
    const b = c.bound(speed);
    console.log(`  ${c.label}: seal = ${b.sealOps}; open = ${b.openOps}`);
  }
}

function printWallClock(measured: Measured[]): void {
  console.log('\nWall-clock rates (the machine may be shared; CPU-time rates above are the comparable ones):\n');
  console.log(pad([['key', 'seal/s (wall)', 'open/s (wall)'], ...measured.map(({ c, s, o }) => [c.label, num(s.wall), num(o.wall)])]));
}

function printStages(measured: Measured[]): void {
  for (const { c, stages } of measured) {
    if (!stages) continue;
    const total = stages[0]?.usPerOp ?? 1;
    console.log(`\n## Where one open() goes: ${c.label} (µs per call, each stage timed alone)\n`);
    const stageRows: string[][] = [['stage', 'µs', '% of open()']];
    for (const st of stages) stageRows.push([st.name, st.usPerOp.toFixed(1), st.name.startsWith('node:crypto') ? '' : pct(st.usPerOp / total)]);
    const sum = stages.filter((x) => x.inOpen).reduce((acc, x) => acc + x.usPerOp, 0);
    stageRows.push(['  sum of the stages', sum.toFixed(1), pct(sum / total)]);
    console.log(pad(stageRows));
  }
}

function printNativeReferences(native: NativePrograms, measured: Measured[], speed: NativeSpeed): void {
  console.log('\n## Native references (C against the machine\'s libcrypto, bench/native/)\n');
  if (!('cmsOpen' in native)) {
    console.log(`not measured: ${native.missing}`);
    return;
  }
  console.log('OpenSSL\'s own CMS open of the same sealed message (SMIME_read_CMS, CMS_decrypt, CMS_verify), ops per CPU-second;');
  console.log('"signature only" skips the signer\'s chain check (CMS_NO_SIGNER_CERT_VERIFY), which paygate caches:\n');
  const ratio = (x: number): string => `×${x.toFixed(2)}`;
  const rows: string[][] = [['key', 'paygate open/s', 'OpenSSL CMS open/s', 'its % of bound', 'paygate ÷ it', 'OpenSSL, signature only/s', 'its % of bound', 'paygate ÷ it']];
  for (const { c, o, own } of measured) {
    if (!own) continue;
    const bound = c.bound(speed).open;
    rows.push([c.label, num(o.cpu), num(own.withChain), pct(own.withChain / bound), ratio(o.cpu / own.withChain), num(own.signatureOnly), pct(own.signatureOnly / bound), ratio(o.cpu / own.signatureOnly)]);
  }
  console.log(pad(rows));
  console.log('\nOne P-256 ECDH derive in libcrypto, µs of CPU (openssl speed times reused-context; node\'s');
  console.log('ECDH.computeSecret() does check-then-compute, crypto.diffieHellman() and CMS_decrypt fresh-validating):\n');
  const costs = opensslEcdhCosts(native.ecdhDerive, 1);
  console.log(pad([['way', 'µs per derive'], ...costs.map((x) => [x.way, x.us.toFixed(1)])]));
  rmSync(native.dir, { recursive: true, force: true });
}

await main();
