/**
 * What a shop does with one request: send it, and when no final answer comes (a timeout, an
 * `unknown`, a retryable error), ask the provider's `status` where the plugin can look a request
 * up by its idempotency key, else send it again with the same key; a bounded number of times.
 * docs/sdk.md and docs/idempotency.md say this is the storefront's duty.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NotSentError, RemoteError, TimeoutError, type Gateway, type GatewayReply } from '../../src/client/index.ts';
import { CHAOS_SETTINGS } from './options.ts';
import type { ChaosPlugins } from './world.ts';

/** One request of the workload. */
export interface Step {
  readonly provider: 'card' | 'paypal' | 'giftcard';
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly key: string;
}

/** What the shop learned of a request. */
export type Learned =
  | { readonly kind: 'final'; readonly status: string; readonly attempts: number; readonly via: 'reply' | 'retry' | 'status'; readonly result: Record<string, unknown> }
  | { readonly kind: 'unknown'; readonly attempts: number; readonly last: string };

const FINAL_STATUSES = new Set(['approved', 'declined', 'pending', 'action_required']);

type Sent = { readonly final: true; readonly status: string; readonly result: Record<string, unknown> } | { readonly final: false; readonly why: string };

/** One attempt: a final answer, or why there was none (worth another attempt). */
async function attempt(shop: Gateway<ChaosPlugins>, step: Step): Promise<Sent> {
  let reply: GatewayReply<unknown>;
  try {
    // The workload's steps are data (provider and type as strings), so the typed overloads of
    // `request` cannot be chosen statically; the SDK still validates each payload by its schema.
    const request = shop.request as (provider: string, type: string, payload: unknown, options: { idempotencyKey: string }) => Promise<GatewayReply<unknown>>;
    reply = await request.call(shop, step.provider, step.type, step.payload, { idempotencyKey: step.key });
  } catch (error) {
    if (error instanceof TimeoutError || error instanceof NotSentError) return { final: false, why: error.code };
    if (error instanceof RemoteError && error.retryable) return { final: false, why: error.remoteCode };
    if (error instanceof RemoteError) return { final: true, status: `error ${error.remoteCode}`, result: {} };
    return { final: true, status: `error ${(error as { code?: string }).code ?? (error as Error).name}: ${(error as Error).message.slice(0, 200)}`, result: {} };
  }
  const retryable = reply.status === 'unknown' || (reply.status === 'declined' && reply.error?.retryable === true);
  if (retryable || !FINAL_STATUSES.has(reply.status)) return { final: false, why: reply.error?.code ?? reply.status };
  return { final: true, status: reply.status, result: (reply.result ?? {}) as Record<string, unknown> };
}

/** The `status` inquiry that finds `step` by its key, for the plugins that can. */
function inquiryOf(step: Step): Record<string, unknown> | undefined {
  if (step.provider === 'card') return { idempotency_key: step.key };
  if (step.provider === 'giftcard' && step.type !== 'balance') return { reference: step.key };
  return undefined;
}

/**
 * Asks `status` (with a key of its own: it is a read). A record found is the request's final
 * answer, as the result fields the next step needs; nothing found (or no answer) is `undefined`.
 */
async function reconcile(shop: Gateway<ChaosPlugins>, step: Step, n: number): Promise<Record<string, unknown> | undefined> {
  const inquiry = inquiryOf(step);
  if (inquiry === undefined) return undefined;
  const sent = await attempt(shop, { provider: step.provider, type: 'status', payload: inquiry, key: `${step.key}~s${n}` });
  if (!sent.final || sent.status !== 'approved') return undefined;
  const found = sent.result;
  if (step.provider === 'card') return found.state === 'not_found' || found.state === 'declined' ? undefined : found;
  return found;
}

/** Sends `step` until the shop knows what became of it, at most `maxAttempts` sends. */
export async function settle(shop: Gateway<ChaosPlugins>, step: Step): Promise<Learned> {
  let last = '';
  for (let n = 1; n <= CHAOS_SETTINGS.maxAttempts; n += 1) {
    const sent = await attempt(shop, step);
    if (sent.final) return { kind: 'final', status: sent.status, attempts: n, via: n === 1 ? 'reply' : 'retry', result: sent.result };
    last = sent.why;
    await sleep(Math.min(CHAOS_SETTINGS.retryBaseMs * 2 ** (n - 1), CHAOS_SETTINGS.retryMaxMs));
    const found = await reconcile(shop, step, n);
    if (found !== undefined) return { kind: 'final', status: 'approved', attempts: n, via: 'status', result: found };
  }
  return { kind: 'unknown', attempts: CHAOS_SETTINGS.maxAttempts, last };
}
