import { z } from 'zod';
import { StompError } from './errors.ts';
import { QUEUE_TYPES } from './queue-type.ts';

/**
 * The connection layer's options and their defaults, in one place. `parseOptions` validates an
 * options object with zod and fills in every default; nothing else in `src/stomp` invents one.
 */

const ms = z.number().int().nonnegative();
const pem = z.union([z.string(), z.instanceof(Buffer)]);

/** TLS for one node: trust anchors, and a client certificate when the broker asks for one. */
const tlsSchema = z.strictObject({
  /** CA certificate(s), PEM; the system store when absent. */
  ca: pem.optional(),
  /** Client certificate, PEM. */
  cert: pem.optional(),
  /** Client private key, PEM. */
  key: pem.optional(),
  /** Name checked against the broker's certificate (SNI); the node's host when absent. */
  servername: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
});

const nodeSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(61_613),
  login: z.string().optional(),
  passcode: z.string().optional(),
  /** Sent as CONNECT's `host` header (RabbitMQ reads it as the virtual host). */
  vhost: z.string().default('/'),
  tls: tlsSchema.optional(),
});

const heartBeatSchema = z.strictObject({
  /** How often we promise to send something (ms); 0 = never. STOMP's `cx`. */
  outgoingMs: ms.default(10_000),
  /** How often we want the broker to send something (ms); 0 = never. STOMP's `cy`. */
  incomingMs: ms.default(10_000),
});

const reconnectSchema = z.strictObject({
  /** Reconnect after a lost connection; when false, the connection closes instead. */
  enabled: z.boolean().default(true),
  /** Delay before the second round of attempts; doubled (× `multiplier`) each round. */
  initialDelayMs: ms.default(100),
  maxDelayMs: ms.default(10_000),
  multiplier: z.number().min(1).default(2),
  /** Random fraction (0–1) taken off each delay, so that clients do not reconnect in step. */
  jitter: z.number().min(0).max(1).default(0.2),
  /** Attempts (one node each) before giving up with STOMP_CANNOT_CONNECT; 0 = never give up. */
  maxAttempts: z.number().int().nonnegative().default(0),
});

/** Moving back to a preferred node (listed order only); see {@link optionsSchema}'s `nodeOrder`. */
const failbackSchema = z.strictObject({
  /** While on a node after the first, try the nodes listed before it this often (ms); 0 = stay. */
  probeMs: ms.default(30_000),
  /**
   * After moving back, the old session is drained for at most this long (ms): it takes no new
   * work, ACKs of what it delivered still reach it, replies to its reply queues still arrive.
   * Then it DISCONNECTs; earlier once nothing it delivered is unacknowledged and the connection
   * has no reply queue.
   */
  drainMs: ms.default(30_000),
});

/** The two node orders: `listed` (first reachable node, primary/backup) or `random` (spread). */
export const NODE_ORDERS = ['listed', 'random'] as const;
/** One of {@link NODE_ORDERS}. */
export type NodeOrder = (typeof NODE_ORDERS)[number];

export const optionsSchema = z
  .strictObject({
    nodes: z.array(nodeSchema).min(1),
    /**
     * `listed`: always start at the first node and fail over down the list, so every client and
     * worker of a deployment converges on the first reachable node (required when the nodes are
     * independent brokers that share no queues, e.g. two embedded brokers). `random`: start at a
     * random node, spreading connections over a real cluster whose nodes share queues.
     */
    nodeOrder: z.enum(NODE_ORDERS).default('listed'),
    /** Deprecated synonym: `true` is `nodeOrder: 'random'`; `false` changes nothing. */
    randomStart: z.boolean().optional(),
    failback: failbackSchema.prefault({}),
    /** Per attempt: TCP + TLS + CONNECT → CONNECTED. */
    connectTimeoutMs: ms.default(5_000),
    /** Attempts for the first `connect()`; every node once by default. 0 = as `reconnect.maxAttempts`. */
    initialAttempts: z.number().int().nonnegative().optional(),
    heartBeat: heartBeatSchema.prefault({}),
    /** Waiting time for the broker's heart-beat, as a multiple of the negotiated interval (< 2). */
    heartBeatGrace: z.number().min(1).max(1.9).default(1.5),
    reconnect: reconnectSchema.prefault({}),
    /** How long `send(…, {receipt: true})` and other receipted frames wait for their RECEIPT. */
    receiptTimeoutMs: ms.default(10_000),
    /** Frames accepted while no connection is up; one more fails with STOMP_QUEUE_FULL. */
    sendQueueLimit: z.number().int().nonnegative().default(1_000),
    /** Default prefetch (unacknowledged messages per subscription); 0 = the broker's default. */
    prefetch: z.number().int().nonnegative().default(0),
    /** Extra CONNECT headers (e.g. `client-id`). */
    connectHeaders: z.record(z.string(), z.string()).default({}),
    /**
     * RabbitMQ only: the type of the queues that a SEND or SUBSCRIBE to `/queue/…` declares
     * (`x-queue-type`, queue-type.ts); `quorum` on a cluster. Absent: no header, the vhost's
     * default type. Every client, worker and feed of a deployment must give the same value:
     * RabbitMQ refuses a frame that declares an existing queue as another type (ERROR,
     * PRECONDITION_FAILED). Other brokers never see the header.
     */
    queueType: z.enum(QUEUE_TYPES).optional(),
  })
  // The deprecated `randomStart: true` becomes the order it meant, so only `nodeOrder` is read.
  .overwrite((options) => (options.randomStart === true ? { ...options, nodeOrder: 'random' as const } : options));

/** The options `StompConnection.connect` accepts (defaults may be left out). */
export type StompOptions = z.input<typeof optionsSchema>;
/** Options with every default filled in. */
export type ResolvedOptions = z.output<typeof optionsSchema>;
/** One broker node, defaults filled in. */
export type StompNode = ResolvedOptions['nodes'][number];

/** Validates `input` and fills in the defaults; throws STOMP_BAD_OPTIONS naming the bad paths. */
export function parseOptions(input: StompOptions): ResolvedOptions {
  const result = optionsSchema.safeParse(input);
  if (result.success) return result.data;
  const where = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new StompError('STOMP_BAD_OPTIONS', `invalid STOMP options: ${where.join('; ')}`);
}

/** `host:port`, how nodes are named in events and errors. */
export const nodeName = (node: Pick<StompNode, 'host' | 'port'>): string => `${node.host}:${node.port}`;
