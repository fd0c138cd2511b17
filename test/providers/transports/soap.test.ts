/**
 * The SOAP transport against a real `soap` server (soap.listen on an HTTPS server with the dev
 * certificate) and hand-written answers for what a real server would not send: faults are
 * answers, malformed faults and unsafe XML are typed errors, WS-Security reaches the server.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/providers/index.ts';
import { createSoapTransport, scrubTranscript, type SoapTransportOptions } from '../../../src/providers/transports/index.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import type { TestPki } from '../../helpers/pki.ts';
import { expectTransportError, recordingTranscript, startServer, TEST_PAN, testPki, type Route, type TestServer } from './support.ts';
import { billionLaughs } from './xml-samples.ts';

const WSDL_URL = new URL('./fixtures/card.wsdl', import.meta.url);
const CVV = 'SECRET-CVV-987';
const PASSWORD = 'pa$$w0rd&<7>';
const ENVELOPE_OPEN = '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>';
const ENVELOPE_CLOSE = '</soap:Body></soap:Envelope>';

const xmlAnswer = (status: number, body: string, type = 'text/xml; charset=utf-8'): Route => (_request, response) => {
  response.writeHead(status, { 'content-type': type }).end(body);
};

/** Answers a real server would not give (or not easily): faults of every shape, unsafe XML. */
const handWritten: Record<string, Route> = {
  '/fault-no-code': xmlAnswer(500, `${ENVELOPE_OPEN}<soap:Fault><faultstring>declined</faultstring></soap:Fault>${ENVELOPE_CLOSE}`),
  '/fault-text-only': xmlAnswer(500, `${ENVELOPE_OPEN}<soap:Fault>declined</soap:Fault>${ENVELOPE_CLOSE}`),
  '/fault-twice': xmlAnswer(500, `${ENVELOPE_OPEN}<soap:Fault><faultcode>a</faultcode><faultstring>b</faultstring></soap:Fault><soap:Fault><faultcode>c</faultcode><faultstring>d</faultstring></soap:Fault>${ENVELOPE_CLOSE}`),
  '/fault-unclosed': xmlAnswer(500, `${ENVELOPE_OPEN}<soap:Fault><faultcode>soap:Server</faultcode><faultstring>oops</soap:Fault>${ENVELOPE_CLOSE}`),
  '/fault-12': xmlAnswer(
    500,
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault>' +
      '<env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>m:CardDeclined</env:Value></env:Subcode></env:Code>' +
      '<env:Reason><env:Text xml:lang="en">insufficient funds</env:Text></env:Reason><env:Detail><m:code xmlns:m="urn:m">51</m:code></env:Detail>' +
      '</env:Fault></env:Body></env:Envelope>',
    'application/soap+xml',
  ),
  '/fault-200': xmlAnswer(200, `${ENVELOPE_OPEN}<soap:Fault><faultcode>soap:Client</faultcode><faultstring>R&amp;D says no</faultstring></soap:Fault>${ENVELOPE_CLOSE}`),
  '/bomb': xmlAnswer(200, billionLaughs()),
  '/doctype': xmlAnswer(200, `<!DOCTYPE soap:Envelope SYSTEM "https://evil.example/x.dtd">${ENVELOPE_OPEN}${ENVELOPE_CLOSE}`),
  '/not-envelope': xmlAnswer(200, '<AuthorizeResponse><approved>true</approved></AuthorizeResponse>'),
  '/json': xmlAnswer(200, '{"approved":true}', 'application/json'),
  '/html-500': xmlAnswer(500, '<html><body>Internal Server Error</body></html>', 'text/html'),
};

let pki: TestPki;
let server: TestServer;
const rawRequests: string[] = [];
const soapHeaders: unknown[] = [];

beforeAll(async () => {
  pki = await testPki();
  server = await startServer(pki, handWritten);
  const service = {
    CardService: {
      CardPort: {
        Authorize(args: { amount: string }) {
          if (args.amount === '51.00') {
            throw { Fault: { faultcode: 'soap:Client', faultstring: 'card declined', detail: { reason: 'insufficient_funds' }, statusCode: 500 } };
          }
          return { approved: 'true', transactionId: `T-${args.amount}` };
        },
        Status: () => ({ state: 'settled' }),
      },
    },
  };
  // soap.listen takes over the server's request listeners once the WSDL is parsed: wait for it.
  const soapServer = await new Promise<soap.Server>((resolve, reject) => {
    const listening = soap.listen(server.server, '/card', service, readFileSync(WSDL_URL, 'utf8'), (error: unknown) =>
      error ? reject(error instanceof Error ? error : new Error('soap.listen failed')) : resolve(listening));
  });
  soapServer.on('headers', (headers: unknown) => soapHeaders.push(headers));
  soapServer.log = (type: string, data: unknown) => {
    if (type === 'received') rawRequests.push(String(data));
  };
});
afterAll(() => server.close());

function transport(path: string, extra: Partial<SoapTransportOptions> = {}) {
  return createSoapTransport({ endpoint: `${server.origin}${path}`, wsdlPath: WSDL_URL, tls: { ca: pki.ca.certPem }, timeoutMs: 5_000, ...extra });
}

async function authorize(path: string, amount = '10.00', extra: Partial<SoapTransportOptions> = {}) {
  const card = transport(path, extra);
  try {
    return await card.call('Authorize', { pan: TEST_PAN, cvv: CVV, amount, currency: 'EUR' });
  } finally {
    await card.close();
  }
}

describe('SOAP transport against a real soap server', () => {
  it('calls an operation of the WSDL at the configured endpoint and reads the result', async () => {
    const answer = await authorize('/card');
    expect(answer.fault).toBeUndefined();
    expect(answer.result).toEqual({ approved: 'true', transactionId: 'T-10.00' });
    expect(answer.raw).toContain('AuthorizeResponse');
  });

  it('lists the operations and calls the second one too', async () => {
    const card = transport('/card');
    try {
      expect(await card.ready()).toEqual(['Authorize', 'Status']);
      expect((await card.call('Status', { transactionId: 'T-1' })).result).toEqual({ state: 'settled' });
    } finally {
      await card.close();
    }
  });

  it('sends a WS-Security UsernameToken the server receives, and the scrubbed transcript hides it', async () => {
    const transcript = recordingTranscript();
    rawRequests.length = 0;
    soapHeaders.length = 0;
    await authorize('/card', '10.00', { security: { username: 'merchant-7', password: PASSWORD }, transcript: transcript.hook });
    const sent = rawRequests.at(-1) ?? '';
    expect(sent).toMatch(/<wsse:Security[^>]*>/);
    expect(sent).toContain('<wsse:Username>merchant-7</wsse:Username>');
    expect(sent).toMatch(/<wsse:Password Type="[^"]*#PasswordText">pa\$\$w0rd&amp;&lt;7&gt;<\/wsse:Password>/);
    expect(JSON.stringify(soapHeaders.at(-1))).toContain('merchant-7');
    const scrubbed = transcript.entries.map((entry) => scrubTranscript(entry.body)).join('\n');
    expect(transcript.entries[0]?.body).toContain('pa$$w0rd');
    expect(scrubbed).not.toContain('pa$$w0rd');
    expect(scrubbed).not.toContain(CVV);
    expect(findPans(scrubbed, { thorough: true })).toEqual([]);
  });

  it('sends a PasswordDigest (with nonce) instead of the password when asked', async () => {
    rawRequests.length = 0;
    await authorize('/card', '10.00', { security: { username: 'merchant-7', password: PASSWORD, passwordType: 'PasswordDigest' } });
    const sent = rawRequests.at(-1) ?? '';
    expect(sent).toMatch(/#PasswordDigest">[A-Za-z0-9+/=]+<\/wsse:Password>/);
    expect(sent).toContain('<wsse:Nonce');
    expect(sent).not.toContain('pa$$w0rd');
  });

  it('returns a well-formed fault from the server as an answer, not an exception', async () => {
    const answer = await authorize('/card', '51.00');
    expect(answer.result).toBeUndefined();
    expect(answer.fault).toEqual({ code: 'soap:Client', string: 'card declined', detail: { reason: 'insufficient_funds' }, actor: undefined, status: 500 });
  });

  it('refuses an operation the WSDL does not have, before sending anything', async () => {
    rawRequests.length = 0;
    const card = transport('/card');
    try {
      const error = await card.call('Capture', {}).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).code).toBe('PROVIDER_INVALID');
      expect(rawRequests).toEqual([]);
    } finally {
      await card.close();
    }
  });
});

describe('SOAP answers a real server would not give', () => {
  it('reads a SOAP 1.2 fault (code with subcode, reason text, detail)', async () => {
    const { fault } = await authorize('/fault-12');
    expect(fault).toEqual({ code: 'env:Sender m:CardDeclined', string: 'insufficient funds', detail: { code: '51' }, actor: undefined, status: 500 });
  });

  it('reads a fault that comes with 200, entities decoded', async () => {
    expect((await authorize('/fault-200')).fault).toMatchObject({ code: 'soap:Client', string: 'R&D says no', status: 200 });
  });

  it.each(['/fault-no-code', '/fault-text-only', '/fault-twice', '/fault-unclosed'])('maps the malformed fault %s to PROVIDER_BAD_RESPONSE', async (path) => {
    const error = await expectTransportError(authorize(path), 'PROVIDER_BAD_RESPONSE', { notSent: false, status: 500 });
    expect(error.message).toMatch(/malformed/);
  });

  it('refuses an XML bomb before parsing, without expanding it', async () => {
    const before = process.memoryUsage().heapUsed;
    const call = authorize('/bomb');
    const error = await expectTransportError(call, 'PROVIDER_BAD_RESPONSE');
    expect(error.message).toMatch(/DOCTYPE or entity/);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
  });

  it('refuses a DOCTYPE', async () => {
    await expectTransportError(authorize('/doctype'), 'PROVIDER_BAD_RESPONSE');
  });

  it('maps XML that is not an envelope, and JSON, to PROVIDER_BAD_RESPONSE', async () => {
    await expectTransportError(authorize('/not-envelope'), 'PROVIDER_BAD_RESPONSE', { status: 200 });
    await expectTransportError(authorize('/json'), 'PROVIDER_BAD_RESPONSE', { status: 200 });
  });

  it('maps a 500 error page without a fault to PROVIDER_HTTP_ERROR', async () => {
    await expectTransportError(authorize('/html-500'), 'PROVIDER_HTTP_ERROR', { status: 500 });
  });
});

describe('SOAP transport options', () => {
  it('refuses a WSDL that is not a local file', () => {
    expect(() => createSoapTransport({ endpoint: server.origin, wsdlPath: 'https://provider.example/card?wsdl' })).toThrow(/wsdlPath: must be a local file/);
  });

  it('reports a missing WSDL file as PROVIDER_INVALID on first use', async () => {
    const card = createSoapTransport({ endpoint: server.origin, wsdlPath: fileURLToPath(new URL('./fixtures/missing.wsdl', import.meta.url)) });
    try {
      await expect(card.ready()).rejects.toMatchObject({ code: 'PROVIDER_INVALID', message: expect.stringMatching(/cannot load the WSDL/) });
    } finally {
      await card.close();
    }
  });
});
