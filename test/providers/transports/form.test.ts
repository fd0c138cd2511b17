/**
 * The name-value form transport (PayPal NVP style): request encoding, answer parsing, and the
 * answers that are not name-value pairs; plus connection reuse through the endpoint's pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFormTransport, type FormTransport } from '../../../src/providers/transports/index.ts';
import type { TestPki } from '../../helpers/pki.ts';
import { BODY_MARKER, expectTransportError, startServer, TEST_PAN, testPki, type Route, type TestServer } from './support.ts';

const answer = (status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): Route => (_request, response) => {
  response.writeHead(status, { 'content-type': type, ...extra }).end(body);
};

const routes: Record<string, Route> = {
  '/nvp': (_request, response, body) => {
    const method = new URLSearchParams(body).get('METHOD');
    const reply = method === 'Fail'
      ? 'ACK=Failure&L_ERRORCODE0=10527&L_SHORTMESSAGE0=Invalid%20Data&L_LONGMESSAGE0=This+transaction+cannot+be+processed.'
      : 'TIMESTAMP=2024%2d01%2d01T00%3a00%3a00Z&ACK=Success&TRANSACTIONID=9XY&AMT=10%2e00&__proto__=kept\r\n';
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(reply);
  },
  '/json': answer(200, `{"ACK":"Success","X":"${BODY_MARKER}"}`, 'application/json'),
  '/json-as-text': answer(200, `{"ACK":"Success","X":"${BODY_MARKER}"}`),
  '/markup-as-text': answer(200, `<html><body>${BODY_MARKER}=1</body></html>`),
  '/prose': answer(200, `Service unavailable ${BODY_MARKER}`),
  '/empty': answer(200, ''),
  '/twice': answer(200, 'ACK=Success&ACK=Failure'),
  '/not-found': answer(404, `no such method ${BODY_MARKER}`),
  '/redirect': answer(302, '', 'text/plain', { location: 'https://elsewhere.example/' }),
};

let pki: TestPki;
let server: TestServer;
let form: FormTransport;
beforeAll(async () => {
  pki = await testPki();
  server = await startServer(pki, routes);
  form = createFormTransport({ endpoint: server.origin, tls: { ca: pki.ca.certPem } });
});
afterAll(async () => {
  await form.close();
  await server.close();
});

describe('form transport', () => {
  it('sends the fields urlencoded and parses the name-value answer', async () => {
    server.seen.length = 0;
    const fields = { METHOD: 'DoDirectPayment', ACCT: TEST_PAN, NOTE: 'a&b=c d/é', EMPTY: '' };
    const { status, fields: answer, raw } = await form.post('/nvp', fields);
    expect(server.seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(server.seen[0]?.body))).toEqual(fields);
    expect(status).toBe(200);
    expect(answer).toEqual({ TIMESTAMP: '2024-01-01T00:00:00Z', ACK: 'Success', TRANSACTIONID: '9XY', AMT: '10.00', ['__proto__']: 'kept' });
    expect(Object.getPrototypeOf(answer)).toBe(Object.prototype);
    expect(raw).toContain('ACK=Success');
  });

  it('returns a provider failure (ACK=Failure) as an answer for the plugin to read', async () => {
    const { fields } = await form.post('/nvp', { METHOD: 'Fail' });
    expect(fields).toMatchObject({ ACK: 'Failure', L_ERRORCODE0: '10527', L_LONGMESSAGE0: 'This transaction cannot be processed.' });
  });

  it('reuses a kept-alive connection for the next call', async () => {
    const before = server.connections();
    await form.post('/nvp', { METHOD: 'A' });
    await form.post('/nvp', { METHOD: 'B' });
    await form.post('/nvp', { METHOD: 'C' });
    expect(server.connections() - before).toBeLessThanOrEqual(1);
  });

  it.each([
    ['/json', /application\/json, not name-value pairs/],
    ['/json-as-text', /not name-value pairs/],
    ['/markup-as-text', /markup/],
    ['/prose', /not name-value pairs/],
    ['/empty', /empty body/],
    ['/twice', /field name twice/],
  ])('refuses %s with PROVIDER_BAD_RESPONSE', async (path, message) => {
    const error = await expectTransportError(form.post(path, { ACCT: TEST_PAN }), 'PROVIDER_BAD_RESPONSE', { notSent: false, status: 200 });
    expect(error.message).toMatch(message);
  });

  it.each([['/not-found', 404], ['/redirect', 302]])('maps %s to PROVIDER_HTTP_ERROR (redirects are not followed)', async (path, status) => {
    await expectTransportError(form.post(path, { ACCT: TEST_PAN }), 'PROVIDER_HTTP_ERROR', { status });
  });

  it('refuses a field that is not a string before sending, without quoting values', async () => {
    server.seen.length = 0;
    const fields = { ACCT: TEST_PAN, AMT: 10 } as unknown as Record<string, string>;
    await expect(form.post('/nvp', fields)).rejects.toThrow(/^form field "AMT" must be a non-empty name with a string value$/);
    expect(server.seen).toEqual([]);
  });
});
