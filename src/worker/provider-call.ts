/**
 * Step h of the pipeline: exactly-once in effect around the plugin (docs/idempotency.md, the
 * states table). `begin` decides: a new key calls the handler; a completed one re-sends the
 * stored reply; one in progress is reconciled through the plugin's `status` hook; a conflict is
 * refused. The plugin is never called without a `new`, and never called twice blindly.
 */
import {
  isNotSent, isTransportError, ProviderError, validateResult, type Action, type ActionContext, type ActionOutcome,
} from '../providers/index.ts';
import type { RequestDocument } from '../wire/index.ts';
import type { Disposition } from './context.ts';
import type { BeginInput, BeginResult } from './idempotency-store.ts';
import type { StoreOperations } from './store-engine.ts';
import { describeError } from './describe-error.ts';
import { payloadDigest } from './payload-digest.ts';
import { errorAnswer, rewriteStoredReply, unknownAnswer, type Answer, type RequestRef } from './reply.ts';
import { respond, respondWith, type ClaimedExchange, type Exchange } from './respond.ts';
import { respondAfter, storeAndSend } from './store-reply.ts';

/**
 * How long a handler (or a `status` call) may run, counted from just after the key was claimed:
 * the lease less a margin (a quarter of it, at most 5 s) for the abort to reach the transport.
 */
export function handlerBudgetMs(leaseMs: number): number {
  return leaseMs - Math.min(5_000, Math.floor(leaseMs / 4));
}

/** The reference of a validated request (its `type` is masked when echoed: reply.ts `echoableType`). */
export function refOf(request: RequestDocument): RequestRef {
  return { id: request.id, provider: request.provider, type: request.type };
}

/** What `begin` is asked for this request: the key, and the keyed digest of the validated payload. */
export function beginInput(exchange: Exchange, request: RequestDocument, payload: unknown): BeginInput {
  const { context, provider, opened } = exchange;
  const digest = payloadDigest(context.digestKey, {
    type: request.type,
    signerFingerprint: opened.signer.fingerprint,
    payload,
    rawPayload: request.payload,
  });
  return {
    provider: provider.name,
    idempotencyKey: request.idempotency_key,
    requestId: request.id,
    payloadDigest: digest,
    workerId: context.options.workerId,
    now: context.options.clock(),
  };
}

/**
 * Acts on what `begin` found for a validated request (dispatch.ts claims the key together with
 * the replay check, in one commit): a new key calls the plugin, and so on down the states table.
 *
 * @param payload the payload as the action's request schema parsed it (what the handler gets).
 */
export async function runIdempotent(
  exchange: ClaimedExchange,
  request: RequestDocument,
  payload: unknown,
  begun: BeginResult,
  claimedAt: number,
): Promise<Disposition> {
  const { context } = exchange;
  switch (begun.kind) {
    case 'new':
      return callHandler(exchange, request, payload, claimedAt);
    case 'completed':
      return respondWith(exchange, rewriteStoredReply(begun.reply, refOf(request), context.options.clock()), true);
    case 'in-progress':
      return reconcile(exchange, request, payload, begun.requestId, begun);
    case 'conflict': {
      const message = `idempotency key already used with a different payload (request ${begun.requestId}): use a new key for a new operation`;
      return respond(exchange, refOf(request), errorAnswer('IDEMPOTENCY_CONFLICT', message, false));
    }
  }
}

/**
 * The handler's context: the signal aborts at the request's `expires_at`, at the worker's hard
 * stop, or before the key's lease runs out (`handlerBudgetMs`), whichever comes first. The last
 * bound is what makes a take-over safe: a live holder has stopped calling its provider before
 * another worker may find its lease expired (`reconcile`). The budget runs from `leaseFrom`, the
 * `started_at` the store wrote for the key (the claim's clock reading), not from now: the claim's
 * own wait (its group-commit turn, another process's lock, the fsync) is already lease time.
 */
function actionContext(exchange: Exchange, request: RequestDocument, requestId: string, leaseFrom: number): ActionContext {
  const { context } = exchange;
  const now = context.options.clock();
  const remainingMs = Math.max(0, Date.parse(request.expires_at) - now);
  const budgetMs = Math.max(0, handlerBudgetMs(context.store.timings.leaseMs) - (now - leaseFrom));
  return {
    idempotencyKey: request.idempotency_key,
    requestId,
    signal: AbortSignal.any([context.hardStop, AbortSignal.timeout(Math.min(remainingMs, budgetMs))]),
    log: context.log,
    resources: context.resources.get(exchange.provider.name),
  };
}

/** Calls the handler of a key that is ours (`new`), then stores and sends its outcome. */
async function callHandler(exchange: ClaimedExchange, request: RequestDocument, payload: unknown, claimedAt: number): Promise<Disposition> {
  const { context, provider } = exchange;
  const action = provider.actions[request.type] as Action;
  let outcome: ActionOutcome<unknown>;
  try {
    outcome = checkedOutcome(exchange, request, await action.handler(payload, actionContext(exchange, request, request.id, claimedAt)));
  } catch (error) {
    if (isNotSent(error)) return abandon(exchange, request, error);
    context.reportHandlerError({ provider: provider.name, type: request.type, hook: 'handler', ...describeError(error) });
    // The provider may have been charged: ask it, never call it again.
    return reconcile(exchange, request, payload, request.id);
  }
  if (outcome.status === 'unknown') return respondUnknown(exchange, request, outcome);
  if (outcome.status === 'declined' && outcome.error.retryable) return releaseKey(exchange, request, outcomeAnswer(outcome));
  return storeAndSend(exchange, refOf(request), request.idempotency_key, outcomeAnswer(outcome));
}

/**
 * A decline the provider says may be retried (`retryable: true`: its own error, nothing
 * recorded) is not the operation's final answer: the key is freed, not completed, so a retry with
 * the same key reaches the provider again instead of getting this decline back forever.
 */
async function releaseKey(exchange: ClaimedExchange, request: RequestDocument, answer: Answer): Promise<Disposition> {
  // A failed abandon leaves the entry in progress: a retry reconciles through `status` instead of calling again.
  return respondAfter(exchange, refOf(request), answer, (tx) => freeKey(exchange, request, tx));
}

/** Inside a store operation: abandons this worker's entry for the request's key; returns the error to report, if any. */
async function freeKey(exchange: Exchange, request: RequestDocument, tx: StoreOperations): Promise<unknown> {
  const { context, provider } = exchange;
  try {
    await tx.abandon({ provider: provider.name, idempotencyKey: request.idempotency_key, workerId: context.options.workerId });
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * Settles a key whose outcome we do not know (its handler threw, or another worker holds it or
 * died holding it) through the plugin's `status` hook. A final outcome is stored and sent;
 * otherwise the answer is `unknown`/`OUTCOME_UNKNOWN` and the entry stays in progress, so a
 * retry with the same key reconciles again.
 *
 * One exception: another worker's entry whose lease expired, and of which the provider has no
 * record, is taken over and the handler called. A holder's handler is aborted before its lease
 * runs out ({@link handlerBudgetMs}), and each provider call is shorter than the lease (the
 * config requires `idempotency.lease` above every `timeout_ms`), so an expired lease means the
 * holder is dead or stopped calling, and whatever it sent has been answered or dropped by the
 * provider: "no record" is final. Without this, a worker killed between claiming a key and
 * reaching the provider would leave the key answering `unknown` until retention purged it.
 */
export async function reconcile(
  exchange: ClaimedExchange,
  request: RequestDocument,
  payload: unknown,
  firstRequestId: string,
  held?: Extract<BeginResult, { kind: 'in-progress' }>,
): Promise<Disposition> {
  const { context, provider } = exchange;
  if (provider.status === undefined) return respondUnknown(exchange, request);
  let outcome: ActionOutcome<unknown>;
  try {
    const found = await provider.status({ type: request.type, payload }, actionContext(exchange, request, firstRequestId, context.options.clock()));
    if (found === null) return held?.leaseExpired ? takeOver(exchange, request, payload, held) : respondUnknown(exchange, request);
    outcome = checkedOutcome(exchange, request, found);
  } catch (error) {
    context.reportHandlerError({ provider: provider.name, type: request.type, hook: 'status', ...describeError(error) });
    return respondUnknown(exchange, request);
  }
  if (outcome.status === 'unknown') return respondUnknown(exchange, request, outcome);
  if (outcome.status === 'declined' && outcome.error.retryable) return releaseKey(exchange, request, outcomeAnswer(outcome));
  return storeAndSend(exchange, refOf(request), request.idempotency_key, outcomeAnswer(outcome));
}

/** A dead holder's key the provider never saw: ours now, call the handler (or answer `unknown` if another worker was quicker). */
async function takeOver(exchange: ClaimedExchange, request: RequestDocument, payload: unknown, held: Extract<BeginResult, { kind: 'in-progress' }>): Promise<Disposition> {
  const { context, provider } = exchange;
  let taken = false;
  const takenAt = context.options.clock();
  try {
    taken = await context.store.takeOver({
      provider: provider.name,
      idempotencyKey: request.idempotency_key,
      fromWorkerId: held.workerId,
      since: held.since,
      workerId: context.options.workerId,
      requestId: request.id,
      now: takenAt,
    });
  } catch (storeError) {
    context.reportError({ stage: 'store', provider: provider.name, ...describeError(storeError), requeued: false });
  }
  return taken ? callHandler(exchange, request, payload, takenAt) : respondUnknown(exchange, request);
}

/** The handler said the provider was never called: forget the entry, answer with a retryable error. */
async function abandon(exchange: ClaimedExchange, request: RequestDocument, error: unknown): Promise<Disposition> {
  const { message } = describeError(error);
  // A transport's own code says why (PROVIDER_UNAVAILABLE: breaker open, connection refused…).
  const code = isTransportError(error) ? error.code : 'PROVIDER_NOT_CALLED';
  // A failed abandon leaves the entry in progress: a retry reconciles (and finds nothing) instead of proceeding.
  return respondAfter(exchange, refOf(request), errorAnswer(code, `the provider was not called: ${message}`, true), (tx) => freeKey(exchange, request, tx));
}

function respondUnknown(exchange: Exchange, request: RequestDocument, outcome?: ActionOutcome<unknown>): Promise<Disposition> {
  const answer = unknownAnswer();
  return respond(exchange, refOf(request), outcome?.error === undefined ? answer : { ...answer, error: outcome.error });
}

/** validateResult, plus the wire's rule that a reply's `result` is a mapping. */
function checkedOutcome(exchange: Exchange, request: RequestDocument, raw: unknown): ActionOutcome<unknown> {
  const outcome = validateResult(exchange.provider, request.type, raw);
  const { result } = outcome;
  if (result !== undefined && (typeof result !== 'object' || result === null || Array.isArray(result))) {
    throw new ProviderError('INVALID_RESULT', `outcome of ${exchange.provider.name}/${request.type}: result must be a mapping`);
  }
  return outcome;
}

function outcomeAnswer(outcome: ActionOutcome<unknown>): Answer {
  return {
    status: outcome.status,
    ...(outcome.result === undefined ? {} : { result: outcome.result as Record<string, unknown> }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
}
