/**
 * Captures the traffic of an external broker into a capture folder (record.ts) without
 * disturbing its consumers: RabbitMQ through its firehose (rabbitmq-trace.ts), ActiveMQ through
 * its mirrored queues (activemq-mirror.ts). The audit login reads copies only, never the queues.
 *
 * No message is lost when the capturing process dies: the subscription is durable (RabbitMQ: a
 * durable queue that expires `resumeWindowMs` after its last consumer left; ActiveMQ: a durable
 * topic subscription under the connection's client id), and a copy is acknowledged only once its
 * record is on disk (fsynced). The price is a possible duplicate after a crash: a copy written but
 * not yet acknowledged is delivered again to the next capture with the same subscription name.
 * A clean stop acknowledges everything written, then ends the subscription on ActiveMQ (an
 * abandoned durable subscription would fill the broker's store); on RabbitMQ the queue outlives
 * a stop by the resume window.
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { StompConnection, type StompError, type StompMessage, type StompOptions, type Subscription } from '../../stomp/index.ts';
import { AuditError } from '../errors.ts';
import { MIRROR_DESTINATION, mirroredQueue, senderHeaders } from './activemq-mirror.ts';
import { TRACE_DESTINATION, TraceRouter } from './rabbitmq-trace.ts';
import { bodyDigest, type CaptureInput } from './record.ts';
import { openCaptureWriter, type CaptureWriter } from './writer.ts';

/** The brokers this module captures from (the embedded broker has its own tap). */
export const CAPTURE_BROKER_KINDS = ['rabbitmq', 'activemq'] as const;
export type CaptureBrokerKind = (typeof CAPTURE_BROKER_KINDS)[number];

/** Options of {@link startBrokerCapture}, with their defaults. */
export const brokerCaptureOptionsSchema = z.strictObject({
  kind: z.enum(CAPTURE_BROKER_KINDS),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  login: z.string().min(1),
  passcode: z.string(),
  /** RabbitMQ's virtual host (the CONNECT `host` header); the firehose is per virtual host. */
  vhost: z.string().min(1).default('/'),
  /** TLS to the broker: the CA (PEM) its certificate chains to. Plain TCP when absent. */
  tlsCa: z.union([z.string(), z.instanceof(Buffer)]).optional(),
  /** The capture folder (created when missing, continued when it holds segments). */
  out: z.string().min(1),
  /**
   * Names the durable subscription (RabbitMQ: its queue; ActiveMQ: client id and subscription
   * name). A capture restarted with the same name resumes where the last one stopped.
   */
  subscription: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('paygate-audit-capture'),
  /** RabbitMQ: how long the durable queue outlives its last consumer (`x-expires`). */
  resumeWindowMs: z.number().int().min(1_000).default(600_000),
  /** RabbitMQ: how long a publish waits for its first delivery to name its queue (rabbitmq-trace.ts). */
  routeWaitMs: z.number().int().min(0).default(30_000),
  /** Stop once this many records were written. */
  maxMessages: z.number().int().positive().optional(),
  connectTimeoutMs: z.number().int().positive().default(5_000),
});
export type BrokerCaptureOptions = z.input<typeof brokerCaptureOptionsSchema>;

/** What a finished capture did. */
export interface CaptureSummary {
  /** Records written by this capture. */
  readonly recorded: number;
  /** Copies seen but not recorded: queues outside the audit (neither paygate. nor reply queues). */
  readonly skipped: number;
  readonly out: string;
}

/** What the `record` listener hears of each record written: where it went, never its content. */
export interface RecordedEvent {
  readonly seq: number;
  readonly destination: string;
  readonly bodySha256: string;
}

/** A running capture. */
export interface BrokerCapture {
  /** Calls `listener` after each record is queued to disk; returns a function that removes it. */
  onRecord(listener: (event: RecordedEvent) => void): () => void;
  /** Records written so far (queued to disk; acknowledged once flushed). */
  readonly recorded: number;
  /** Resolves once at least `n` records were written. */
  recordedAtLeast(n: number): Promise<void>;
  /** Resolves when the capture ended: `stop()`, `maxMessages` reached, or a failure (rejects). */
  readonly done: Promise<CaptureSummary>;
  /** Flushes, acknowledges, ends the subscription and disconnects. */
  stop(): Promise<CaptureSummary>;
}

/**
 * Connects as the audit login, subscribes to the broker's copies and writes them to `out`.
 * Resolves once the broker confirmed the subscription. Rejects with AUDIT_BAD_OPTION (options),
 * AUDIT_CAPTURE_FAILED (the folder cannot be written; the broker refused the login or the
 * subscription, with its reason).
 */
export async function startBrokerCapture(options: BrokerCaptureOptions): Promise<BrokerCapture> {
  const parsed = brokerCaptureOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AuditError('AUDIT_BAD_OPTION', `invalid capture option ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const o = parsed.data;
  const writer = await openCaptureWriter(o.out);
  let connection: StompConnection;
  try {
    connection = await StompConnection.connect(stompOptions(o));
  } catch (error) {
    await writer.close();
    throw refused(o, error);
  }
  const capture = new Capture(o, writer, connection);
  try {
    await capture.subscribe();
  } catch (error) {
    await capture.abort();
    throw error;
  }
  return capture;
}

type Options = z.output<typeof brokerCaptureOptionsSchema>;

function stompOptions(o: Options): StompOptions {
  return {
    nodes: [{
      host: o.host, port: o.port, login: o.login, passcode: o.passcode, vhost: o.vhost,
      ...(o.tlsCa === undefined ? {} : { tls: { ca: o.tlsCa } }),
    }],
    initialAttempts: 1,
    connectTimeoutMs: o.connectTimeoutMs,
    // ActiveMQ keys a durable topic subscription on the connection's client id.
    connectHeaders: o.kind === 'activemq' ? { 'client-id': o.subscription } : {},
  };
}

/** RabbitMQ: the durable queue of a subscription (the audit login's rights cover `audit.capture.*`). */
export const traceQueueName = (subscription: string): string => `audit.capture.${subscription}`;

function refused(o: Options, error: unknown): AuditError {
  const reason = error instanceof Error ? error.message : String(error);
  return new AuditError('AUDIT_CAPTURE_FAILED', `${o.kind} at ${o.host}:${o.port} refused the capture: ${reason}`, { cause: error });
}

class Capture implements BrokerCapture {
  readonly done: Promise<CaptureSummary>;
  readonly #o: Options;
  readonly #writer: CaptureWriter;
  readonly #connection: StompConnection;
  readonly #router: TraceRouter | undefined;
  readonly #events = new EventEmitter();
  #subscription: Subscription | undefined;
  /** Copies written (or skipped) and not yet acknowledged, in arrival order. */
  #unacked: StompMessage[] = [];
  #acking: Promise<void> | undefined;
  #skipped = 0;
  #stopping: Promise<CaptureSummary> | undefined;
  #finish!: (summary: CaptureSummary) => void;
  #fail!: (error: unknown) => void;

  constructor(o: Options, writer: CaptureWriter, connection: StompConnection) {
    this.#o = o;
    this.#writer = writer;
    this.#connection = connection;
    this.#router = o.kind === 'rabbitmq' ? new TraceRouter(o.routeWaitMs, (m, t, d) => this.#record(m, t, d)) : undefined;
    this.done = new Promise((resolve, reject) => ((this.#finish = resolve), (this.#fail = reject)));
    this.done.catch(() => undefined); // observed through stop() or by whoever awaits done
    connection.on('handler-error', ({ error }) => void this.#abortWith(error));
  }

  get recorded(): number {
    return this.#writer.count;
  }

  onRecord(listener: (event: RecordedEvent) => void): () => void {
    this.#events.on('record', listener);
    return () => this.#events.off('record', listener);
  }

  recordedAtLeast(n: number): Promise<void> {
    if (this.recorded >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.recorded < n) return;
        this.#events.off('record', check);
        resolve();
      };
      this.#events.on('record', check);
      this.done.then(() => check(), reject);
    });
  }

  /** SUBSCRIBEs and waits for the broker's answer: its receipt, or the ERROR that ends the session. */
  async subscribe(): Promise<void> {
    let onLost: ((event: { error: StompError }) => void) | undefined;
    const lost = new Promise<never>((_, reject) => {
      onLost = ({ error }) => reject(refused(this.#o, error));
      this.#connection.once('node-disconnect', onLost);
    });
    const [destination, headers] = this.#o.kind === 'rabbitmq'
      ? [TRACE_DESTINATION, {
        // A durable queue of its own name that outlives this connection, deleted by the broker
        // once unused for the resume window.
        durable: 'true', 'auto-delete': 'false', 'x-queue-name': traceQueueName(this.#o.subscription),
        'x-expires': String(this.#o.resumeWindowMs),
      }]
      : [MIRROR_DESTINATION, { 'activemq.subscriptionName': this.#o.subscription }];
    this.#subscription = this.#connection.subscribe(destination, (message) => this.#take(message), { ack: 'client-individual', headers });
    try {
      await Promise.race([this.#subscription.ready, lost]);
    } finally {
      if (onLost !== undefined) this.#connection.off('node-disconnect', onLost);
    }
  }

  #take(message: StompMessage): void {
    if (this.#stopping !== undefined) return; // not acknowledged: redelivered to the next capture
    const time = new Date();
    if (this.#router !== undefined) {
      const type = this.#router.take(message, time);
      if (type === 'other') this.#skip(message);
      else if (type === 'deliver') this.#skip(message, false); // used to learn a queue, never recorded
      return;
    }
    this.#record(message, time, mirroredQueue(message.destination));
  }

  /** Writes one copy at `destination`, or only acknowledges it when undefined; then schedules its ACK. */
  #record(message: StompMessage, time: Date, destination: string | undefined): void {
    if (destination === undefined) {
      this.#skip(message);
      return;
    }
    // Past the limit (publishes routed while stopping): left unacknowledged, for the next capture.
    if (this.#o.maxMessages !== undefined && this.recorded >= this.#o.maxMessages) return;
    const headers = this.#o.kind === 'activemq' ? senderHeaders(message.headers, destination) : [['destination', destination] as [string, string]];
    const input: CaptureInput = { time, source: this.#o.kind, destination, headers, body: message.body };
    let seq: number;
    try {
      seq = this.#writer.write(input);
    } catch (error) {
      void this.#abortWith(error);
      return;
    }
    this.#unacked.push(message);
    this.#scheduleAcks();
    this.#events.emit('record', { seq, destination, bodySha256: bodyDigest(message.body) } satisfies RecordedEvent);
    if (this.#o.maxMessages !== undefined && this.recorded >= this.#o.maxMessages) void this.stop();
  }

  #skip(message: StompMessage, count = true): void {
    if (count) this.#skipped += 1;
    this.#unacked.push(message);
    this.#scheduleAcks();
  }

  /** One flush at a time; the copies written before it are acknowledged once it is on disk. */
  #scheduleAcks(): void {
    if (this.#acking !== undefined) return;
    this.#acking = (async () => {
      while (this.#unacked.length > 0) {
        const batch = this.#unacked;
        this.#unacked = [];
        await this.#writer.flush();
        // A lost connection makes these reject (STOMP_STALE_MESSAGE): the broker redelivers them.
        await Promise.all(batch.map((m) => m.ack().catch(() => undefined)));
      }
    })().then(
      () => (this.#acking = undefined),
      (error: unknown) => ((this.#acking = undefined), void this.#abortWith(error)),
    );
  }

  stop(): Promise<CaptureSummary> {
    this.#stopping ??= this.#end();
    return this.#stopping;
  }

  async #end(): Promise<CaptureSummary> {
    try {
      this.#router?.flushAll();
      while (this.#acking !== undefined) await this.#acking;
      if (this.#o.kind === 'activemq') await this.#endDurable();
      await this.#connection.close();
      await this.#writer.close();
      const summary = { recorded: this.recorded, skipped: this.#skipped, out: this.#o.out };
      this.#finish(summary);
      return summary;
    } catch (error) {
      this.#fail(error);
      throw error;
    }
  }

  /** ActiveMQ ends a durable subscription on an UNSUBSCRIBE that names it. */
  async #endDurable(): Promise<void> {
    const id = this.#subscription?.id;
    if (id === undefined || !this.#connection.connected) return;
    const headers = { id, 'activemq.subscriptionName': this.#o.subscription };
    // ActiveMQ 5.17 sends no RECEIPT for this UNSUBSCRIBE; the DISCONNECT that follows orders it.
    await this.#connection.dispatch((session) => session.send('UNSUBSCRIBE', headers, undefined, false)).catch(() => undefined);
  }

  /** A failed start: nothing was acknowledged, nothing is kept open. */
  async abort(): Promise<void> {
    this.#stopping ??= Promise.resolve({ recorded: this.recorded, skipped: this.#skipped, out: this.#o.out });
    await this.#connection.close().catch(() => undefined);
    await this.#writer.close().catch(() => undefined);
  }

  async #abortWith(error: unknown): Promise<void> {
    if (this.#stopping !== undefined) return;
    await this.abort();
    this.#fail(error instanceof AuditError ? error : new AuditError('AUDIT_CAPTURE_FAILED', `the capture failed: ${String(error)}`, { cause: error }));
  }
}
