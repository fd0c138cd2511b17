/**
 * The per-message pipeline (issue 4), in the order DESIGN §2 and docs/idempotency.md fix:
 *
 * a. the frame's `expires` is past → dead letter `REQUEST_EXPIRED`; no `reply-to` → `NO_REPLY_TO`;
 * b. open (decrypt, verify, trust) — any failure → dead letter with the wire code;
 * c. decode and validate the document (request-reading.ts);
 * d. freshness (`sent_at`, `expires_at`), then replay (`seenRequest`, unless a redelivery);
 * e. `ping` is answered here; f. the action's request schema;
 * g.–h. payload digest, idempotency store, plugin (provider-call.ts);
 * i. reply: seal to the signer, SEND to `reply-to`, then ACK (respond.ts).
 */
import { PaygateError } from '../errors.ts';
import { PING_TYPE, ProviderError, validateRequest, type ProviderDefinition } from '../providers/index.ts';
import type { StompMessage } from '../stomp/index.ts';
import { expiresOf, HEADER, isRedelivery, open, type OpenedMessage, type RequestDocument } from '../wire/index.ts';
import type { Disposition, WorkerContext } from './context.ts';
import { deadLetter } from './dead-letter.ts';
import type { ClaimResult } from './group-commit.ts';
import type { BeginResult } from './idempotency-store.ts';
import { beginInput, refOf, runIdempotent } from './provider-call.ts';
import { errorAnswer, type Answer } from './reply.ts';
import { readRequest } from './request-reading.ts';
import { requeue, respond, type Exchange } from './respond.ts';

/** Takes one request message of `provider`'s queue through the pipeline; resolves once it is ACKed, dead-lettered or NACKed. */
export async function handleMessage(context: WorkerContext, provider: ProviderDefinition, message: StompMessage): Promise<Disposition> {
  const now = context.options.clock();
  const expires = expiresOf(message.headers);
  if (expires !== undefined && expires <= now) return deadLetter(context, provider.name, message, 'REQUEST_EXPIRED');
  if (!message.headers[HEADER.replyTo]) return deadLetter(context, provider.name, message, 'NO_REPLY_TO');

  let opened: OpenedMessage;
  try {
    opened = open(message.body, { identity: context.identity, trust: context.trust, now: new Date(now) });
  } catch (error) {
    // Unreadable or untrusted: nobody to answer safely. The wire's messages hold no content.
    return deadLetter(context, provider.name, message, error instanceof PaygateError ? error.code : 'MALFORMED_CMS');
  }
  const exchange: Exchange = { context, provider, message, opened };
  const read = readRequest(opened.yaml, provider.name);
  if (read.kind === 'unreadable') return deadLetter(context, provider.name, message, read.reason);
  if (read.kind === 'refused') return respond(exchange, read.request, read.answer);
  return answerRequest(exchange, read.document);
}

/** Steps d–h for a valid request document of this provider. */
async function answerRequest(exchange: Exchange, request: RequestDocument): Promise<Disposition> {
  const { context, provider, message } = exchange;
  const now = context.options.clock();
  const stale = freshnessProblem(request, now, context.options.freshnessWindowMs);
  if (stale !== undefined) return respond(exchange, refOf(request), stale);

  // The pure checks first, so that one store operation (one commit) covers both the replay check
  // and the idempotency claim; the answers keep their order: replay, then ping, then the schema.
  const checked = request.type === PING_TYPE ? undefined : checkPayload(provider, request);
  const redelivery = isRedelivery(message.headers);
  let claim: ClaimResult;
  try {
    const begin = checked?.ok === true ? beginInput(exchange, request, checked.payload) : undefined;
    claim = await context.store.claim({ requestId: request.id, expiresAt: Date.parse(request.expires_at), redelivery, ...(begin && { begin }) });
  } catch (error) {
    return requeue(exchange, 'store', error);
  }
  if (claim.replayed) {
    const text = `request ${request.id} was already received: send a new request (new id), with the same idempotency key to retry`;
    return respond(exchange, refOf(request), errorAnswer('REPLAYED_REQUEST', text, false));
  }
  if (checked === undefined) {
    const result = { provider: provider.name, version: provider.version, worker: context.options.workerId };
    return respond(exchange, refOf(request), { status: 'approved', result });
  }
  if (!checked.ok) return respond(exchange, refOf(request), checked.refusal);
  return runIdempotent(exchange, request, checked.payload, claim.begun as BeginResult);
}

/** The action's request schema on the payload: the parsed payload, or the error answer (UNSUPPORTED_TYPE, INVALID_REQUEST). */
function checkPayload(provider: ProviderDefinition, request: RequestDocument): { ok: true; payload: unknown } | { ok: false; refusal: Answer } {
  try {
    return { ok: true, payload: validateRequest(provider, request.type, request.payload) };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    // The message names paths and problems, never values.
    return { ok: false, refusal: errorAnswer(error.code, error.message, false) };
  }
}

/** `STALE_REQUEST` when `sent_at` is outside the window (either way), `REQUEST_EXPIRED` when `expires_at` has passed. */
export function freshnessProblem(request: RequestDocument, now: number, windowMs: number): Answer | undefined {
  const sentAt = Date.parse(request.sent_at);
  if (Math.abs(now - sentAt) > windowMs) {
    const text = `sent_at ${request.sent_at} is ${Math.round((now - sentAt) / 1000)} s from the worker's clock, outside the ${windowMs} ms freshness window: check the sender's clock and send a new request`;
    return errorAnswer('STALE_REQUEST', text, false);
  }
  if (Date.parse(request.expires_at) <= now) {
    return errorAnswer('REQUEST_EXPIRED', `the request expired at ${request.expires_at}: send a new request`, false);
  }
  return undefined;
}
