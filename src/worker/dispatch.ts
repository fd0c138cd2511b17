/**
 * The per-message pipeline, in the order docs/wire-format.md and docs/idempotency.md fix:
 *
 * a. the frame's `expires` is past → dead letter `REQUEST_EXPIRED`; no `reply-to` → `NO_REPLY_TO`;
 *    a `reply-to` that is not a reply queue of the broker → `BAD_REPLY_TO` (reply-to.ts);
 * b. open (decrypt, verify, trust) — any failure → dead letter with the wire code;
 * c. decode and validate the document (request-reading.ts); the signer must have the client role;
 * d. freshness (`sent_at`, `expires_at`);
 * e. `ping` is answered here; f. the action's request schema (card numbers only in card fields);
 * g.–h. payload digest, then ONE store operation: the request id's recorded answer (sent again,
 *    the provider never reached) or the idempotency claim; then the plugin (provider-call.ts);
 * i. reply: recorded, sealed to the signer, SENT to `reply-to`, then the request's events
 *    (audit-events.ts), then ACK (respond.ts). A dead letter is followed by its events too.
 *
 * No decision rests on a header the sender controls beyond where to send the answer: replays and
 * redeliveries are told apart by the store alone (a captured request resent with
 * `redelivered:true` is just a request whose id was already answered).
 */
import { PaygateError } from '../errors.ts';
import { PING_TYPE, ProviderError, validateRequest, type ProviderDefinition } from '../providers/index.ts';
import type { StompMessage } from '../stomp/index.ts';
import { expiresOf, HEADER, open, requireSignerRole, type OpenedMessage, type RequestDocument } from '../wire/index.ts';
import type { Disposition, WorkerContext } from './context.ts';
import { deadLetter, evidenceOfBody, evidenceOfOpenFailure } from './dead-letter.ts';
import type { ClaimResult } from './group-commit.ts';
import { beginInput, refOf, runIdempotent } from './provider-call.ts';
import { errorAnswer, rewriteStoredReply, type Answer } from './reply.ts';
import { replyToProblem } from './reply-to.ts';
import { readRequest, type ReadRequest } from './request-reading.ts';
import { answerKeyOf } from './answer-key.ts';
import { deliver, requeue, respond, type Exchange } from './respond.ts';

/**
 * Takes one request message of `provider`'s queue through the pipeline; resolves once it is ACKed,
 * dead-lettered or NACKed. `receivedAt` (`performance.now()` at its arrival) dates its audit record.
 */
export async function handleMessage(context: WorkerContext, provider: ProviderDefinition, message: StompMessage, receivedAt = performance.now()): Promise<Disposition> {
  const now = context.options.clock();
  const problem = frameProblem(context, message, now);
  if (problem !== undefined) return deadLetter(context, provider.name, message, problem, evidenceOfBody(context, message), { receivedAt });

  let opened: OpenedMessage;
  try {
    opened = open(message.body, { identity: context.identity, trust: context.trust, now: new Date(now) });
  } catch (error) {
    // Unreadable or untrusted: nobody to answer safely. The wire's messages hold no content.
    const code = error instanceof PaygateError ? error.code : 'MALFORMED_CMS';
    return deadLetter(context, provider.name, message, code, evidenceOfOpenFailure(code), { receivedAt });
  }
  const read = readRequest(opened.yaml, provider.name);
  const exchange: Exchange = { context, provider, message, opened, receivedAt, ...(read.kind === 'request' ? { request: read.document } : {}) };
  const wrongRole = signerRoleProblem(context, opened);
  if (wrongRole !== undefined) return refuseSigner(exchange, read, wrongRole);
  if (read.kind === 'unreadable') return deadLetter(context, provider.name, message, read.reason, 'decrypted', exchange);
  if (read.kind === 'refused') return respond(exchange, read.request, read.answer);
  return answerRequest(exchange, read.document);
}

/** What makes a frame unanswerable before its body is opened: expired, or no usable `reply-to`. */
function frameProblem(context: WorkerContext, message: StompMessage, now: number): string | undefined {
  const expires = expiresOf(message.headers);
  if (expires !== undefined && expires <= now) return 'REQUEST_EXPIRED';
  return replyToProblem(message.headers[HEADER.replyTo], context.connection.brokerKind ?? 'unknown', context.replyToPattern);
}

/** The `WRONG_SIGNER_ROLE` answer when the signer lacks the client role, else undefined. */
function signerRoleProblem(context: WorkerContext, opened: OpenedMessage): Answer | undefined {
  try {
    requireSignerRole(opened.signer, context.options.clientRoleOids, 'client');
    return undefined;
  } catch (error) {
    if (!(error instanceof PaygateError)) throw error;
    return errorAnswer(error.code, error.message, false);
  }
}

/**
 * A request signed by a trusted certificate without the client role (e.g. the gateway's own): it
 * is never executed; it is answered, to that signer, when it has an id to answer, else
 * dead-lettered. Nothing is stored.
 */
function refuseSigner(exchange: Exchange, read: ReadRequest, answer: Answer): Promise<Disposition> {
  const { context, provider, message } = exchange;
  if (read.kind === 'unreadable') return deadLetter(context, provider.name, message, answer.error?.code ?? 'WRONG_SIGNER_ROLE', 'decrypted', exchange);
  return respond(exchange, read.kind === 'request' ? refOf(read.document) : read.request, answer);
}

/** Steps d–h for a valid request document of this provider. */
async function answerRequest(exchange: Exchange, request: RequestDocument): Promise<Disposition> {
  const { context, provider } = exchange;
  const now = context.options.clock();
  const stale = freshnessProblem(request, now, context.options.freshnessWindowMs);
  if (stale !== undefined) return respond(exchange, refOf(request), stale);
  if (request.type === PING_TYPE) {
    // Nothing is executed, so nothing is claimed: a ping costs no store commit.
    return respond(exchange, refOf(request), { status: 'approved', result: { provider: provider.name, version: provider.version, worker: context.options.workerId } });
  }
  // Refusals that depend on the request's bytes alone are given before the store is asked:
  // a copy of the request sent again is refused the same way.
  const checked = checkPayload(provider, request);
  if (!checked.ok) return respond(exchange, refOf(request), checked.refusal);

  const claimed = { requestId: answerKeyOf(exchange.opened.signer.fingerprint, provider.name, request.id), expiresAt: Date.parse(request.expires_at) };
  // The key's `started_at` is this clock reading: the handler's lease budget counts from it.
  const begin = beginInput(exchange, request, checked.payload);
  let claim: ClaimResult;
  try {
    claim = await context.store.claim({ ...claimed, begin });
  } catch (error) {
    // A store that fails writes (not a lock held a moment too long) fails every redelivery the
    // same way: answer now, retryable, nothing claimed or called (docs/idempotency.md). Every
    // claim that failed while the store is failing gets this answer, not only the one whose
    // error set the state: several fail at once when a database goes away.
    const failure = context.store.failure;
    if (failure !== undefined) return respond(exchange, refOf(request), storeFailedAnswer(failure));
    return requeue(exchange, 'store', error);
  }
  const answered = { ...exchange, claimed };
  if (claim.kind === 'answered') {
    // This id was answered before (a replay, or a redelivery after the answer left): the same
    // answer again, with a new reply id and sent_at; the provider is not reached.
    return deliver(answered, { document: rewriteStoredReply(claim.reply, refOf(request), now), fromStore: true });
  }
  return runIdempotent(answered, request, checked.payload, claim.begun, begin.now ?? context.options.clock());
}

/**
 * The action's request schema on the payload (which also refuses a card number anywhere but in
 * the card fields): the parsed payload, or the error answer (UNSUPPORTED_TYPE, INVALID_REQUEST,
 * CARD_DATA_IN_TEXT).
 */
function checkPayload(provider: ProviderDefinition, request: RequestDocument): { ok: true; payload: unknown } | { ok: false; refusal: Answer } {
  try {
    return { ok: true, payload: validateRequest(provider, request.type, request.payload) };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    // The message names paths and problems, never values.
    return { ok: false, refusal: errorAnswer(error.code, error.message, false) };
  }
}

/** The retryable `STORE_FAILED` answer of a request the failing store could not claim. */
function storeFailedAnswer(failure: Error): Answer {
  // Not "nothing was done": this may be a redelivery of a request whose provider call already ran
  // (its answer could not be recorded). Only a retry with the same key is safe either way.
  const text = `the gateway's idempotency store cannot be written now (${failure.message.slice(0, 200)}); the outcome is not known here: retry later with the same idempotency key, never a new one`;
  return errorAnswer('STORE_FAILED', text, true);
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
