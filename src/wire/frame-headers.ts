/**
 * The STOMP frame headers of wire contract version 1: the
 * one place where the SDK, the worker and the tools learn the header names and values, so the
 * two sides cannot drift apart. No header ever carries payment data.
 */

/** The contract version, sent as `paygate-version`. */
export const PAYGATE_VERSION = '1';

/** Header names of a request or reply frame (besides `destination` and `content-length`). */
export const HEADER = Object.freeze({
  version: 'paygate-version',
  replyTo: 'reply-to',
  correlationId: 'correlation-id',
  contentType: 'content-type',
  persistent: 'persistent',
  expires: 'expires',
  /** On a dead-lettered message only: the error code that made it unanswerable (e.g. `BAD_SIGNATURE`). */
  dlqReason: 'paygate-dlq-reason',
  /** On a dead-lettered message only: the epoch ms at which the worker dead-lettered it. */
  dlqAt: 'paygate-dlq-at',
});

/** The body ciphers of the crypto profile. */
export type BodyCipher = 'aes-256-gcm' | 'aes-256-cbc';

/** `content-type` of a sealed body: `authEnveloped-data` for GCM, `enveloped-data` for CBC. */
export function sealedContentType(cipher: BodyCipher): string {
  return `application/pkcs7-mime; smime-type=${cipher === 'aes-256-gcm' ? 'authEnveloped-data' : 'enveloped-data'}`;
}

/** Whether a `content-type` header names a sealed (encrypted S/MIME) body; `open()` is the real check. */
export function isSealedContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  return /^application\/(x-)?pkcs7-mime\s*;.*smime-type\s*=\s*"?(authEnveloped-data|enveloped-data)"?/i.test(value);
}

/**
 * The headers of a request frame (everything but `destination`): what the SDK sends and what a
 * foreign client must send (docs/wire-format.md §2).
 */
export function requestHeaders(input: {
  replyTo: string;
  correlationId: string;
  cipher: BodyCipher;
  /** Epoch ms: the request's `expires_at`. */
  expiresAt: number;
}): Record<string, string> {
  return {
    [HEADER.replyTo]: input.replyTo,
    [HEADER.correlationId]: input.correlationId,
    [HEADER.contentType]: sealedContentType(input.cipher),
    [HEADER.persistent]: 'true',
    [HEADER.expires]: String(input.expiresAt),
    [HEADER.version]: PAYGATE_VERSION,
  };
}

/** The headers of a reply frame (everything but `destination`): same correlation id, content-type family and version. */
export function replyHeaders(input: { correlationId: string; cipher: BodyCipher }): Record<string, string> {
  return {
    [HEADER.correlationId]: input.correlationId,
    [HEADER.contentType]: sealedContentType(input.cipher),
    [HEADER.version]: PAYGATE_VERSION,
  };
}

/**
 * The `expires` header as epoch ms, or undefined when absent or not a number. `0` means "never"
 * in JMS (ActiveMQ) and is read as absent.
 */
export function expiresOf(headers: Readonly<Record<string, string>>): number | undefined {
  const raw = headers[HEADER.expires];
  if (raw === undefined || !/^\d{1,16}$/.test(raw)) return undefined;
  const value = Number(raw);
  return value > 0 ? value : undefined;
}
