/**
 * Shared fixture of the transport tests: a real HTTPS server on 127.0.0.1 with the dev TLS
 * certificate, whose routes misbehave in every way a provider can, and helpers to check the
 * typed errors (and that no card number or body ever shows in them).
 */
import { once } from 'node:events';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { expect } from 'vitest';
import { TransportError, type TransportErrorCode } from '../../../src/providers/transport-errors.ts';
import type { TranscriptEntry } from '../../../src/providers/transports/transcript.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { makeTestPki, type TestPki } from '../../helpers/pki.ts';

/** The card number every test request carries. */
export const TEST_PAN = '4111111111111111';
/** A marker that every misbehaving answer body carries; it must never appear in an error. */
export const BODY_MARKER = 'BODY-MARKER-7f3a';

/** The file's PKI (EC keys: quick to generate). */
export const testPki = (): Promise<TestPki> => makeTestPki({ algo: 'ec' });

export type Route = (request: IncomingMessage, response: ServerResponse, body: string) => void;

/** What the server saw of one request. */
export interface SeenRequest {
  readonly url: string;
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
  /** CN of the client certificate presented, if any, and whether it chained to our CA. */
  readonly clientCn: string | undefined;
  readonly clientAuthorized: boolean;
}

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  readonly origin: string;
  readonly seen: SeenRequest[];
  /** TLS connections accepted so far (keep-alive reuses them). */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Starts an HTTPS server on 127.0.0.1 with the dev TLS certificate. It asks for a client
 * certificate but accepts connections without one unless `requireClientCert`.
 */
export async function startServer(pki: TestPki, routes: Record<string, Route>, options: { requireClientCert?: boolean } = {}): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createHttpsServer({
    cert: pki.tls.certPem,
    key: pki.tls.keyPem,
    ca: pki.ca.certPem,
    requestCert: true,
    rejectUnauthorized: options.requireClientCert ?? false,
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    connections++;
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const socket = request.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const cn = peer && 'subject' in peer && peer.subject ? peer.subject.CN : undefined;
      seen.push({ url: request.url ?? '', body, headers: request.headers, clientCn: typeof cn === 'string' ? cn : undefined, clientAuthorized: socket.authorized });
      const route = routes[(request.url ?? '').split('?')[0] ?? ''];
      if (route) route(request, response, body);
      else if (!response.headersSent && !response.writableEnded && !isSoapPath(request.url)) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('no route');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    origin: `https://127.0.0.1:${port}`,
    seen,
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

/** Paths a soap server (soap.listen) answers by itself. */
const soapPaths = new Set<string>();
export function registerSoapPath(path: string): void {
  soapPaths.add(path);
}
function isSoapPath(url: string | undefined): boolean {
  return soapPaths.has((url ?? '').split('?')[0] ?? '');
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Routes that misbehave the same way for every transport (`ok` is the transport's own). */
export function misbehavingRoutes(): Record<string, Route> {
  return {
    '/hang': () => undefined,
    '/hangup': (request) => request.socket.destroy(),
    '/hangup-mid-body': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/xml', 'content-length': '4000' });
      // Hung up once the head and the first bytes are on the wire (written), not after a pause.
      response.write(`<a>${BODY_MARKER} ${TEST_PAN}`, () => response.socket?.destroy());
    },
    '/truncated': (_request, response) => {
      // A raw answer that promises 500 bytes and ends cleanly after a few.
      const socket = response.socket;
      socket?.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 500\r\n\r\nACK=Success&X=${BODY_MARKER}`);
      socket?.end();
    },
    '/status-500': (_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`internal error ${BODY_MARKER} ${TEST_PAN}`);
    },
    '/html': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><h1>Maintenance</h1><p>${BODY_MARKER} ${TEST_PAN}</p></body></html>`);
    },
    '/oversized': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = `X=${'A'.repeat(64 * 1024)}&`;
      for (let i = 0; i < 40; i++) response.write(chunk); // 2.5 MiB, chunked: no Content-Length
      response.end(`Y=${BODY_MARKER}`);
    },
  };
}

/**
 * Awaits `promise`, expects a TransportError with `code` (and `notSent` / `status`), checks that
 * its message and cause name no card number and no body, and returns it.
 */
export async function expectTransportError(
  promise: Promise<unknown>,
  code: TransportErrorCode,
  expected: { notSent?: boolean; status?: number } = {},
): Promise<TransportError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected ${code}, the call resolved with ${JSON.stringify(value)?.slice(0, 200)}`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TransportError);
  const failure = error as TransportError;
  expect(failure.code).toBe(code);
  if (expected.notSent !== undefined) expect(failure.notSent).toBe(expected.notSent);
  if (expected.status !== undefined) expect(failure.status).toBe(expected.status);
  expectNoSecrets(failure);
  return failure;
}

/** No card number, body marker or CVV value in the error's message, stack or cause. */
export function expectNoSecrets(error: Error): void {
  const cause = error.cause instanceof Error ? `${error.cause.message} ${error.cause.stack ?? ''}` : String(error.cause ?? '');
  for (const text of [error.message, error.stack ?? '', cause]) {
    expect(findPans(text, { thorough: true })).toEqual([]);
    expect(text).not.toContain(BODY_MARKER);
    expect(text).not.toContain('SECRET-CVV-987');
  }
}

/** A transcript hook that keeps the entries. */
export function recordingTranscript(): { entries: TranscriptEntry[]; hook: (entry: TranscriptEntry) => void } {
  const entries: TranscriptEntry[] = [];
  return { entries, hook: (entry) => entries.push(entry) };
}
