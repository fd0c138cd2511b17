/**
 * Every attempt the shop makes, as the SDK answered it: the chaos harness's `settle` (bench/chaos/
 * shop.ts) retries and reconciles on its own and keeps only the final word, but the scale-out
 * tests must say what each fault did to the requests caught in it (a retryable STORE_FAILED, a
 * connection lost, an OUTCOME_UNKNOWN). The shop handed to `settle` is wrapped so that each
 * `request` call is recorded, then passed to the real SDK unchanged.
 */
import type { ChaosPlugins } from '../../bench/chaos/world.ts';
import { NotSentError, RemoteError, TimeoutError, type Gateway, type GatewayReply } from '../../src/client/index.ts';

/** One `request` call and how it ended. */
export interface Attempt {
  readonly provider: string;
  readonly type: string;
  readonly key: string;
  /** performance.now() when it was sent and when it ended. */
  readonly startedAt: number;
  readonly endedAt: number;
  /**
   * `reply <status>[ <error code>]`, `error <remote code>` (a RemoteError), `timeout <reason>`,
   * `not-sent <reason>`, or `thrown <name>`.
   */
  readonly outcome: string;
  /** A RemoteError's `retryable`, or a reply error's. */
  readonly retryable: boolean | undefined;
  /** A reply with a final status (approved, declined without retry advice, pending, action_required). */
  readonly final: boolean;
}

type RequestFn = (provider: string, type: string, payload: unknown, options: { idempotencyKey: string }) => Promise<GatewayReply<unknown>>;

const FINAL = new Set(['approved', 'declined', 'pending', 'action_required']);

function describeReply(reply: GatewayReply<unknown>): Pick<Attempt, 'outcome' | 'retryable' | 'final'> {
  const code = reply.error === undefined ? '' : ` ${reply.error.code}`;
  const retryable = reply.error?.retryable;
  return { outcome: `reply ${reply.status}${code}`, retryable, final: FINAL.has(reply.status) && !(reply.status === 'declined' && retryable === true) };
}

function describeError(error: unknown): Pick<Attempt, 'outcome' | 'retryable' | 'final'> {
  if (error instanceof RemoteError) return { outcome: `error ${error.remoteCode}`, retryable: error.retryable, final: false };
  if (error instanceof TimeoutError) return { outcome: `timeout ${error.reason}`, retryable: undefined, final: false };
  if (error instanceof NotSentError) return { outcome: `not-sent ${error.reason}`, retryable: undefined, final: false };
  return { outcome: `thrown ${(error as Error).name}`, retryable: undefined, final: false };
}

/** The shop to give `settle`: the same SDK gateway, with each request recorded in `into`. */
export function recordAttempts(shop: Gateway<ChaosPlugins>, into: Attempt[]): Gateway<ChaosPlugins> {
  const request = (shop.request as unknown as RequestFn).bind(shop);
  const recorded: RequestFn = async (provider, type, payload, options) => {
    const startedAt = performance.now();
    const base = { provider, type, key: options.idempotencyKey, startedAt };
    try {
      const reply = await request(provider, type, payload, options);
      into.push({ ...base, endedAt: performance.now(), ...describeReply(reply) });
      return reply;
    } catch (error) {
      into.push({ ...base, endedAt: performance.now(), ...describeError(error) });
      throw error;
    }
  };
  // Everything else (the private state `request` works on) stays the real gateway's.
  const wrapper = Object.create(shop) as Gateway<ChaosPlugins>;
  Object.defineProperty(wrapper, 'request', { value: recorded });
  return wrapper;
}

/** Attempts by outcome, most frequent first, as `outcome × n` lines. */
export function outcomeCounts(attempts: readonly Attempt[]): string[] {
  const counts = new Map<string, number>();
  for (const attempt of attempts) counts.set(attempt.outcome, (counts.get(attempt.outcome) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([outcome, n]) => `${outcome} × ${n}`);
}

/** The attempt that got a final reply earliest among those `which` selects; undefined when none did. */
export function firstFinal(attempts: readonly Attempt[], which: (attempt: Attempt) => boolean): Attempt | undefined {
  let first: Attempt | undefined;
  for (const attempt of attempts) {
    if (attempt.final && which(attempt) && (first === undefined || attempt.endedAt < first.endedAt)) first = attempt;
  }
  return first;
}
