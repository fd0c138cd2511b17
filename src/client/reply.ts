import type * as z from 'zod';
import { PaygateError } from '../errors.ts';
import {
  decodeYaml, open, parseReplyDocument, requireSignerRole, shownIssue, type Certificate, type Identity, type ReplyDocument,
  type TrustStore,
} from '../wire/index.ts';
import { RemoteError, ReplyResultError } from './errors.ts';
import type { GatewayReply } from './types.ts';

/**
 * Reading a reply: decrypt with our key, verify the signature and that the
 * signer chains to our trust anchors, that it carries the gateway role, that it is one of the
 * configured gateway certificates, and that the document answers this very request. Only then
 * is the content believed: the result is checked against the action's result schema.
 *
 * A reply that fails any check up to the request match is **rejected**: anyone who can send to
 * our reply queue could have made it, so it must cost the request nothing (the caller keeps
 * waiting for the genuine reply). A verified reply that is an error, or whose result breaks the
 * schema, **fails** the request: it is the gateway's own answer.
 */

/** Our side of the trust decision. */
export interface ReplyKeys {
  /** Our certificate and key: replies are encrypted to us. */
  readonly identity: Identity;
  /** The anchors the gateway certificates chain to. */
  readonly trust: TrustStore;
  /** Only these may sign replies. */
  readonly gatewayCertificates: readonly Certificate[];
  /** The signer must carry one of these extendedKeyUsage OIDs (`[]`: no role check). */
  readonly gatewayRoleOids: readonly string[];
}

/** What the reply must answer. */
export interface ReplyExpectation {
  readonly requestId: string;
  readonly idempotencyKey: string;
  readonly provider: string;
  readonly type: string;
  /** The action's result schema (for `ping`, the SDK's own). */
  readonly resultSchema: z.ZodType;
}

/**
 * Why a reply was rejected: a wire code of `open()` or of the document's decoding
 * (`DECRYPT_FAILED`, `BAD_SIGNATURE`, `UNTRUSTED_SIGNER`, `SCHEMA_INVALID`…), `WRONG_SIGNER_ROLE`,
 * `UNTRUSTED_SIGNER` for a trusted signer that is not a configured gateway certificate,
 * `MISMATCHED_REPLY` for a reply to another request, or `UNKNOWN`.
 */
export type RejectionCode = string;

/** What reading one reply body gave. */
export type ReplyVerdict =
  /** Verified, for this request, with a usable result: the caller's reply. */
  | { readonly kind: 'accepted'; readonly reply: GatewayReply<unknown> }
  /** Verified and for this request, but an error reply or a result that breaks the schema: the caller's error. */
  | { readonly kind: 'failed'; readonly error: RemoteError | ReplyResultError }
  /** Not proven to be the gateway's answer to this request: dropped, the caller keeps waiting. */
  | { readonly kind: 'rejected'; readonly code: RejectionCode };

/** Opens and checks one reply body against the request it claims to answer. Throws only what a plugin's result schema throws. */
export function readReply(body: Buffer, expected: ReplyExpectation, keys: ReplyKeys): ReplyVerdict {
  let signer: Certificate;
  let document: ReplyDocument;
  try {
    const opened = open(body, { identity: keys.identity, trust: keys.trust });
    signer = opened.signer;
    // The role before the pin: a client certificate of our own CA is the likeliest forger.
    requireSignerRole(signer, keys.gatewayRoleOids, 'gateway');
    if (!keys.gatewayCertificates.some((gateway) => gateway.der.equals(signer.der))) return rejected('UNTRUSTED_SIGNER');
    document = parseReplyDocument(decodeYaml(opened.yaml));
  } catch (error) {
    return rejected(error instanceof PaygateError ? error.code : 'UNKNOWN');
  }
  if (!answers(document, expected)) return rejected('MISMATCHED_REPLY');
  return judge(document, expected, signer);
}

function rejected(code: RejectionCode): ReplyVerdict {
  return { kind: 'rejected', code };
}

/** Whether `document` answers the expected request (a captured genuine reply to another request does not). */
function answers(document: ReplyDocument, expected: ReplyExpectation): boolean {
  return document.request_id === expected.requestId && document.provider === expected.provider && document.type === expected.type;
}

/** The verdict on a verified reply to this request: its error, or its result checked by the schema. */
function judge(document: ReplyDocument, expected: ReplyExpectation, signer: Certificate): ReplyVerdict {
  const ids = { requestId: expected.requestId, idempotencyKey: expected.idempotencyKey };
  if (document.status === 'error') {
    // parseReplyDocument guarantees `error` for this status.
    const error = document.error ?? { code: 'UNKNOWN', message: 'no error given', retryable: false };
    const remote = new RemoteError({ remoteCode: error.code, message: error.message, retryable: error.retryable, requestId: expected.requestId });
    return { kind: 'failed', error: remote };
  }
  const resultError = (issues: { path: string; message: string }[]): ReplyVerdict => ({
    kind: 'failed',
    error: new ReplyResultError({ replyStatus: document.status, ...ids, issues }),
  });
  if (document.status === 'approved' && document.result === undefined) {
    return resultError([{ path: 'result', message: 'required when status is approved' }]);
  }
  let result: unknown;
  if (document.result !== undefined) {
    const parsed = expected.resultSchema.safeParse(document.result);
    // Paths and zod's problem descriptions only: a result may echo card data.
    if (!parsed.success) return resultError(parsed.error.issues.map((issue) => shownIssue(issue, ['result'], 'result')));
    result = parsed.data;
  }
  return {
    kind: 'accepted',
    reply: Object.freeze({
      ...ids,
      replyId: document.id,
      signer,
      status: document.status,
      ...(result === undefined ? {} : { result }),
      ...(document.error === undefined ? {} : { error: Object.freeze({ ...document.error }) }),
    }) as GatewayReply<unknown>,
  };
}
