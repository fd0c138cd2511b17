import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorPage } from './broken.ts';
import type { SandboxKnobs } from './knobs.ts';

/**
 * One HTTP exchange with a sandbox: the request checks (path, POST, content type, size), the
 * knobs in their documented order, the call itself through {@link Endpoint}, and the log line.
 */

/** The largest request body accepted (413 beyond). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A processed call: its answer and a one-line summary holding no card number, CVV or credential. */
export interface ProcessedCall {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly summary: string;
}

/** What the exchange needs from the API behind it. */
export interface Endpoint {
  readonly path: string;
  /** Whether a request's content type is acceptable. */
  acceptsContentType(contentType: string | undefined): boolean;
  /** The operation's name for `calls` (e.g. PayPal's METHOD), from the raw body. */
  operationOf(body: string): string;
  /** Processes the call (records any movement) and answers it. */
  process(body: string, request: IncomingMessage): ProcessedCall;
}

/** The counters behind `calls`. */
export interface CallCounter {
  total: number;
  byOperation: Record<string, number>;
}

/** Sends the broken answer of `kind` in place of `answer` (the `malformed` knob). */
export type SendMalformed<Malformed extends string> = (res: ServerResponse, kind: Malformed, answer: string) => void;

/** Everything an exchange reads or writes. */
export interface ExchangeContext<Malformed extends string> {
  readonly endpoint: Endpoint;
  readonly knobs: SandboxKnobs<Malformed>;
  readonly calls: CallCounter;
  readonly sendMalformed: SendMalformed<Malformed>;
  log(line: string): void;
}

function plain(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body as text, or `undefined` when it exceeds {@link MAX_BODY_BYTES}. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Handles one request; never throws (an unexpected fault is a 500 and a log line). */
export async function exchange<Malformed extends string>(req: IncomingMessage, res: ServerResponse, context: ExchangeContext<Malformed>): Promise<void> {
  try {
    await serve(req, res, context);
  } catch (error) {
    context.log(`${req.method ?? '?'} ${context.endpoint.path} fault: ${error instanceof Error ? error.name : 'unknown'}`);
    if (!res.headersSent && !res.destroyed) plain(res, 500, 'internal sandbox fault\n');
  }
}

async function serve<Malformed extends string>(req: IncomingMessage, res: ServerResponse, context: ExchangeContext<Malformed>): Promise<void> {
  const { endpoint, knobs, calls } = context;
  calls.total++;
  const path = (req.url ?? '').split('?')[0];
  if (path !== endpoint.path) return plain(res, 404, 'not found\n');
  if (req.method !== 'POST') return plain(res, 405, 'method not allowed\n');
  if (!endpoint.acceptsContentType(req.headers['content-type'])) return plain(res, 415, 'unsupported content type\n');
  const body = await readBody(req);
  if (body === undefined) return plain(res, 413, 'request too large\n');
  const operation = endpoint.operationOf(body);
  calls.byOperation[operation] = (calls.byOperation[operation] ?? 0) + 1;
  const say = (what: string): void => context.log(`POST ${endpoint.path} ${operation} ${what}`);
  if (knobs.latencyMs > 0) await sleep(knobs.latencyMs);
  if (knobs.failStatus !== null) {
    say(`→ HTTP ${knobs.failStatus} (failStatus knob, not processed)`);
    return plain(res, knobs.failStatus, errorPage(knobs.failStatus), 'text/html; charset=utf-8');
  }
  if (knobs.hangUp === 'before-charge' || knobs.hang === 'before-charge') {
    say(`→ ${knobs.hangUp === 'before-charge' ? 'hang-up' : 'hang'} before processing (knob)`);
    if (knobs.hangUp === 'before-charge') req.socket.destroy();
    return;
  }
  const processed = endpoint.process(body, req);
  if (knobs.hangUp === 'after-charge' || knobs.hang === 'after-charge') {
    say(`${processed.summary}, then ${knobs.hangUp === 'after-charge' ? 'hang-up' : 'hang'} (knob)`);
    if (knobs.hangUp === 'after-charge') req.socket.destroy();
    return;
  }
  if (knobs.malformed !== null) {
    say(`${processed.summary}, answered ${knobs.malformed} (malformed knob)`);
    return context.sendMalformed(res, knobs.malformed, processed.body);
  }
  say(processed.summary);
  res.writeHead(processed.status, { 'content-type': processed.contentType, 'content-length': Buffer.byteLength(processed.body) });
  res.end(processed.body);
}
