/**
 * The request listener in front of `soap`'s: reads and counts each request, applies the knobs
 * and hands the request to `soap` (whose answer it may swallow, replace or never send).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { OPERATIONS, type Operation } from './codes.ts';
import type { CardSandboxKnobs } from './knobs.ts';
import { malformedAnswer, type RawAnswer } from './malformed.ts';

/** What the gate needs from the sandbox. */
export interface GateOptions {
  /** The SOAP endpoint's path. */
  path: string;
  knobs: CardSandboxKnobs;
  /** Requests received per operation (counted before any knob acts). */
  calls: Record<Operation, number>;
  maxBodyBytes: number;
  /** Answers held open by the `hang` knob (ended by `close()`). */
  held: Set<ServerResponse>;
  /** `soap`'s own request listener. */
  soap: RequestListener;
  log: (line: string) => void;
}

const OPERATION_ELEMENT = new RegExp(`<(?:[\\w.-]+:)?(${OPERATIONS.join('|')})Request\\b`);

/** The operation a SOAP body calls, from its first `…Request` element. */
export function operationOf(body: string): Operation | undefined {
  return OPERATION_ELEMENT.exec(body)?.[1] as Operation | undefined;
}

/** The whole body, or `undefined` once it passes `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
  res.end(`${text}\n`);
}

/** Makes `res` keep `soap`'s answer for `done` instead of sending it. */
function interceptAnswer(res: ServerResponse, done: (answer: RawAnswer) => void): void {
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown) => {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  res.write = ((chunk: unknown) => (keep(chunk), true)) as never;
  res.end = ((chunk?: unknown) => {
    keep(chunk);
    Reflect.deleteProperty(res, 'write');
    Reflect.deleteProperty(res, 'end');
    const type = res.getHeader('content-type');
    done({ status: res.statusCode, contentType: typeof type === 'string' ? type : 'text/xml', body: Buffer.concat(chunks).toString('utf8') });
    return res;
  }) as never;
}

/** What to do with an operation's answer under `knobs`; `undefined`: send it. */
function afterCharge(knobs: CardSandboxKnobs, req: IncomingMessage, res: ServerResponse, options: GateOptions) {
  if (knobs.hangUp === 'after-charge') return () => req.socket.destroy();
  if (knobs.hang === 'after-charge') {
    return () => {
      options.held.add(res);
      res.once('close', () => options.held.delete(res));
    };
  }
  const variant = knobs.malformed;
  if (variant === null) return undefined;
  return (real: RawAnswer) => {
    const answer = malformedAnswer(variant, real);
    res.removeHeader('content-length');
    res.writeHead(answer.status, { 'Content-Type': answer.contentType, 'Content-Length': Buffer.byteLength(answer.body) });
    res.end(answer.body);
  };
}

/** The gate: a request listener for the sandbox's HTTPS server. */
export function createGate(options: GateOptions): RequestListener {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = new URL(req.url ?? '/', 'https://sandbox').pathname.replace(/\/$/, '');
    const soapCall = req.method === 'POST' && pathname === options.path.replace(/\/$/, '');
    let body: Buffer | undefined;
    let operation: Operation | undefined;
    if (soapCall) {
      body = await readBody(req, options.maxBodyBytes);
      if (body === undefined) return plain(res, 413, 'request too large');
      operation = operationOf(body.toString('utf8'));
      if (operation) options.calls[operation] += 1;
    }
    const knobs = { ...options.knobs };
    if (knobs.latencyMs > 0) await delay(knobs.latencyMs);
    if (knobs.failStatus !== null) {
      options.log(`knob failStatus: ${req.method} ${pathname} answered ${knobs.failStatus}`);
      return plain(res, knobs.failStatus, STATUS_CODES[knobs.failStatus] ?? 'error');
    }
    if (!soapCall || body === undefined) return options.soap(req, res);
    if (body.length === 0) return plain(res, 400, 'empty SOAP request');
    if (knobs.hangUp === 'before-charge') {
      options.log(`knob hangUp before-charge: ${operation ?? 'request'} dropped unanswered`);
      req.socket.destroy();
      return;
    }
    const instead = afterCharge(knobs, req, res, options);
    if (instead) {
      interceptAnswer(res, (answer) => {
        options.log(`knob after-charge (${describe(knobs)}): ${operation ?? 'request'} answer withheld`);
        instead(answer);
      });
    }
    // soap reads a body already consumed from `req.body` (its express-middleware path).
    (req as IncomingMessage & { body?: Buffer }).body = body;
    options.soap(req, res);
  };
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log(`gate error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) plain(res, 500, 'sandbox error');
      else res.destroy();
    });
  };
}

function describe(knobs: CardSandboxKnobs): string {
  if (knobs.hangUp === 'after-charge') return 'hangUp';
  if (knobs.hang === 'after-charge') return 'hang';
  return `malformed ${knobs.malformed ?? ''}`;
}
