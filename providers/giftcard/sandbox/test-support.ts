/**
 * Helpers for the sandbox's own tests: a sandbox on the dev TLS certificate and a plain undici
 * client trusting the dev CA (deliberately not paygate's transports, which are tested against
 * this sandbox, not the other way round). Requests are written by hand here, not with the
 * sandbox's own XML code.
 */
import { XMLParser } from 'fast-xml-parser';
import { rawAnswer, sendRaw, useSandboxFixture, type RawAnswer, type SandboxFixture } from '../../_sandbox-kit/test-support.ts';
import { startGiftcardSandbox, type GiftcardSandbox } from './sandbox.ts';

export type { RawAnswer } from '../../_sandbox-kit/test-support.ts';

/** A sandbox and a client for one test file; reset after every test, closed after all. */
export type Fixture = SandboxFixture<GiftcardSandbox>;

/** Registers the hooks and returns the fixture (filled in `beforeAll`). */
export function useSandbox(): Fixture {
  return useSandboxFixture((tls) => startGiftcardSandbox({ tls }));
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

/** POSTs `body` as XML with the sandbox's API key (or `apiKey`, or none when null). */
export function send(fixture: Fixture, body: string, options: { apiKey?: string | null; signal?: AbortSignal; contentType?: string } = {}) {
  const key = options.apiKey === undefined ? fixture.sandbox.apiKey : options.apiKey;
  const headers = { 'content-type': options.contentType ?? 'application/xml', ...(key === null ? {} : { 'x-api-key': key }) };
  return sendRaw(fixture, body, headers, options.signal);
}

/** POSTs and returns the raw answer. */
export async function post(fixture: Fixture, body: string, options: { apiKey?: string | null; contentType?: string } = {}): Promise<RawAnswer> {
  return rawAnswer(await send(fixture, body, options));
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
