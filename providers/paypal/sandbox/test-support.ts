/**
 * Helpers for the sandbox's own tests: a sandbox on the dev TLS certificate and a plain undici
 * client trusting the dev CA (deliberately not paygate's transports, which are tested against
 * this sandbox, not the other way round).
 */
import { rawAnswer, sendRaw, useSandboxFixture, type RawAnswer, type SandboxFixture } from '../../_sandbox-kit/test-support.ts';
import { startPaypalSandbox, type PaypalSandbox } from './sandbox.ts';

export type { RawAnswer } from '../../_sandbox-kit/test-support.ts';

/** A sandbox and a client for one test file; reset after every test, closed after all. */
export type Fixture = SandboxFixture<PaypalSandbox>;

/** Registers the hooks and returns the fixture (filled in `beforeAll`). */
export function useSandbox(): Fixture {
  return useSandboxFixture((tls) => startPaypalSandbox({ tls }));
}

/** POSTs a form made of `fields` (credentials added unless `credentials: false`) and returns the undici response (body unread). */
export function send(fixture: Fixture, fields: Record<string, string>, options: { credentials?: boolean; signal?: AbortSignal } = {}) {
  const { user, pwd, signature } = fixture.sandbox.credentials;
  const form = new URLSearchParams(options.credentials === false ? fields : { USER: user, PWD: pwd, SIGNATURE: signature, VERSION: '204.0', ...fields });
  return sendRaw(fixture, form.toString(), { 'content-type': 'application/x-www-form-urlencoded' }, options.signal);
}

/** POSTs a form made of `fields` (credentials added unless `credentials: false`). */
export async function post(fixture: Fixture, fields: Record<string, string>, options: { credentials?: boolean; signal?: AbortSignal } = {}): Promise<RawAnswer> {
  return rawAnswer(await send(fixture, fields, options));
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
