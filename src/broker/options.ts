/**
 * Every knob of the embedded broker, validated in one place with its default. docs/broker.md
 * mirrors this table; change both together.
 */
import { z } from 'zod';
import { BrokerError } from './errors.ts';
import { tapOptionsSchema } from './tap.ts';
import { usersConfigSchema } from './users.ts';

const positiveInt = z.number().int().positive();
const millis = z.number().int().min(0);

export const brokerOptionsSchema = z
  .object({
    /** Interface to listen on; loopback by default so nothing is exposed by accident. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free ephemeral port (tests). */
    port: z.number().int().min(0).max(65535).default(61613),
    /** Folder for the SQLite store of persistent messages; without it nothing survives a restart. */
    dataDir: z.string().min(1).optional(),
    /**
     * Logins, password hashes and rights (the users file's content, see users.ts). When given,
     * CONNECT must prove a login and every SEND/SUBSCRIBE is checked; when absent, anyone may do
     * anything, which is only allowed on a loopback `host`.
     */
    users: usersConfigSchema.optional(),
    /** STOMP over TLS: PEM texts; `ca` with `requestCert` requires client certificates it signed. */
    tls: z
      .object({
        cert: z.string().min(1),
        key: z.string().min(1),
        ca: z.string().min(1).optional(),
        requestCert: z.boolean().default(false),
      })
      .strict()
      .refine((tls) => !tls.requestCert || tls.ca !== undefined, { message: 'requestCert needs ca (the CA that signs client certificates)' })
      .optional(),
    /**
     * An observer of every SEND the broker accepted to a matching destination (tap.ts): the
     * traffic auditor's capture. `{ destinations?: patterns, sink: (message) => void }`.
     */
    tap: tapOptionsSchema.optional(),
    /** Failed deliveries (NACKs) after which a message moves to `<queue>.dlq`. */
    maxDeliveries: positiveInt.default(5),
    /**
     * Returns without a NACK (its consumer disconnected, crashed or unsubscribed) after which a
     * message moves to `<queue>.dlq`: much higher than `maxDeliveries`, since a killed worker is
     * not the message's fault, but finite, so a message that kills every consumer stops.
     */
    maxReturns: positiveInt.default(100),
    /** What we offer in CONNECTED: [we can send every, we want to receive every] ms; 0 = never. */
    heartBeat: z.tuple([millis, millis]).default([10_000, 10_000]),
    /** Bytes per frame, headers included. */
    maxFrameSize: positiveInt.default(4 * 1024 * 1024),
    /** Header lines per frame. */
    maxHeaders: positiveInt.default(100),
    /** Bytes per header line. */
    maxHeaderLength: positiveInt.default(10 * 1024),
    /** Subscriptions one connection may hold (temp-queue implicit ones included). */
    maxSubscriptions: positiveInt.default(1000),
    /**
     * Bytes written to a connection and not yet taken by the kernel. Above half of it we stop
     * delivering queue messages and stop reading from that client; a topic message that would
     * exceed it ends the connection with ERROR (topics cannot wait).
     */
    // At least 64 KiB: half of it must exceed the socket's own 16 KiB mark, or 'drain' (which
    // resumes reading) would never come and the client would be cut by writeTimeout.
    maxPendingBytes: z.number().int().min(64 * 1024).default(8 * 1024 * 1024),
    /**
     * Bytes one queue may hold: waiting messages and those delivered but not acknowledged yet. A
     * SEND beyond it gets ERROR (BROKER_LIMIT, `limit: maxQueueBytes`).
     */
    maxQueueBytes: positiveInt.default(64 * 1024 * 1024),
    /**
     * Bytes the whole broker may hold: every queue (waiting and unacknowledged), every open
     * transaction and every frame being received. A SEND or frame beyond it gets ERROR.
     */
    maxTotalBytes: positiveInt.default(512 * 1024 * 1024),
    /**
     * Bytes one connection may hold: its open transactions, the frame it is sending and what we
     * wrote to it that the kernel has not taken. Must fit one `maxFrameSize` frame.
     */
    maxConnectionBytes: positiveInt.default(32 * 1024 * 1024),
    /** Client connections at once (before and after CONNECT); one more gets ERROR and is closed. */
    maxConnections: positiveInt.default(10_000),
    /**
     * Connections one login may hold at once (with `users` only: without them logins prove
     * nothing). One more gets ERROR at CONNECT: a single stolen or misused login cannot take
     * every slot of `maxConnections`.
     */
    maxConnectionsPerLogin: positiveInt.default(1000),
    /**
     * Connections one remote address may hold at once, before and after CONNECT: a client that
     * opens sockets and never logs in cannot take every slot for `connectTimeout` after
     * `connectTimeout`. Clients behind one NAT share it.
     */
    maxConnectionsPerAddress: positiveInt.default(1000),
    /** Open transactions plus the SEND/ACK/NACK frames held in them, per connection (they are memory). */
    maxTransactionFrames: positiveInt.default(10_000),
    /** Messages a `client`/`client-individual` subscriber may hold unacknowledged when it names no prefetch. */
    defaultPrefetch: positiveInt.default(1000),
    /** Highest prefetch a SUBSCRIBE may ask for; a bigger one is lowered to it (clamped, not refused). */
    maxPrefetch: positiveInt.default(10_000),
    /** Milliseconds a client has to send CONNECT after the TCP connect. */
    connectTimeout: positiveInt.default(10_000),
    /** Milliseconds a frame may take from its first byte to its last; a slower one ends the connection. */
    frameTimeout: positiveInt.default(30_000),
    /**
     * Milliseconds a connection that negotiated no client heart-beats may send nothing before it
     * is closed (heart-beating connections are timed by their heart-beats).
     */
    idleTimeout: positiveInt.default(300_000),
    /**
     * Milliseconds a connection may leave more than half of `maxPendingBytes` unread (we stopped
     * reading from it) before it is closed: a client that never reads cannot pin its buffers.
     */
    writeTimeout: positiveInt.default(60_000),
  })
  .strict()
  .refine((o) => o.maxConnectionBytes >= o.maxFrameSize, { message: 'maxConnectionBytes must be at least maxFrameSize', path: ['maxConnectionBytes'] })
  .refine((o) => o.maxPrefetch >= o.defaultPrefetch, { message: 'maxPrefetch must be at least defaultPrefetch', path: ['maxPrefetch'] });

/** What callers may pass: every field optional. */
export type BrokerOptions = z.input<typeof brokerOptionsSchema>;
/** Options with every default applied. */
export type ResolvedBrokerOptions = z.output<typeof brokerOptionsSchema>;

/** Validate and fill in defaults; a bad option is a `BROKER_BAD_OPTION` error naming the path. */
export function resolveBrokerOptions(options: BrokerOptions = {}): ResolvedBrokerOptions {
  const parsed = brokerOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`).join('; ');
  throw new BrokerError('BROKER_BAD_OPTION', detail);
}

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: nothing else can reach them. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return /^127(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(v4);
}

/**
 * Without users, every client may read every queue: allowed for development on loopback only.
 * Checked before anything listens.
 */
export function checkExposure(options: ResolvedBrokerOptions): void {
  if (options.users !== undefined || isLoopback(options.host)) return;
  throw new BrokerError(
    'BROKER_BAD_OPTION',
    `host ${options.host} is not loopback and no users are configured, so anyone reaching it could read every queue; ` +
      'give a users file (--users FILE) or listen on 127.0.0.1',
  );
}
