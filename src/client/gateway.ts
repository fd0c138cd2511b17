import { EventEmitter } from 'node:events';
import * as z from 'zod';
import { PING_TYPE, ProviderError, validateRequest, type ProviderDefinition } from '../providers/index.ts';
import { StompConnection, type ReplyQueue, type StompError, type StompMessage } from '../stomp/index.ts';
import { requestHeaders } from '../wire/index.ts';
import { CardDataInTextError, NotSentError, TimeoutError, ValidationError } from './errors.ts';
import { loadGatewayKeys, type GatewayKeys } from './keys.ts';
import { parseGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.ts';
import { PendingRequests } from './pending-requests.ts';
import { ReplyInbox } from './reply-inbox.ts';
import { sealRequest, type SealedRequest } from './request-document.ts';
import { sendFailure } from './send-failure.ts';
import type {
  GatewayEvents, GatewayReply, GatewayStats, PayloadFor, PingResult, ProviderName, RequestOptions, ResultFor, TypeOf,
} from './types.ts';

/** The result schema of the built-in `ping`: any string fields (see {@link PingResult}). */
const pingResultSchema = z.record(z.string(), z.string());

/** `setTimeout`'s limit: a longer timeout would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** One call, once its provider and type are known. */
interface Call {
  readonly provider: string;
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly resultSchema: z.ZodType;
}

/** What {@link createGateway} hands the gateway. */
interface GatewayParts<P extends readonly ProviderDefinition[]> {
  readonly options: ResolvedGatewayOptions<P>;
  readonly keys: GatewayKeys;
  readonly connection: StompConnection;
}

/**
 * The client SDK's gateway: typed requests to provider workers over an encrypted,
 * signed, message-driven path, and their verified replies. Made by {@link createGateway}; one
 * per process is enough (it multiplexes any number of concurrent requests over one broker
 * connection and one reply queue).
 *
 * Every failure is a typed `GatewayError` that says what happened to the money: `ValidationError`
 * (`CardDataInTextError` among them) and `NotSentError` (nothing was sent), `TimeoutError`
 * (outcome unknown: retry with the same idempotency key or ask `status`), `RemoteError` (the
 * worker answered with an error), `ReplyResultError` (the gateway answered, but the result does
 * not fit this SDK's plugin). A decline is not an error: it resolves with `status: 'declined'`.
 *
 * A reply that fails verification never fails a request: it is dropped (`reply-rejected`) and
 * the request waits on for its genuine reply (see {@link ReplyInbox}).
 *
 * Events ({@link GatewayEvents}): `late-reply`, `reply-rejected`, `connection-lost`,
 * `reconnected`, and `error` (emitted only while someone listens). Counters: {@link stats}.
 */
export class Gateway<P extends readonly ProviderDefinition[] = readonly ProviderDefinition[]> extends EventEmitter<GatewayEvents> {
  readonly #options: ResolvedGatewayOptions<P>;
  readonly #keys: GatewayKeys;
  readonly #connection: StompConnection;
  readonly #providers: ReadonlyMap<string, ProviderDefinition>;
  readonly #pending: PendingRequests<GatewayReply<unknown>>;
  /** Verifies replies and knows which requests wait for one (to fail them when the connection drops). */
  readonly #inbox: ReplyInbox;
  readonly #replyQueue: ReplyQueue;
  #lateReplies = 0;
  #closing: Promise<void> | undefined;
  /** Set when the connection gave up reconnecting: nothing can be sent any more. */
  #gaveUp: StompError | undefined;

  /** @internal Use {@link createGateway}. */
  constructor(parts: GatewayParts<P>) {
    super();
    this.#options = parts.options;
    this.#keys = parts.keys;
    this.#connection = parts.connection;
    this.#providers = new Map(parts.options.providers.map((definition) => [definition.name, definition]));
    this.#pending = new PendingRequests<GatewayReply<unknown>>({ maxInFlight: parts.options.maxInFlight });
    this.#pending.on('late-reply', ({ correlationId, expired }) => {
      this.#lateReplies += 1;
      this.#emitSafely('late-reply', { correlationId, expired });
    });
    this.#inbox = new ReplyInbox(this.#pending, parts.keys, (event) => this.#emitSafely('reply-rejected', event));
    this.#replyQueue = this.#connection.replyQueue((message) => this.#onReply(message));
    this.#watchConnection();
  }

  /** Requests waiting for their reply. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * The gateway's counters since it was made, for the storefront's metrics: requests in flight,
   * replies dropped because they failed verification (in total and by code) and late replies.
   */
  stats(): GatewayStats {
    return Object.freeze({
      inFlight: this.#pending.size,
      rejectedReplies: this.#inbox.rejected,
      rejectedRepliesByCode: this.#inbox.rejectedByCode(),
      lateReplies: this.#lateReplies,
    });
  }

  /**
   * Sends one typed request to `provider`'s workers and waits for the verified reply.
   *
   * @param provider one of the gateway's provider names.
   * @param type one of that provider's request types.
   * @param payload the action's request (its schema's input type); validated before sending.
   * @returns the reply, `approved` with a typed `result`, or `declined` / `pending` /
   *   `action_required` / `unknown` (with `error` naming the reason where there is one).
   * @throws ValidationError unknown provider or type, or a payload that breaks the schema (paths only; not sent).
   * @throws CardDataInTextError a card number outside the card fields: the idempotency key, an order id… (not sent).
   * @throws NotSentError the broker was unreachable, the gateway is closed or overloaded, or the signal was already aborted.
   * @throws TimeoutError no (confirmed, verified) reply in time, aborted, connection lost, or closed: outcome unknown.
   * @throws RemoteError the worker answered `status: error`.
   * @throws ReplyResultError the gateway answered, but its result does not fit this SDK's plugin.
   */
  async request<N extends ProviderName<P>, T extends TypeOf<P, N>>(
    provider: N,
    type: T,
    payload: PayloadFor<P, N, T>,
    options: RequestOptions = {},
  ): Promise<GatewayReply<ResultFor<P, N, T>>> {
    const definition = this.#definitionOf(provider);
    validatePayload(definition, type, payload);
    const action = definition.actions[type] as { request: z.ZodType; result: z.ZodType };
    // Sent as the caller wrote it (the worker's schema is the judge, and its idempotency digest
    // is taken over the validated form, so `4111 1111…` and `41111…` are one operation).
    const call: Call = { provider, type, payload: payload as Record<string, unknown>, resultSchema: action.result };
    return (await this.#exchange(call, options)) as GatewayReply<ResultFor<P, N, T>>;
  }

  /**
   * The built-in health check through the whole path (SDK → broker → worker → reply): every
   * provider queue answers `ping` without calling the provider. Same errors as {@link request}.
   */
  async ping(provider: ProviderName<P>, options: RequestOptions = {}): Promise<GatewayReply<PingResult>> {
    this.#definitionOf(provider);
    const call: Call = { provider, type: PING_TYPE, payload: {}, resultSchema: pingResultSchema };
    return (await this.#exchange(call, options)) as GatewayReply<PingResult>;
  }

  /**
   * Stops accepting requests (they fail with `NotSentError` `closed`), waits up to `deadlineMs`
   * for those in flight (the rest fail with `TimeoutError` `closed`, outcome unknown), then
   * closes the reply queue and the broker connection. Calling it again returns the same promise.
   */
  close(deadlineMs = 10_000): Promise<void> {
    this.#closing ??= this.#shutdown(Math.max(0, deadlineMs));
    return this.#closing;
  }

  async #shutdown(deadlineMs: number): Promise<void> {
    await this.#pending.close(deadlineMs);
    await this.#replyQueue.close();
    await this.#connection.close();
  }

  /** Seals, registers, sends, and reads the reply of one call. */
  async #exchange(call: Call, options: RequestOptions): Promise<GatewayReply<unknown>> {
    if (this.#closing !== undefined) throw new NotSentError('closed', 'the gateway is closed');
    if (this.#gaveUp !== undefined) {
      throw new NotSentError('unreachable', `the broker connection gave up: ${this.#gaveUp.message}`, { cause: this.#gaveUp });
    }
    const timeoutMs = timeoutOf(options, this.#options.defaultTimeoutMs);
    const sealed = sealRequest(
      { ...call, idempotencyKey: options.idempotencyKey, timeoutMs },
      { identity: this.#keys.identity, recipients: this.#keys.gatewayCertificates, cipher: this.#options.cipher },
    );
    const ids = { requestId: sealed.document.id, idempotencyKey: sealed.document.idempotency_key };
    // Registered before sending, so that even the fastest reply finds its caller.
    const replied = this.#pending.register(ids.requestId, { timeoutMs, signal: options.signal, ...ids });
    if (!this.#pending.has(ids.requestId)) {
      await replied; // refused (closed, overloaded, aborted, duplicate): rejects with its NotSentError
      throw new NotSentError('duplicate', `request ${ids.requestId} was not registered`);
    }
    this.#inbox.expect({ ...ids, provider: call.provider, type: call.type, resultSchema: call.resultSchema });
    this.#send(call.provider, sealed, ids);
    try {
      return await replied;
    } finally {
      this.#inbox.forget(ids.requestId);
    }
  }

  #send(provider: string, sealed: SealedRequest, ids: { requestId: string; idempotencyKey: string }): void {
    const headers = requestHeaders({
      replyTo: this.#replyQueue.replyTo,
      correlationId: ids.requestId,
      cipher: this.#options.cipher,
      expiresAt: sealed.expiresAt,
    });
    this.#connection.send(`${this.#options.queuePrefix}${provider}`, sealed.body, { headers, receipt: true }).then(
      () => undefined,
      (error: unknown) => this.#pending.fail(ids.requestId, sendFailure(error, ids)),
    );
  }

  /** The one handler of the reply queue: the inbox verifies each reply before it reaches a caller. */
  #onReply(message: StompMessage): void {
    try {
      this.#inbox.receive(message);
    } catch (error) {
      this.#report(error);
    }
  }

  #watchConnection(): void {
    const connection = this.#connection;
    connection.on('node-disconnect', ({ node, error }) => {
      if (error.code === 'STOMP_CLOSED_BY_US') return;
      // The reply queue died with the connection: no reply can reach these requests any more.
      let failedRequests = 0;
      for (const { requestId, idempotencyKey } of this.#inbox.waiting()) {
        const rejectedReplies = this.#pending.rejectedOf(requestId);
        const lost = new TimeoutError({ reason: 'connection-lost', requestId, idempotencyKey, rejectedReplies }, { cause: error });
        if (this.#pending.fail(requestId, lost)) failedRequests += 1;
      }
      this.#emitSafely('connection-lost', { node, error, failedRequests });
    });
    connection.on('node-connect', ({ node, reconnected }) => {
      if (reconnected) this.#emitSafely('reconnected', { node });
    });
    connection.on('close', ({ error }) => {
      if (error === undefined) return;
      this.#gaveUp = error;
      this.#report(new NotSentError('unreachable', `the broker connection gave up: ${error.message}`, { cause: error }));
    });
  }

  #definitionOf(provider: string): ProviderDefinition {
    const definition = this.#providers.get(provider);
    if (definition !== undefined) return definition;
    const shown = /^[a-z][a-z0-9_-]{0,63}$/.test(provider) ? ` "${provider}"` : '';
    const known = [...this.#providers.keys()].join(', ');
    throw new ValidationError('request', [{ path: 'provider', message: `no provider${shown} in this gateway (known: ${known})` }]);
  }

  /** Emits an event; a listener that throws is reported, never thrown into the STOMP layer. */
  #emitSafely<E extends 'late-reply' | 'reply-rejected' | 'connection-lost' | 'reconnected'>(event: E, ...args: GatewayEvents[E]): void {
    try {
      (this.emit as (event: E, ...args: GatewayEvents[E]) => boolean)(event, ...args);
    } catch (error) {
      this.#report(error);
    }
  }

  /** `error` only while someone listens: an unobserved gateway must not crash the process. */
  #report(error: unknown): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    } catch {
      // An error listener that throws has nowhere left to report to.
    }
  }
}

/**
 * Checks a payload with the action's request schema before anything is sent.
 *
 * @returns the schema's output.
 * @throws ValidationError with the issues' paths (relative to the payload) and problems; an
 *   unknown type names `type`. Never a value.
 */
function validatePayload(definition: ProviderDefinition, type: string, payload: unknown): unknown {
  try {
    return validateRequest(definition, type, payload);
  } catch (error) {
    if (error instanceof ProviderError && error.code === 'UNSUPPORTED_TYPE') {
      throw new ValidationError('request', [{ path: 'type', message: error.message }]);
    }
    if (error instanceof ProviderError && error.code === 'INVALID_REQUEST') {
      throw new ValidationError(`payload of ${definition.name}/${type}`, error.issues);
    }
    if (error instanceof ProviderError && error.code === 'CARD_DATA_IN_TEXT') {
      throw new CardDataInTextError(`payload of ${definition.name}/${type}`, error.issues[0]?.path ?? '(payload)');
    }
    throw error;
  }
}

/** The call's timeout, or the gateway's default. @throws ValidationError when it is not a usable number of ms. */
function timeoutOf(options: RequestOptions, fallback: number): number {
  const timeoutMs = options.timeoutMs ?? fallback;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new ValidationError('request options', [{ path: 'timeoutMs', message: `must be an integer from 1 to ${MAX_TIMEOUT_MS} (ms)` }]);
  }
  return timeoutMs;
}

/**
 * Makes a gateway: validates the options (defaults in `options.ts`), parses the key material
 * once, connects to the broker cluster and opens the gateway's reply queue.
 *
 * @example
 * ```ts
 * const gateway = await createGateway({ brokers: { nodes: [{ host: 'mq1' }] }, identity, gatewayCertificates: [gatewayPem],
 *   trust: caPem, providers: [card] });
 * const reply = await gateway.request('card', 'authorize', { amount: { value: 1999, currency: 'EUR' }, card, order_id: 'ord-1' },
 *   { idempotencyKey: 'ord-1-auth' });
 * ```
 * @throws ValidationError invalid options or key material (paths named, never values).
 * @throws NotSentError `unreachable` when no broker node accepted a connection (the STOMP error is the `cause`).
 */
export async function createGateway<const P extends readonly ProviderDefinition[]>(options: GatewayOptions<P>): Promise<Gateway<P>> {
  const resolved = parseGatewayOptions(options);
  const keys = loadGatewayKeys(resolved);
  let connection: StompConnection;
  try {
    connection = await StompConnection.connect(resolved.brokers);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new NotSentError('unreachable', `cannot connect to the broker: ${why}`, { cause: error });
  }
  return new Gateway<P>({ options: resolved, keys, connection });
}
