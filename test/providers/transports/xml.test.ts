/**
 * The XML transport: documents built with xmlbuilder2, answers read with entities and DTDs off
 * (an XML bomb is refused before parsing), values kept as strings, everything else a typed error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createXmlTransport, type XmlDocument, type XmlTransportOptions } from '../../../src/providers/transports/index.ts';
import type { TestPki } from '../../helpers/pki.ts';
import { BODY_MARKER, expectTransportError, startServer, TEST_PAN, testPki, type Route, type TestServer } from './support.ts';
import { billionLaughs } from './xml-samples.ts';

const answer = (status: number, body: string | Buffer, type = 'application/xml'): Route => (_request, response) => {
  response.writeHead(status, { 'content-type': type }).end(body);
};

const routes: Record<string, Route> = {
  '/echo': (_request, response, body) => response.writeHead(200, { 'content-type': 'application/xml' }).end(`<echo>${body.replace(/^<\?xml[^>]*\?>/, '')}</echo>`),
  '/typed': answer(200, '<gc:balance xmlns:gc="urn:gc" gc:currency="EUR"><gc:id>0042</gc:id><gc:value>1.50</gc:value><gc:note>R&amp;D &#65;&#x42; &lt;ok&gt;</gc:note><gc:big>4111111111111111</gc:big></gc:balance>'),
  '/bomb': answer(200, billionLaughs()),
  '/doctype': answer(200, `<!DOCTYPE r SYSTEM "https://evil.example/x.dtd"><r>${BODY_MARKER}</r>`),
  '/entity-after-comment': answer(200, '<!-- hi --><!ENTITY x "y"><r>&x;</r>'),
  '/malformed': answer(200, `<r><a>${BODY_MARKER}</r>`),
  '/json-typed': answer(200, `{"r":"${BODY_MARKER}"}`, 'application/json'),
  '/json-as-xml': answer(200, `{"r":"${BODY_MARKER}"}`),
  '/html-as-xml': answer(200, `<html><body>${BODY_MARKER}</body></html>`),
  '/two-roots': answer(200, '<a/><b/>'),
  '/latin1': answer(200, Buffer.from([0x3c, 0x72, 0x3e, 0xe9, 0x3c, 0x2f, 0x72, 0x3e])),
  '/declined-402': answer(402, '<error><code>insufficient_funds</code></error>'),
  '/api/v2/redeem': answer(200, '<ok/>'),
};

let pki: TestPki;
let server: TestServer;
beforeAll(async () => {
  pki = await testPki();
  server = await startServer(pki, routes);
});
afterAll(() => server.close());

async function post(path: string, document: XmlDocument = { ping: '' }, extra: Partial<XmlTransportOptions> = {}) {
  const xml = createXmlTransport({ endpoint: server.origin, tls: { ca: pki.ca.certPem }, ...extra });
  try {
    return await xml.post(path, document);
  } finally {
    await xml.close();
  }
}

describe('XML transport requests', () => {
  it('builds the request from an object with xmlbuilder2 (attributes, escaping) and sends it as application/xml', async () => {
    server.seen.length = 0;
    const { document } = await post('/echo', { redeem: { '@version': '2', card: 'gc-100', note: 'a&b<c>' } });
    expect(server.seen[0]?.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(server.seen[0]?.body).toBe('<?xml version="1.0" encoding="UTF-8"?><redeem version="2"><card>gc-100</card><note>a&amp;b&lt;c&gt;</note></redeem>');
    expect(document).toEqual({ echo: { redeem: { '@_version': '2', card: 'gc-100', note: 'a&b<c>' } } });
  });

  it('sends XML text as given, and refuses text that is not well-formed before sending', async () => {
    server.seen.length = 0;
    await post('/echo', '<balance><card>gc-1</card></balance>');
    expect(server.seen[0]?.body).toBe('<balance><card>gc-1</card></balance>');
    await expect(post('/echo', `<balance><pan>${TEST_PAN}</balance>`)).rejects.toThrow(/^xml transport: the request document is not well-formed XML$/);
    expect(server.seen).toHaveLength(1);
  });

  it('puts call paths under the endpoint base path', async () => {
    const xml = createXmlTransport({ endpoint: `${server.origin}/api/v2`, tls: { ca: pki.ca.certPem } });
    try {
      expect((await xml.post('/redeem', { r: '' })).document).toEqual({ ok: '' });
      await expect(xml.post('//evil.example/x', { r: '' })).rejects.toThrow(TypeError);
    } finally {
      await xml.close();
    }
  });
});

describe('XML transport answers', () => {
  it('keeps values as strings, decodes only the predefined entities, keeps or drops namespace prefixes', async () => {
    expect((await post('/typed')).document).toEqual({
      'gc:balance': { '@_xmlns:gc': 'urn:gc', '@_gc:currency': 'EUR', 'gc:id': '0042', 'gc:value': '1.50', 'gc:note': 'R&D AB <ok>', 'gc:big': TEST_PAN },
    });
    const stripped = await post('/typed', { r: '' }, { removeNamespacePrefixes: true });
    expect(stripped.document).toMatchObject({ balance: { id: '0042', note: 'R&D AB <ok>' } });
  });

  it('refuses a billion-laughs bomb before parsing, without expanding it', async () => {
    const before = process.memoryUsage().heapUsed;
    const call = post('/bomb');
    const error = await expectTransportError(call, 'PROVIDER_BAD_RESPONSE', { notSent: false });
    expect(error.message).toMatch(/DOCTYPE or entity declaration/);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
  });

  it.each(['/doctype', '/entity-after-comment'])('refuses a DTD anywhere (%s)', async (path) => {
    expect((await expectTransportError(post(path), 'PROVIDER_BAD_RESPONSE')).message).toMatch(/DOCTYPE or entity/);
  });

  it('refuses malformed XML, naming the validator code and line only', async () => {
    const error = await expectTransportError(post('/malformed'), 'PROVIDER_BAD_RESPONSE', { status: 200 });
    expect(error.message).toMatch(/malformed XML \(InvalidTag at line 1\)$/);
  });

  it.each([
    ['/json-typed', /application\/json, not XML/],
    ['/json-as-xml', /not XML/],
    ['/html-as-xml', /HTML page/],
    ['/two-roots', /malformed XML|single root/],
    ['/latin1', /not UTF-8/],
  ])('refuses %s', async (path, message) => {
    expect((await expectTransportError(post(path), 'PROVIDER_BAD_RESPONSE')).message).toMatch(message);
  });

  it('treats a non-2xx status as PROVIDER_HTTP_ERROR unless it is one of answerStatuses', async () => {
    await expectTransportError(post('/declined-402'), 'PROVIDER_HTTP_ERROR', { status: 402 });
    const declined = await post('/declined-402', { r: '' }, { answerStatuses: [402] });
    expect(declined).toMatchObject({ status: 402, document: { error: { code: 'insufficient_funds' } } });
  });
});
