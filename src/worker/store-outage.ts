/**
 * What the worker does with a request while its idempotency store fails writes (a full disk, an
 * I/O error): it answers at once with a retryable `STORE_FAILED` error, without reaching the
 * store or the provider, and ACKs.
 *
 * Why not NACK, as a single failed write does (dispatch.ts): while the store is failing, every
 * redelivery fails the same way, so NACKing turns into a redelivery loop that burns the broker
 * and the worker while the client waits for its timeout and learns nothing. An error reply tells
 * the client now, with `retryable: true`, that the same request may be sent again (nothing was
 * claimed, nothing was called). The worker probes the store meanwhile and serves normally again
 * as soon as a write succeeds.
 *
 * Only requests that would reach the store are refused here; everything else (a frame to
 * dead-letter, a message that does not open, a refused document, `ping`) takes the usual path,
 * which does not write to the store.
 */
import { PING_TYPE, type ProviderDefinition } from '../providers/index.ts';
import type { StompMessage } from '../stomp/index.ts';
import { expiresOf, HEADER, open, requireSignerRole, type OpenedMessage } from '../wire/index.ts';
import type { Disposition, WorkerContext } from './context.ts';
import { handleMessage } from './dispatch.ts';
import type { WorkerError } from './errors.ts';
import { refOf } from './provider-call.ts';
import { errorAnswer, replyDocument } from './reply.ts';
import { replyToProblem } from './reply-to.ts';
import { readRequest } from './request-reading.ts';
import { deliver } from './respond.ts';

/** Answers `message` with a retryable STORE_FAILED error when it is a request the store would have to claim; else the usual pipeline. */
export async function answerDuringStoreOutage(context: WorkerContext, provider: ProviderDefinition, message: StompMessage, failure: WorkerError): Promise<Disposition> {
  const now = context.options.clock();
  const expires = expiresOf(message.headers);
  const frameProblem = (expires !== undefined && expires <= now) || replyToProblem(message.headers[HEADER.replyTo], context.connection.brokerKind ?? 'unknown', context.replyToPattern) !== undefined;
  if (frameProblem) return handleMessage(context, provider, message);
  let opened: OpenedMessage;
  try {
    opened = open(message.body, { identity: context.identity, trust: context.trust, now: new Date(now) });
    requireSignerRole(opened.signer, context.options.clientRoleOids, 'client');
  } catch {
    return handleMessage(context, provider, message);
  }
  const read = readRequest(opened.yaml, provider.name);
  if (read.kind !== 'request' || read.document.type === PING_TYPE) return handleMessage(context, provider, message);
  const text = `the gateway's idempotency store cannot be written now (${failure.message.slice(0, 200)}); nothing was done: send the same request again later`;
  const document = replyDocument(refOf(read.document), errorAnswer('STORE_FAILED', text, true), now);
  return deliver({ context, provider, message, opened }, { document, fromStore: false });
}
