/**
 * The options of `npm run chaos` and every number of the run, validated and defaulted here and
 * nowhere else (docs/benchmarks.md, "Chaos").
 */
import * as z from 'zod';
import { ChaosError } from './errors.ts';

/** The command line. */
export const chaosOptionsSchema = z.strictObject({
  /** Which broker carries the traffic: the embedded one as a child process, or RabbitMQ of scripts/brokers.sh. */
  broker: z.enum(['embedded', 'rabbitmq']).default('embedded'),
  /** SDK requests to send (every step of every payment counts, status inquiries do not). */
  requests: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Seed of the workload, the sandboxes' fault draws and the choice of the worker to kill. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
  /** Payments in progress at once: each is one request at a time, so this bounds the requests in flight. */
  inFlight: z.number().int().min(1).max(1_000).default(64),
  /** Kill the broker once, mid-run (`false`: `--no-broker-kill`). */
  brokerKill: z.boolean().default(true),
  /** Keep the run's folder (certificates, gateway.yaml, gateway.log, idempotency store, broker data); kept anyway on FAIL. */
  keep: z.boolean().default(false),
});

export type ChaosOptions = z.output<typeof chaosOptionsSchema>;

/** The fixed settings of a run. */
export const CHAOS_SETTINGS = Object.freeze({
  host: '127.0.0.1',
  /** Worker processes in the gateway's pool. */
  workers: 4,
  /** One worker SIGKILLed this often. */
  killEveryMs: 2_000,
  /** The broker is killed once this share of the requests has been sent. */
  brokerKillAt: 0.4,
  /** How long the broker stays dead before it is started again. */
  brokerDownMs: 3_000,
  /** The sandboxes' fault rates. */
  failRate: 0.1,
  hangRate: 0.02,
  /** A worker's deadline for one provider call (a hung call ends here). */
  providerTimeoutMs: 3_000,
  /** The idempotency lease: above every provider call (the config refuses less). */
  leaseMs: 8_000,
  /** The SDK's deadline for one reply. */
  requestTimeoutMs: 15_000,
  /**
   * Sends per request (the first one included) before the shop gives up on learning the outcome.
   * 12 spans about 35 s: several idempotency leases, since a key whose call failed stays in
   * progress for a lease before another worker may take it over (docs/idempotency.md).
   */
  maxAttempts: 12,
  /** Wait before retry n: min(retryBaseMs · 2^(n−1), retryMaxMs). */
  retryBaseMs: 250,
  retryMaxMs: 4_000,
  /** How long start-up may take (gateway running, broker listening). */
  startTimeoutMs: 120_000,
  /** After the last request: how long to wait for late work to settle before reading the ledgers. */
  settleMs: 2_000,
});

/** Parses `argv` (without node and the script). */
export function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const raw: Record<string, unknown> = {};
  const numeric = new Set(['requests', 'seed', 'in-flight']);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--no-broker-kill' || arg === '--keep') {
      raw[arg === '--keep' ? 'keep' : 'brokerKill'] = arg === '--keep';
      continue;
    }
    const match = /^--(broker|requests|seed|in-flight)(?:=(.*))?$/.exec(arg);
    if (!match) throw new ChaosError('CHAOS_BAD_OPTION', `unknown argument ${arg} (known: --broker embedded|rabbitmq, --requests N, --seed N, --in-flight N, --no-broker-kill, --keep)`);
    const name = match[1] ?? '';
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new ChaosError('CHAOS_BAD_OPTION', `--${name} needs a value`);
    const key = name === 'in-flight' ? 'inFlight' : name;
    raw[key] = numeric.has(name) ? Number(value) : value;
  }
  const parsed = chaosOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('; ');
    throw new ChaosError('CHAOS_BAD_OPTION', problems);
  }
  return parsed.data;
}
