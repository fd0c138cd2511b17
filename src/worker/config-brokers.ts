/**
 * Which broker node a worker (and, with the same keys, a client: src/cli/client-config.ts)
 * connects to: `broker_order` and `broker_failback`, next to the `brokers` list; and
 * `broker_queue_type`, the RabbitMQ queue type its `/queue/` destinations are declared with.
 * Documented in docs/operations.md ("Broker nodes") and docs/rabbitmq-cluster.md. Defaults are
 * the STOMP layer's (src/stomp/options.ts): `listed`, failback probing every 30 s, 30 s drain, no
 * queue type (the vhost's default).
 */
import { z } from 'zod';
import { NODE_ORDERS, optionsSchema as stompOptionsSchema } from '../stomp/options.ts';
import { QUEUE_TYPES } from '../stomp/queue-type.ts';
import type { StompOptions } from '../stomp/options.ts';
import type { ProblemParams } from './config-providers.ts';

const stompFailback = stompOptionsSchema.shape.failback.unwrap().shape;

/** `broker_order`: `listed` (primary first, then backups) or `random`; absent = the STOMP default. */
export const brokerOrderSchema = z.enum(NODE_ORDERS).optional();

/** `broker_failback`: how a `listed` connection moves back to a node listed earlier. */
export const brokerFailbackSchema = z
  .strictObject({
    /** How often a node listed earlier is tried while on a later one (ms); 0 = never move back. */
    probe_ms: stompFailback.probeMs.unwrap().optional(),
    /** How long the session left behind keeps serving ACKs and late replies (ms). */
    drain_ms: stompFailback.drainMs.unwrap().optional(),
  })
  .optional();

/**
 * `broker_queue_type`: `quorum` on a RabbitMQ cluster (replicated request, dead-letter and events
 * queues), `classic`; absent = no header, the vhost's default type. RabbitMQ only; the same value
 * in every worker, client and feed file of a deployment.
 */
export const brokerQueueTypeSchema = z.enum(QUEUE_TYPES).optional();

/** The file keys this module reads. */
export interface BrokerSelectionKeys {
  readonly broker_order?: z.output<typeof brokerOrderSchema>;
  readonly broker_failback?: z.output<typeof brokerFailbackSchema>;
  readonly broker_queue_type?: z.output<typeof brokerQueueTypeSchema>;
}

const ORDER_FIX =
  'use listed (every worker and client on the first reachable broker: required when the brokers share no queues, e.g. embedded ones) or random (spread over a cluster that shares its queues)';

/** What each key expects and how to fix it (merged into the worker file's `CONFIG_KEYS`). */
export const BROKER_SELECTION_KEYS: Readonly<Record<string, { readonly expect: string; readonly fix: string }>> = Object.freeze({
  broker_order: { expect: 'listed or random', fix: ORDER_FIX },
  broker_failback: { expect: 'a mapping (probe_ms, drain_ms)', fix: 'give broker_failback: {probe_ms: 30000, drain_ms: 30000}, or leave it out' },
  'broker_failback.probe_ms': { expect: 'an integer ≥ 0 (milliseconds; 0 = never move back)', fix: 'set how often a broker listed earlier is tried again, e.g. 30000' },
  'broker_failback.drain_ms': { expect: 'an integer ≥ 0 (milliseconds)', fix: 'set how long the broker left behind keeps serving ACKs and late replies, e.g. 30000' },
});

/** The fix of each top-level key, for the client file's messages. */
export const BROKER_SELECTION_FIXES: Readonly<Record<string, string>> = Object.freeze({
  broker_order: ORDER_FIX,
  broker_failback: 'give broker_failback: {probe_ms, drain_ms} in milliseconds (probe_ms 0 = never move back), only with broker_order: listed',
});

const QUEUE_TYPE_FIX =
  'use quorum on a RabbitMQ cluster (or classic), the same in every worker, client and feed file of the deployment, or leave the key out for the vhost default';

/**
 * What `broker_queue_type` expects and how to fix it, for the worker file's `CONFIG_KEYS` (and
 * the feed's); kept apart from {@link BROKER_SELECTION_KEYS} until the files' schemas take the key.
 */
export const BROKER_QUEUE_TYPE_KEYS: Readonly<Record<string, { readonly expect: string; readonly fix: string }>> = Object.freeze({
  broker_queue_type: { expect: 'quorum or classic', fix: QUEUE_TYPE_FIX },
});

/** The fix of `broker_queue_type`, for the client file's messages. */
export const BROKER_QUEUE_TYPE_FIXES: Readonly<Record<string, string>> = Object.freeze({ broker_queue_type: QUEUE_TYPE_FIX });

/**
 * A schema refinement: `broker_failback` only means something in listed order; with `random`
 * it would be silently ignored, so it is refused instead.
 */
export function checkBrokerSelection(file: BrokerSelectionKeys, ctx: z.RefinementCtx): void {
  if (file.broker_order !== 'random' || file.broker_failback === undefined) return;
  const params: ProblemParams = {
    problem: 'has no effect with broker_order: random (only a listed order has nodes to move back to)',
    fix: 'remove broker_failback, or use broker_order: listed',
  };
  ctx.addIssue({ code: 'custom', path: ['broker_failback'], message: params.problem, params });
}

/** The STOMP options these keys set (absent keys leave the STOMP layer's defaults). */
export function brokerSelection(file: BrokerSelectionKeys): Pick<StompOptions, 'nodeOrder' | 'failback' | 'queueType'> {
  const failback = file.broker_failback;
  return {
    ...(file.broker_order === undefined ? {} : { nodeOrder: file.broker_order }),
    ...(file.broker_queue_type === undefined ? {} : { queueType: file.broker_queue_type }),
    ...(failback === undefined
      ? {}
      : {
          failback: {
            ...(failback.probe_ms === undefined ? {} : { probeMs: failback.probe_ms }),
            ...(failback.drain_ms === undefined ? {} : { drainMs: failback.drain_ms }),
          },
        }),
  };
}
