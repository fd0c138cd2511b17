/**
 * Helpers for the sandbox's own tests: a sandbox on the dev TLS certificate and a plain undici
 * client trusting the dev CA (deliberately not paygate's transports, which are tested against
 * this sandbox, not the other way round). Requests are written by hand here, not with the
 * sandbox's own XML code.
 */
import { XMLParser } from 'fast-xml-parser';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { makeTestPki } from '../../../test/helpers/pki.ts';
import { startGiftcardSandbox, type GiftcardSandbox } from './sandbox.ts';

/** A sandbox and a client for one test file; reset after every test, closed after all. */
export interface Fixture {
  sandbox: GiftcardSandbox;
  agent: Agent;
}

/** Registers the hooks and returns the fixture (filled in `beforeAll`). */
export function useSandbox(): Fixture {
  const fixture = {} as Fixture;
  beforeAll(async () => {
    const pki = await makeTestPki();
    fixture.sandbox = await startGiftcardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
    fixture.agent = new Agent({ connect: { ca: pki.ca.certPem }, keepAliveTimeout: 1000 });
  });
  afterEach(async () => {
    if (fixture.sandbox.isDown) await fixture.sandbox.up();
    fixture.sandbox.reset();
  });
  afterAll(async () => {
    await fixture.agent?.close();
    await fixture.sandbox?.close();
  });
  return fixture;
}

/** Request fields; `amount` is `[minor units, currency]`. */
export interface RequestFields {
  type: string;
  card?: string;
  pin?: string;
  amount?: [number, string];
  reference?: string;
  transaction?: string;
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Writes a request document by hand. */
export function requestXml(fields: RequestFields): string {
  const parts = Object.entries(fields).map(([name, value]) => Array.isArray(value)
    ? `<amount currency="${value[1]}">${value[0]}</amount>`
    : `<${name}>${escape(String(value))}</${name}>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<request>${parts.join('')}</request>\n`;
}

/** A raw HTTP answer. */
export interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** POSTs `body` as XML with the sandbox's API key (or `apiKey`, or none when null). */
export function send(fixture: Fixture, body: string, options: { apiKey?: string | null; signal?: AbortSignal; contentType?: string } = {}) {
  const key = options.apiKey === undefined ? fixture.sandbox.apiKey : options.apiKey;
  return request(fixture.sandbox.url, {
    method: 'POST',
    dispatcher: fixture.agent,
    headers: { 'content-type': options.contentType ?? 'application/xml', ...(key === null ? {} : { 'x-api-key': key }) },
    body,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** POSTs and returns the raw answer. */
export async function post(fixture: Fixture, body: string, options: { apiKey?: string | null; contentType?: string } = {}): Promise<RawAnswer> {
  const answer = await send(fixture, body, options);
  return { status: answer.statusCode, contentType: String(answer.headers['content-type']), body: await answer.body.text() };
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, processEntities: false });

/** An answer's `<response>` children as strings; amounts as `"9000 EUR"`. */
export function readAnswer(body: string): Record<string, string> {
  const document = parser.parse(body) as { response?: Record<string, string | { '#text': string; '@_currency': string }> };
  if (!document.response) throw new Error('no <response> element');
  return Object.fromEntries(Object.entries(document.response).map(([name, value]) =>
    [name, typeof value === 'string' ? value : `${value['#text']} ${value['@_currency']}`]));
}

/** Sends `fields` and reads the answer (any HTTP status). */
export async function call(fixture: Fixture, fields: RequestFields, options: { apiKey?: string | null } = {}): Promise<Record<string, string> & { http: string }> {
  const answer = await post(fixture, requestXml(fields), options);
  return { ...readAnswer(answer.body), http: String(answer.status) };
}

/** The 100.00 EUR test card. */
export const CARD = { card: '6036280000000011', pin: '1234' } as const;
