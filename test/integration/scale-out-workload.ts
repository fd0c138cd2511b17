/**
 * The scale-out tests' workload: the chaos run's payments (bench/chaos/flows.ts: chains of
 * authorize → capture → refund… over the three providers), each request settled by the chaos
 * shop (`settle`: retry with the same key, ask `status`, until a final answer), on `inFlight`
 * lanes until `requests` requests were sent. A share of the requests is sent AGAIN with the same
 * idempotency key once it had its final answer, as a client that retries an operation it already
 * saw answered: that must get the same answer, and the provider must not move money again.
 */
import { pickFlow } from '../../bench/chaos/flows.ts';
import { Random } from '../../bench/chaos/random.ts';
import { settle, type Learned, type Step } from '../../bench/chaos/shop.ts';
import type { Sent } from '../../bench/chaos/tally.ts';
import type { ChaosPlugins } from '../../bench/chaos/world.ts';
import type { Gateway } from '../../src/client/index.ts';

/** How the workload runs. */
export interface WorkloadOptions {
  /** Requests to send (each step of a payment once; the retries come on top). */
  readonly requests: number;
  readonly inFlight: number;
  /** Seed of the payments' mix and of which requests are retried. */
  readonly seed: number;
  /** Every key starts with it (unique per run). */
  readonly keyPrefix: string;
  /** The share of requests with a final answer that are sent again with the same key. */
  readonly retryShare: number;
  /** Called after each request is counted as sent (with the count), before it goes out. */
  readonly onSent?: (count: number) => void;
}

/** A request sent again with its key after its final answer. */
export interface Retried {
  readonly step: Step;
  readonly first: Learned & { readonly kind: 'final' };
  readonly again: Learned;
}

/** What the workload did. */
export interface WorkloadResult {
  /** Every request's first settlement, in the order they ended. */
  readonly sent: Sent[];
  readonly retried: Retried[];
  readonly elapsedMs: number;
}

/** Runs the workload on `shop` (the shop `settle` gets: see scale-out-attempts.ts). */
export async function runScaleWorkload(shop: Gateway<ChaosPlugins>, options: WorkloadOptions): Promise<WorkloadResult> {
  const sent: Sent[] = [];
  const retried: Retried[] = [];
  let issued = 0;
  let payment = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (issued < options.requests) {
      const index = payment++;
      // Generators per payment: the mix does not depend on which lane is faster, and drawing
      // the retries apart leaves the mix what the chaos run's seed makes it.
      const random = new Random(options.seed * 1_000_003 + index);
      const retries = new Random(options.seed * 7_000_003 + index);
      let stepNo = 0;
      await pickFlow(random).run(async (partial) => {
        if (issued >= options.requests) return undefined;
        issued += 1;
        options.onSent?.(issued);
        const step: Step = { ...partial, key: `${options.keyPrefix}-${index}-${stepNo++}` };
        const learned = await settle(shop, step);
        sent.push({ step, learned });
        if (learned.kind === 'final' && retries.chance(options.retryShare)) retried.push({ step, first: learned, again: await settle(shop, step) });
        return learned;
      }, random);
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, lane));
  return { sent, retried, elapsedMs: performance.now() - started };
}

/**
 * The retries whose answer differs from the first: another status, or none at all. An approval
 * learned through `status` (the shop's reconciliation) is `approved`, the status the stored reply
 * has too.
 */
export function retryMismatches(retried: readonly Retried[]): string[] {
  return retried.flatMap(({ step, first, again }) => {
    if (again.kind === 'final' && again.status === first.status) return [];
    const got = again.kind === 'final' ? `${again.status} via ${again.via}` : `no final answer (last: ${again.last})`;
    return [`${step.provider} ${step.type} ${step.key}: first ${first.status} via ${first.via}, retry with the same key: ${got}`];
  });
}
