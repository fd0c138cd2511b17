import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import { TransportError } from '../transport-errors.ts';
import { classifyFailure, type CallPhase, type LocalStop } from './failure-classification.ts';
import { lazyImport } from './lazy.ts';
import type { EndpointOptions } from './options.ts';
import { tlsConnectOptions } from './tls.ts';
import { recordTranscript } from './transcript.ts';

/**
 * The HTTPS client under every transport: one undici `Pool` per endpoint (connection pooling,
 * keep-alive), TLS verified against the configured CAs with an optional client certificate, one
 * deadline per call covering connect, headers and body, the caller's `AbortSignal`, and a
 * response size limit enforced while the body is read.
 *
 * Failures are classified by {@link classifyFailure} (see its table in
 * `failure-classification.ts`): whether the request provably never left is decided from the
 * phase this client tracks through undici's dispatch handler, not guessed from error codes.
 * HTTP error statuses are *not* failures here: each transport decides what a status means (a
 * SOAP fault comes with 500).
 *
 * undici is imported, and the pool made, on the first call (`lazy.ts`): a worker start creates
 * its plugins' clients but sends nothing, so it need not load the HTTP stack.
 */

const loadUndici = lazyImport(() => import('undici'));

/** A complete answer, whatever its status. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call; its `reason` is rethrown unchanged. */
  readonly signal?: AbortSignal | undefined;
}

/** An HTTPS client bound to one endpoint. */
export interface HttpClient {
  /** The endpoint URL (origin and base path). */
  readonly endpoint: URL;
  /** `host[:port]` of the endpoint, as error messages name it. */
  readonly host: string;
  /** POSTs `body` to `path` (relative to the endpoint's base path) and reads the whole answer. */
  post(path: string, body: string, headers: Record<string, string>, options?: CallOptions): Promise<HttpAnswer>;
  /** The same for a full URL, which must be on the endpoint's origin (a SOAP client's location). */
  postUrl(url: URL, body: string, headers: Record<string, string>, options?: CallOptions): Promise<HttpAnswer>;
  /** Closes the pool's connections once the calls in flight have finished. */
  close(): Promise<void>;
}

/** Creates the client for `options.endpoint` (options already validated); its pool is made on the first call. */
export function createHttpClient(options: EndpointOptions): HttpClient {
  const endpoint = new URL(options.endpoint);
  const connect = { ...tlsConnectOptions(options.tls), timeout: Math.min(options.connectTimeoutMs, options.timeoutMs) };
  let pool: Pool | undefined;
  let closed = false;
  const usePool = async (): Promise<Pool> => {
    if (pool !== undefined) return pool;
    const { Pool } = await loadUndici();
    pool ??= new Pool(endpoint.origin, {
      connect,
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // Our own deadline covers the whole call; undici's idle timers only back it up.
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    // A call after close() meets a closed pool (not sent), as it would had the pool been made at once.
    if (closed) void pool.close();
    return pool;
  };
  return {
    endpoint,
    host: endpoint.host,
    post: (path, body, headers, callOptions = {}) => post(usePool, options, resolveUrl(endpoint, path), body, headers, callOptions.signal),
    postUrl: async (url, body, headers, callOptions = {}) => {
      // Our pool, TLS settings and credentials belong to this origin only.
      if (url.origin !== endpoint.origin) throw new TypeError(`a call URL must be on the endpoint's origin ${endpoint.origin}`);
      return post(usePool, options, url, body, headers, callOptions.signal);
    },
    close: async () => {
      closed = true;
      await pool?.close();
    },
  };
}

/** `path` under the endpoint's base path; refuses anything that would leave the endpoint. */
export function resolveUrl(endpoint: URL, path: string): URL {
  if (!path.startsWith('/') || path.startsWith('//') || /[?#\s]/.test(path)) {
    throw new TypeError(`a call path starts with a single "/" and has no query, fragment or spaces`);
  }
  const base = endpoint.pathname.replace(/\/+$/, '');
  return new URL(`${endpoint.origin}${base}${path === '/' && base !== '' ? '' : path}`);
}

async function post(
  usePool: () => Promise<Pool>,
  options: EndpointOptions,
  url: URL,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<HttpAnswer> {
  signal?.throwIfAborted();
  const pool = await usePool();
  // The first call waited for undici: the caller may have given up meanwhile.
  signal?.throwIfAborted();
  const payload = Buffer.from(body, 'utf8');
  recordTranscript(options.transcript, { direction: 'request', endpoint: url.href, body });
  const answer = await new Promise<HttpAnswer>((resolve, reject) => {
    const exchange = new Exchange(url.host, options, signal, resolve, reject);
    const request: Dispatcher.DispatchOptions = {
      path: `${url.pathname}`,
      method: 'POST',
      headers: { ...options.headers, ...headers, 'content-length': String(payload.length) },
      body: payload,
    };
    try {
      pool.dispatch(request, exchange);
    } catch (error) {
      exchange.onResponseError(undefined, error as Error);
    }
  });
  recordTranscript(options.transcript, { direction: 'response', endpoint: url.href, body: answer.body.toString('utf8') });
  return answer;
}

/**
 * One call's dispatch handler: tracks the phase, collects the body within the size limit and
 * settles the call exactly once (answer, classified failure, or the caller's abort reason).
 */
class Exchange implements Dispatcher.DispatchHandler {
  #phase: CallPhase = 'connecting';
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #size = 0;
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort: () => void;

  constructor(
    readonly host: string,
    readonly options: EndpointOptions,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (answer: HttpAnswer) => void,
    readonly reject: (error: unknown) => void,
  ) {
    this.#timer = setTimeout(() => this.#stop('deadline'), options.timeoutMs);
    this.#onAbort = () => this.#cancel(signal?.reason);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Called right before undici writes the request. A call already settled (deadline, abort)
    // is stopped here, so that "not sent" stays true: nothing is written after an abort here.
    if (this.#settled) {
      controller.abort(new Error('call already settled'));
      return;
    }
    this.#controller = controller;
    this.#phase = 'sent';
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.#settled || status < 200) return;
    this.#phase = 'receiving';
    this.#status = status;
    this.#headers = headers;
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > this.options.maxResponseBytes) this.#stop('too-large');
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#size += chunk.length;
    if (this.#size > this.options.maxResponseBytes) {
      this.#stop('too-large');
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.#settle()) return;
    this.resolve({ status: this.#status, headers: this.#headers, body: Buffer.concat(this.#chunks, this.#size) });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (!this.#settle()) return;
    this.reject(classifyFailure(this.host, this.#phase, error));
  }

  /** Our own code stops the call: settles it as a classified failure and aborts the request. */
  #stop(reason: LocalStop): void {
    if (!this.#settle()) return;
    const failure: TransportError = classifyFailure(this.host, this.#phase, undefined, reason);
    this.reject(failure);
    this.#controller?.abort(failure);
  }

  /** The caller aborted: its reason is the answer, unchanged. */
  #cancel(reason: unknown): void {
    if (!this.#settle()) return;
    this.reject(reason);
    this.#controller?.abort(reason instanceof Error ? reason : new Error('aborted by the caller'));
  }

  /** Marks the call settled and releases its timer and listener; false if it already was. */
  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.signal?.removeEventListener('abort', this.#onAbort);
    return true;
  }
}

/** The media type of an answer (`text/xml`), lower-case without parameters; `''` if none. */
export function mediaType(headers: IncomingHttpHeaders): string {
  const value = headers['content-type'];
  const text = Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
  return (text.split(';')[0] ?? '').trim().toLowerCase();
}

/** The answer's body as UTF-8 text, or `PROVIDER_BAD_RESPONSE` if it is not valid UTF-8. */
export function answerText(answer: HttpAnswer, host: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(answer.body);
  } catch {
    throw new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} answered with a body that is not UTF-8 text`, { status: answer.status });
  }
}
