/**
 * What every transport must do the same way, run against each of them through a real HTTPS
 * server: TLS with the right and the wrong CA, client certificates, every way a provider can
 * fail (refused, silent, hanging up, 500, HTML, truncated, oversized), the caller's abort, and no
 * card number or body in any error or scrubbed transcript.
 */
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFormTransport, createSoapTransport, createXmlTransport, scrubTranscript } from '../../../src/providers/transports/index.ts';
import { TransportError } from '../../../src/providers/transport-errors.ts';
import type { TranscriptHook } from '../../../src/providers/transports/transcript.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { nextTurn, track, waitUntil, type Tracked } from '../../helpers/timing.ts';
import { makeForeignPki, type TestPki } from '../../helpers/pki.ts';
import {
  closedPort, expectNoSecrets, expectTransportError, misbehavingRoutes, recordingTranscript, startServer, TEST_PAN, testPki,
  type Route, type TestServer,
} from './support.ts';

const WSDL = fileURLToPath(new URL('./fixtures/card.wsdl', import.meta.url));
const CVV = 'SECRET-CVV-987';

/** Per-call settings a test varies. */
interface CallSettings {
  tls?: Record<string, unknown>;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  transcript?: TranscriptHook;
  signal?: AbortSignal;
  /** Sees the transport's own promise, which settles before the transport is closed. */
  observe?: (call: Promise<unknown>) => void;
}

/** One transport as the common tests drive it. */
interface Subject {
  readonly name: string;
  /** The transport's successful answer, served at `/ok`. */
  readonly ok: Route;
  /** Calls `path` on `origin` with a request carrying TEST_PAN and a CVV; closes the transport after. */
  call(origin: string, path: string, settings: CallSettings): Promise<unknown>;
  /** Checks a successful answer. */
  expectOk(answer: unknown): void;
}

async function closing<T extends { close(): Promise<void> }, R>(
  transport: T,
  use: (transport: T) => Promise<R>,
  observe?: (call: Promise<unknown>) => void,
): Promise<R> {
  try {
    const call = use(transport);
    observe?.(call);
    return await call;
  } finally {
    await transport.close();
  }
}

const options = (endpoint: string, settings: CallSettings) => ({
  endpoint,
  tls: settings.tls,
  timeoutMs: settings.timeoutMs ?? 5_000,
  connectTimeoutMs: settings.connectTimeoutMs,
  transcript: settings.transcript,
});

const subjects: Subject[] = [
  {
    name: 'form',
    ok: (_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('ACK=Success&TRANSACTIONID=T-1'),
    call: (origin, path, settings) =>
      closing(createFormTransport(options(origin, settings)), (form) =>
        form.post(path, { METHOD: 'DoDirectPayment', ACCT: TEST_PAN, CVV2: CVV, AMT: '10.00' }, { signal: settings.signal }), settings.observe),
    expectOk: (answer) => expect(answer).toMatchObject({ status: 200, fields: { ACK: 'Success', TRANSACTIONID: 'T-1' } }),
  },
  {
    name: 'xml',
    ok: (_request, response) =>
      response.writeHead(200, { 'content-type': 'application/xml' }).end('<authorizeResponse><approved>true</approved><id>T-1</id></authorizeResponse>'),
    call: (origin, path, settings) =>
      closing(createXmlTransport(options(origin, settings)), (xml) =>
        xml.post(path, { authorize: { pan: TEST_PAN, cvv: CVV, amount: '1000' } }, { signal: settings.signal }), settings.observe),
    expectOk: (answer) => expect(answer).toMatchObject({ status: 200, document: { authorizeResponse: { approved: 'true', id: 'T-1' } } }),
  },
  {
    name: 'soap',
    ok: (_request, response) =>
      response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(
        '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
          '<tns:AuthorizeResponse xmlns:tns="urn:paygate:test:card"><tns:approved>true</tns:approved><tns:transactionId>T-1</tns:transactionId></tns:AuthorizeResponse>' +
          '</soap:Body></soap:Envelope>',
      ),
    // The SOAP location is the endpoint itself, so the route is part of it.
    call: (origin, path, settings) =>
      closing(createSoapTransport({ ...options(`${origin}${path}`, settings), wsdlPath: WSDL }), (soap) =>
        soap.call('Authorize', { pan: TEST_PAN, cvv: CVV, amount: '10.00', currency: 'EUR' }, { signal: settings.signal }), settings.observe),
    expectOk: (answer) => expect(answer).toMatchObject({ result: { approved: 'true', transactionId: 'T-1' } }),
  },
];

let pki: TestPki;
let wrongCa: string;
const servers: TestServer[] = [];

beforeAll(async () => {
  pki = await testPki();
  wrongCa = (await makeForeignPki()).ca.certPem;
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

describe.each(subjects)('$name transport', (subject) => {
  let server: TestServer;
  const trusted = () => ({ ca: pki.ca.certPem });

  beforeAll(async () => {
    server = await startServer(pki, { ...misbehavingRoutes(), '/ok': subject.ok });
    servers.push(server);
  });
  afterEach(() => {
    vi.useRealTimers();
    server.seen.length = 0;
  });

  /**
   * Fakes setTimeout/clearTimeout, which the call's deadline uses, so that only the test decides
   * when it passes. undici keeps one shared tick timer for its coarse timers, created on first
   * use: a call on the real clock first makes sure that tick is real, so undici's timers still
   * run after the fake clock is removed.
   */
  async function useFakeDeadlineClock(): Promise<void> {
    subject.expectOk(await subject.call(server.origin, '/ok', { tls: trusted() }));
    server.seen.length = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  }

  it('answers through TLS verified against the configured CA, and the transcript scrubs clean', async () => {
    const transcript = recordingTranscript();
    const answer = await subject.call(server.origin, '/ok', { tls: trusted(), transcript: transcript.hook });
    subject.expectOk(answer);
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]?.body).toContain(TEST_PAN); // really sent, in clear, over TLS
    expect(transcript.entries.map((entry) => entry.direction)).toEqual(['request', 'response']);
    expect(transcript.entries[0]?.endpoint).toBe(`${server.origin}/ok`);
    expect(transcript.entries[0]?.body).toContain(TEST_PAN);
    const scrubbed = transcript.entries.map((entry) => scrubTranscript(entry.body)).join('\n');
    expect(findPans(scrubbed, { thorough: true })).toEqual([]);
    expect(scrubbed).not.toContain(CVV);
  });

  it('refuses a server whose certificate does not chain to the configured CA: PROVIDER_UNAVAILABLE, not sent', async () => {
    const error = await expectTransportError(subject.call(server.origin, '/ok', { tls: { ca: wrongCa } }), 'PROVIDER_UNAVAILABLE', { notSent: true });
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    expect(error.message).toMatch(/certificate did not verify/);
    expect(server.seen).toEqual([]);
  });

  it('refuses a certificate for another name: PROVIDER_UNAVAILABLE, not sent', async () => {
    await expectTransportError(subject.call(server.origin, '/ok', { tls: { ca: pki.ca.certPem, servername: 'provider.example' } }), 'PROVIDER_UNAVAILABLE', { notSent: true });
    expect(server.seen).toEqual([]);
  });

  it('maps connection refused to PROVIDER_UNAVAILABLE, not sent', async () => {
    const port = await closedPort();
    const error = await expectTransportError(subject.call(`https://127.0.0.1:${port}`, '/ok', { tls: trusted() }), 'PROVIDER_UNAVAILABLE', { notSent: true });
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('connection refused');
  });

  it('maps a server that accepts TCP but never completes TLS to PROVIDER_UNAVAILABLE, not sent', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const origin = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      await expectTransportError(subject.call(origin, '/ok', { tls: trusted(), connectTimeoutMs: 200 }), 'PROVIDER_UNAVAILABLE', { notSent: true });
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('maps a server that takes the request and never answers to PROVIDER_TIMEOUT at the timeout, sent', async () => {
    await useFakeDeadlineClock();
    let progress: Tracked | undefined;
    const call = subject.call(server.origin, '/hang', { tls: trusted(), timeoutMs: 300, observe: (inner) => (progress = track(inner)) });
    await waitUntil(() => server.seen.length === 1, 'the server to take the request');
    await vi.advanceTimersByTimeAsync(299);
    await nextTurn();
    expect(progress?.settled()).toBe(false); // not before the timeout
    await vi.advanceTimersByTimeAsync(1);
    await nextTurn();
    expect(progress?.settled()).toBe(true); // at it, without waiting for anything else
    await expectTransportError(call, 'PROVIDER_TIMEOUT', { notSent: false });
    expect(server.seen).toHaveLength(1);
  });

  it('maps a hang-up after the request to PROVIDER_TIMEOUT, sent', async () => {
    await expectTransportError(subject.call(server.origin, '/hangup', { tls: trusted() }), 'PROVIDER_TIMEOUT', { notSent: false });
  });

  it('maps a hang-up in the middle of the body to PROVIDER_BAD_RESPONSE, sent', async () => {
    await expectTransportError(subject.call(server.origin, '/hangup-mid-body', { tls: trusted() }), 'PROVIDER_BAD_RESPONSE', { notSent: false });
  });

  it('maps a body shorter than its Content-Length to PROVIDER_BAD_RESPONSE', async () => {
    const error = await expectTransportError(subject.call(server.origin, '/truncated', { tls: trusted() }), 'PROVIDER_BAD_RESPONSE', { notSent: false });
    expect(error.message).toMatch(/truncated/);
  });

  it('maps HTTP 500 to PROVIDER_HTTP_ERROR with the status', async () => {
    await expectTransportError(subject.call(server.origin, '/status-500', { tls: trusted() }), 'PROVIDER_HTTP_ERROR', { status: 500, notSent: false });
  });

  it('maps an HTML page to PROVIDER_BAD_RESPONSE', async () => {
    await expectTransportError(subject.call(server.origin, '/html', { tls: trusted() }), 'PROVIDER_BAD_RESPONSE', { notSent: false });
  });

  it('refuses an answer over the size limit while reading it: PROVIDER_BAD_RESPONSE', async () => {
    const error = await expectTransportError(subject.call(server.origin, '/oversized', { tls: trusted() }), 'PROVIDER_BAD_RESPONSE');
    expect(error.message).toMatch(/size limit/);
  });

  it('stops an in-flight call when the caller aborts, with the signal reason unchanged', async () => {
    // The deadline cannot pass: only the abort can end the call. The transport is closed after
    // the call, which waits for the request to stop, so a call the abort did not stop hangs here.
    await useFakeDeadlineClock();
    const controller = new AbortController();
    const reason = new Error('worker stopping');
    const call = subject.call(server.origin, '/hang', { tls: trusted(), signal: controller.signal });
    await waitUntil(() => server.seen.length === 1, 'the request to be in flight');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  it('does not send anything when the signal is already aborted', async () => {
    const reason = new Error('expired');
    await expect(subject.call(server.origin, '/ok', { tls: trusted(), signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.seen).toEqual([]);
  });

  it('presents the client certificate when configured, and none otherwise', async () => {
    subject.expectOk(await subject.call(server.origin, '/ok', { tls: { ...trusted(), cert: pki.client.certPem, key: pki.client.keyPem } }));
    expect(server.seen[0]).toMatchObject({ clientCn: 'paygate dev client', clientAuthorized: true });
    subject.expectOk(await subject.call(server.origin, '/ok', { tls: trusted() }));
    expect(server.seen[1]?.clientCn).toBeUndefined();
  });

  it('gets through to a server that requires a client certificate only with one; without, a typed error', async () => {
    const strict = await startServer(pki, { '/ok': subject.ok }, { requireClientCert: true });
    servers.push(strict);
    subject.expectOk(await subject.call(strict.origin, '/ok', { tls: { ...trusted(), cert: pki.client.certPem, key: pki.client.keyPem } }));
    const error = await subject.call(strict.origin, '/ok', { tls: trusted() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    // TLS 1.3 refuses a missing client certificate after the client's side of the handshake:
    // the request may already be written, so it is conservatively not "not sent".
    expect(['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT']).toContain((error as TransportError).code);
    expectNoSecrets(error as TransportError);
    expect(strict.seen).toHaveLength(1);
  });
});
