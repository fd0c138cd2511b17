/**
 * Helpers for the sandbox's own tests: a sandbox on the dev TLS certificate and a plain undici
 * client trusting the dev CA (deliberately not paygate's transports, which are tested against
 * this sandbox, not the other way round).
 */
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { makeTestPki } from '../../../test/helpers/pki.ts';
import { startPaypalSandbox, type PaypalSandbox } from './sandbox.ts';

/** A sandbox and a client for one test file; reset after every test, closed after all. */
export interface Fixture {
  sandbox: PaypalSandbox;
  agent: Agent;
}

/** Registers the hooks and returns the fixture (filled in `beforeAll`). */
export function useSandbox(): Fixture {
  const fixture = {} as Fixture;
  beforeAll(async () => {
    const pki = await makeTestPki();
    fixture.sandbox = await startPaypalSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
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

/** A raw HTTP answer. */
export interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** POSTs a form made of `fields` (credentials added unless `credentials: false`). */
export async function post(fixture: Fixture, fields: Record<string, string>, options: { credentials?: boolean; signal?: AbortSignal } = {}): Promise<RawAnswer> {
  const { user, pwd, signature } = fixture.sandbox.credentials;
  const form = new URLSearchParams(options.credentials === false ? fields : { USER: user, PWD: pwd, SIGNATURE: signature, VERSION: '204.0', ...fields });
  const answer = await request(fixture.sandbox.url, {
    method: 'POST',
    dispatcher: fixture.agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { status: answer.statusCode, contentType: String(answer.headers['content-type']), body: await answer.body.text() };
}

/** POSTs and decodes the NVP answer into a plain object. */
export async function nvp(fixture: Fixture, fields: Record<string, string>, options: { credentials?: boolean } = {}): Promise<Record<string, string>> {
  const answer = await post(fixture, fields, options);
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
  return Object.fromEntries(new URLSearchParams(answer.body));
}

/** A card payment's fields: EUR 19.99 on the approving Visa unless overridden. */
export function payment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    METHOD: 'DoDirectPayment', PAYMENTACTION: 'Sale', ACCT: '4111111111111111', EXPDATE: '122099', CVV2: '123',
    AMT: '19.99', CURRENCYCODE: 'EUR', ...overrides,
  };
}
