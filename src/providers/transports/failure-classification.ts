import { TransportError } from '../transport-errors.ts';

/**
 * How a failed HTTPS call becomes a {@link TransportError}: the one place that decides whether a
 * provider call provably never left (`notSent: true`, safe to retry) or may have been acted on.
 *
 * The decision rests on the **phase** the call had reached, which the HTTP client tracks itself
 * from undici's dispatch handler, not on the error code alone. undici calls the handler's
 * `onRequestStart` (formerly `onConnect`) from `writeH1` once the socket is connected and the TLS
 * handshake done, immediately *before* it writes the request; if the handler aborts in that
 * callback, nothing is written. So:
 *
 * - `connecting`: `onRequestStart` not yet called: not one byte of the request was written.
 * - `sent`: the request was handed to the socket (it may or may not have arrived); no answer yet.
 * - `receiving`: the answer's status line and headers arrived; its body is being read.
 *
 * | phase | error (code) | code | notSent |
 * | --- | --- | --- | --- |
 * | connecting | `ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`, `EHOSTUNREACH`, `ENETUNREACH` | `PROVIDER_UNAVAILABLE` | true |
 * | connecting | TLS verification: `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `SELF_SIGNED_CERT_IN_CHAIN`, `DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, … | `PROVIDER_UNAVAILABLE` | true |
 * | connecting | `UND_ERR_CONNECT_TIMEOUT` (TCP + TLS handshake took longer than `connectTimeoutMs`) | `PROVIDER_UNAVAILABLE` | true |
 * | connecting | `ECONNRESET`, `UND_ERR_SOCKET` (reset or closed during the handshake), anything else | `PROVIDER_UNAVAILABLE` | true |
 * | connecting | the call's deadline passed while still connecting (the request is then stopped in `onRequestStart`, never written) | `PROVIDER_UNAVAILABLE` | true |
 * | connecting | a TLS alert from the server (`ERR_SSL_*_ALERT_*`): it refused the handshake | `PROVIDER_UNAVAILABLE` | true |
 * | sent | `UND_ERR_HEADERS_TIMEOUT`, the call's deadline | `PROVIDER_TIMEOUT` | false |
 * | sent | `UND_ERR_SOCKET` ("other side closed"), `ECONNRESET`, `EPIPE`, a TLS alert: hung up after the request was written | `PROVIDER_TIMEOUT` | false |
 * | sent | `HPE_*` (not HTTP), `UND_ERR_HEADERS_OVERFLOW`, `UND_ERR_INFO` | `PROVIDER_BAD_RESPONSE` | false |
 * | receiving | `UND_ERR_BODY_TIMEOUT`, the call's deadline | `PROVIDER_TIMEOUT` | false |
 * | receiving | `UND_ERR_SOCKET`, `ECONNRESET`, `UND_ERR_RES_CONTENT_LENGTH_MISMATCH`, `HPE_*`: a truncated body | `PROVIDER_BAD_RESPONSE` | false |
 * | receiving | over `maxResponseBytes` (`Content-Length` or counted while reading) | `PROVIDER_BAD_RESPONSE` | false |
 * | any | the caller's `AbortSignal` | the signal's `reason`, rethrown unchanged (the caller decided; it knows what it stopped) | — |
 *
 * A kept-alive connection that the server closed just as a request was written fails with
 * `UND_ERR_SOCKET` in phase `sent`: it is reported as `PROVIDER_TIMEOUT` (not sent *maybe*),
 * because nothing proves the server did not read it. undici never retries a POST by itself.
 *
 * Client certificates and TLS 1.3: a server that refuses the client's certificate (or its
 * absence) does so *after* the client has finished its side of the handshake, so the request has
 * already been written when the refusal arrives, and undici reports a closed socket
 * (`UND_ERR_SOCKET`) rather than the alert. That case is therefore `PROVIDER_TIMEOUT`,
 * conservatively; a wrong client certificate is a configuration error that shows on the first call.
 *
 * Messages name the endpoint's host and the problem in our own words; the low-level error is
 * kept as `cause` only as `{ name, code }` (undici's parser errors carry the raw response bytes).
 */

/** How far a call got; see the table above. */
export type CallPhase = 'connecting' | 'sent' | 'receiving';

/** Why our own code stopped a call (as opposed to undici or the socket). */
export type LocalStop = 'deadline' | 'too-large';

const NAME_RESOLUTION = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const HUNG_UP = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'ECONNABORTED']);
const TLS_VERIFICATION = /^(?:ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_\w+|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_\w+|ERR_TLS_\w+|ERR_SSL_\w+|HOSTNAME_MISMATCH)$/;
const TLS_ALERT = /^ERR_SSL_\w*ALERT\w*$/;

/** The error's `code` property, if it has a string one. */
export function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** A body-free stand-in for a low-level error, fit to be a `cause`. */
export function safeCause(error: unknown): Error {
  const name = error instanceof Error ? error.name : 'Error';
  const code = errorCode(error);
  return Object.assign(new Error(`${name} (${code})`), { code });
}

/** Why a connection could not be made, in words (never the raw message). */
function connectProblem(code: string): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (NAME_RESOLUTION.has(code)) return 'host name not resolved';
  if (UNREACHABLE.has(code)) return 'host unreachable';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect timed out';
  if (TLS_ALERT.test(code)) return 'TLS handshake refused by the server';
  if (TLS_VERIFICATION.test(code)) return 'TLS handshake failed: the server certificate did not verify';
  if (HUNG_UP.has(code)) return 'connection closed during the TLS handshake';
  return 'connection failed';
}

/**
 * The {@link TransportError} for a call to `host` that failed with `error` in `phase`, or that
 * our own code stopped (`stop`).
 */
export function classifyFailure(host: string, phase: CallPhase, error: unknown, stop?: LocalStop): TransportError {
  const code = stop === undefined ? errorCode(error) : stop;
  // A stop of our own has no low-level error worth keeping.
  const cause = stop === undefined ? safeCause(error) : undefined;
  if (stop === 'too-large') {
    return new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host}: answer larger than the response size limit`, { cause });
  }
  if (phase === 'connecting') {
    const problem = stop === 'deadline' ? 'timed out before the connection was established' : `${connectProblem(code)} (${code})`;
    return new TransportError('PROVIDER_UNAVAILABLE', `provider ${host} unavailable: ${problem}; the request was not sent`, { notSent: true, cause });
  }
  if (stop === 'deadline' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    const when = phase === 'sent' ? 'no answer' : 'answer incomplete';
    return new TransportError('PROVIDER_TIMEOUT', `provider ${host} timed out after the request was sent: ${when} within the call's timeout`, { cause });
  }
  if (phase === 'sent') {
    if (HUNG_UP.has(code) || TLS_ALERT.test(code)) {
      return new TransportError('PROVIDER_TIMEOUT', `provider ${host} closed the connection after the request was sent, without answering (${code})`, { cause });
    }
    return new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} answered with something that is not HTTP (${code})`, { cause });
  }
  return new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host}: answer truncated, the connection ended before the whole body arrived (${code})`, { cause });
}
