import type * as z from 'zod';
import { decodeYaml, open, parseReplyDocument, type Certificate, type Identity, type ReplyDocument, type TrustStore } from '../wire/index.ts';
import { RemoteError, ReplyVerificationError } from './errors.ts';
import type { GatewayReply } from './types.ts';

/**
 * Reading a reply (DESIGN §2, "Trust"): decrypt with our key, verify the signature and that the
 * signer chains to our trust anchors, check that the signer is one of the configured gateway
 * certificates, that the document answers this very request, and the result against the
 * action's result schema. Anything that fails is a {@link ReplyVerificationError}: the content
 * of an unverified reply is never believed.
 */

/** Our side of the trust decision. */
export interface ReplyKeys {
  /** Our certificate and key: replies are encrypted to us. */
  readonly identity: Identity;
  /** The anchors the gateway certificates chain to. */
  readonly trust: TrustStore;
  /** Only these may sign replies. */
  readonly gatewayCertificates: readonly Certificate[];
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
 * Opens and checks one reply body.
 *
 * @returns the verified reply, its result parsed by the result schema.
 * @throws RemoteError for a verified `status: error` reply.
 * @throws ReplyVerificationError when the body cannot be opened or verified (the wire code, e.g.
 *   `DECRYPT_FAILED`, `BAD_SIGNATURE`, `UNTRUSTED_SIGNER`), is signed by a certificate that is not
 *   a configured gateway certificate (`UNTRUSTED_SIGNER`), answers another request
 *   (`MISMATCHED_REPLY`), or carries a result that breaks the schema (`INVALID_RESULT`).
 */
export function readReply(body: Buffer, expected: ReplyExpectation, keys: ReplyKeys): GatewayReply<unknown> {
  const ids = { requestId: expected.requestId, idempotencyKey: expected.idempotencyKey };
  const reject = (wireCode: string, detail: string): ReplyVerificationError => new ReplyVerificationError({ wireCode, ...ids, detail });
  let signer: Certificate;
  let document: ReplyDocument;
  try {
    const opened = open(body, { identity: keys.identity, trust: keys.trust });
    signer = opened.signer;
    if (!keys.gatewayCertificates.some((gateway) => gateway.der.equals(signer.der))) {
      throw reject('UNTRUSTED_SIGNER', `signed by ${signer.subject}, which is not a configured gateway certificate`);
    }
    document = parseReplyDocument(decodeYaml(opened.yaml));
  } catch (error) {
    throw error instanceof ReplyVerificationError ? error : ReplyVerificationError.wrap(error, ids);
  }
  const mismatch = mismatchOf(document, expected);
  if (mismatch !== undefined) throw reject('MISMATCHED_REPLY', mismatch);
  const meta = { requestId: expected.requestId, idempotencyKey: expected.idempotencyKey, replyId: document.id, signer };
  if (document.status === 'error') {
    // parseReplyDocument guarantees `error` for this status.
    const error = document.error ?? { code: 'UNKNOWN', message: 'no error given', retryable: false };
    throw new RemoteError({ remoteCode: error.code, message: error.message, retryable: error.retryable, requestId: expected.requestId });
  }
  if (document.status === 'approved' && document.result === undefined) throw reject('INVALID_RESULT', 'approved without a result');
  let result: unknown;
  if (document.result !== undefined) {
    const parsed = expected.resultSchema.safeParse(document.result);
    if (!parsed.success) {
      // Paths and zod's problem descriptions only: a result may echo card data.
      const paths = parsed.error.issues.map((issue) => `result.${issue.path.map(String).join('.')}: ${issue.message}`);
      throw reject('INVALID_RESULT', paths.join('; '));
    }
    result = parsed.data;
  }
  return Object.freeze({
    ...meta,
    status: document.status,
    ...(result === undefined ? {} : { result }),
    ...(document.error === undefined ? {} : { error: Object.freeze({ ...document.error }) }),
  }) as GatewayReply<unknown>;
}

/** Why `document` does not answer the expected request, or undefined when it does. */
function mismatchOf(document: ReplyDocument, expected: ReplyExpectation): string | undefined {
  if (document.request_id !== expected.requestId) return `it answers request ${document.request_id}`;
  if (document.provider !== expected.provider || document.type !== expected.type) {
    return `it answers ${document.provider}/${document.type}, not ${expected.provider}/${expected.type}`;
  }
  return undefined;
}
