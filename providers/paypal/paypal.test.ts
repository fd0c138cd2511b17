/**
 * The paypal plugin through the full path (SDK → broker → worker → plugin → sandbox → reply),
 * against a real `startPaypalSandbox` on loopback TLS.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/client/index.ts';
import type { TranscriptEntry } from '../../src/providers/index.ts';
import { startFullPath, type FullPath } from '../../test/helpers/full-path.ts';
import { findPans } from '../../test/helpers/pan-scan.ts';
import { makeTestPki, type TestPki } from '../../test/helpers/pki.ts';
import paypal from './index.ts';
import { msgSubIdFor } from './msgsubid.ts';
import { startPaypalSandbox, type PaypalSandbox } from './sandbox/index.ts';

type Path = FullPath<typeof paypal>;
const year = new Date().getFullYear() + 2;
const card = (number: string, cvc = '123') => ({ number, exp_month: 12, exp_year: year, cvc });
const eur = (value: number) => ({ value, currency: 'EUR' });

let pki: TestPki;
let sandbox: PaypalSandbox;
let main: Path;
const transcript: TranscriptEntry[] = [];
const logs: string[] = [];
const texts: string[] = [];
const handlerErrors: { hook: string; code: string; message: string }[] = [];
let keyCounter = 0;
const newKey = (label: string) => `pp-${label}-${Date.now().toString(36)}-${++keyCounter}`;

const sink = (level: string) => (message: string, fields?: unknown) => logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);

function settings(options: Record<string, string>, breaker?: Record<string, number>) {
  return {
    endpoint: sandbox.url,
    tls: { ca: pki.ca.certPem },
    timeoutMs: 5_000,
    options,
    ...(breaker === undefined ? {} : { breaker }),
  };
}

beforeAll(async () => {
  pki = await makeTestPki();
  sandbox = await startPaypalSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem } });
  main = await startFullPath({
    provider: paypal,
    pki,
    // A generous breaker here: the malformed and hang-up tests fail calls on purpose; the breaker has its own path below.
    settings: settings({ ...sandbox.credentials }, { volumeThreshold: 1000 }),
    worker: { transcript: (entry) => transcript.push(entry), log: { info: sink('info'), warn: sink('warn'), error: sink('error') } },
  });
  main.worker.on('handler-error', (event) => handlerErrors.push(event));
});
afterEach(async () => {
  if (sandbox.isDown) await sandbox.up();
  sandbox.reset();
});
afterAll(async () => {
  await main?.close();
  await sandbox?.close();
});

/** Sends one request and keeps what it says for the leak scan. */
async function send<T extends 'sale' | 'authorize' | 'capture' | 'refund' | 'void' | 'status'>(
  path: Path, type: T, payload: Parameters<Path['gateway']['request']>[2] & object, key = newKey(type),
) {
  const reply = await path.gateway.request('paypal', type, payload as never, { idempotencyKey: key });
  texts.push(JSON.stringify(reply));
  return reply;
}

describe('paypal: card payments', () => {
  it('approves a sale with typed results, AVS and CVV mapped, amounts in minor units', async () => {
    const reply = await send(main, 'sale', { amount: eur(1999), card: card('4111111111111111'), invoice: 'INV-1' });
    expect(reply).toMatchObject({ status: 'approved', result: { amount: eur(1999), avs: 'match', cvv: 'match', provider_code: 'Success' } });
    expect(reply.result?.transaction_id).toMatch(/^[A-Z0-9]{17}$/);
    expect(sandbox.ledger).toEqual([expect.objectContaining({ type: 'sale', amount: 1999, currency: 'EUR', invoice: 'INV-1', id: reply.result?.transaction_id })]);
  });

  it('authorizes; AVS no-match is reported; JPY has no minor digits', async () => {
    const reply = await send(main, 'authorize', { amount: { value: 1000, currency: 'JPY' }, card: card('4000000000000010') });
    expect(reply).toMatchObject({ status: 'approved', result: { amount: { value: 1000, currency: 'JPY' }, avs: 'no_match', cvv: 'match' } });
    expect(sandbox.ledger).toEqual([expect.objectContaining({ type: 'authorization', amount: 1000, currency: 'JPY', state: 'Pending' })]);
  });

  it.each([
    ['4000000000000002', 'CARD_DECLINED', '15005', 'match'],
    ['4000000000009995', 'INSUFFICIENT_FUNDS', '10417', 'match'],
    ['4000000000000069', 'EXPIRED_CARD', '10502', 'match'],
    ['4000000000000127', 'INCORRECT_CVC', '15004', 'no_match'],
    ['675900000000', 'INVALID_NUMBER', '10759', ''],
  ])('declines card %s with %s, keeping provider code %s', async (number, code, providerCode) => {
    const reply = await send(main, 'sale', { amount: eur(500), card: card(number) });
    expect(reply.status).toBe('declined');
    expect(reply.error).toMatchObject({ code, retryable: false });
    expect(reply.error?.message).toContain(`(provider code ${providerCode})`);
    expect(sandbox.ledger).toEqual([]);
  });

  it('answers the internal-error amount (100.01) with a retryable PROCESSING_ERROR, nothing charged', async () => {
    const reply = await send(main, 'sale', { amount: eur(10001), card: card('4111111111111111') });
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'PROCESSING_ERROR', retryable: true } });
    expect(reply.error?.message).toContain('(provider code 10001)');
    expect(sandbox.ledger).toEqual([]);
  });

  it('rejects an unsupported currency with CURRENCY_NOT_SUPPORTED', async () => {
    const reply = await send(main, 'sale', { amount: { value: 100, currency: 'KES' }, card: card('4111111111111111') });
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'CURRENCY_NOT_SUPPORTED' } });
  });
});

describe('paypal: capture, refund, void, status', () => {
  it('captures partially, refuses an over-capture, completes, then refuses more', async () => {
    const auth = await send(main, 'authorize', { amount: eur(10000), card: card('5555555555554444') });
    const id = auth.result?.transaction_id ?? '';
    const first = await send(main, 'capture', { authorization_id: id, amount: eur(3000), final: false });
    expect(first).toMatchObject({ status: 'approved', result: { authorization_id: id, amount: eur(3000) } });
    const over = await send(main, 'capture', { authorization_id: id, amount: eur(8000), final: false });
    expect(over.error).toMatchObject({ code: 'AMOUNT_EXCEEDS_AUTHORIZATION' });
    expect(over.error?.message).toContain('(provider code 10610)');
    expect((await send(main, 'capture', { authorization_id: id, amount: eur(2000) })).status).toBe('approved');
    expect((await send(main, 'capture', { authorization_id: id, amount: eur(100) })).error).toMatchObject({ code: 'ALREADY_CAPTURED' });
    expect(sandbox.ledger.map((e) => [e.type, e.amount])).toEqual([['authorization', 10000], ['capture', 3000], ['capture', 2000]]);
  });

  it('refuses a capture of an expired authorization and of an unknown one (INVALID_AUTHORIZATION)', async () => {
    const auth = await send(main, 'authorize', { amount: eur(1000), card: card('4000000000000259') });
    const expired = await send(main, 'capture', { authorization_id: auth.result?.transaction_id ?? '', amount: eur(1000) });
    expect(expired.error).toMatchObject({ code: 'INVALID_AUTHORIZATION' });
    expect(expired.error?.message).toContain('10601');
    const unknown = await send(main, 'capture', { authorization_id: 'AAAAAAAAAAAAAAAAA', amount: eur(1000) });
    expect(unknown.error?.message).toContain('(provider code 10609)');
  });

  it('refunds partially, refuses more than is left and a full refund after a partial; refunds another sale in full', async () => {
    const sale = await send(main, 'sale', { amount: eur(5000), card: card('4111111111111111') });
    const id = sale.result?.transaction_id ?? '';
    const partial = await send(main, 'refund', { transaction_id: id, amount: eur(2000) });
    expect(partial).toMatchObject({ status: 'approved', result: { refunded_transaction_id: id, amount: eur(2000), total_refunded: eur(2000) } });
    expect((await send(main, 'refund', { transaction_id: id, amount: eur(4000) })).error).toMatchObject({ code: 'AMOUNT_EXCEEDS_CAPTURE' });
    expect((await send(main, 'refund', { transaction_id: id })).error).toMatchObject({ code: 'ALREADY_REFUNDED' });
    const status = await send(main, 'status', { transaction_id: id });
    expect(status).toMatchObject({ status: 'approved', result: { kind: 'sale', state: 'partially_refunded', amount: eur(5000), avs: 'match' } });

    const other = await send(main, 'sale', { amount: eur(700), card: card('4111111111111111') });
    const full = await send(main, 'refund', { transaction_id: other.result?.transaction_id ?? '' });
    expect(full).toMatchObject({ status: 'approved', result: { amount: eur(700), total_refunded: eur(700) } });
    expect((await send(main, 'refund', { transaction_id: other.result?.transaction_id ?? '' })).error).toMatchObject({ code: 'ALREADY_REFUNDED' });
    expect(sandbox.ledger.filter((e) => e.type === 'refund').map((e) => e.amount)).toEqual([2000, 700]);
  });

  it('voids an authorization; a capture or second void afterwards is refused', async () => {
    const auth = await send(main, 'authorize', { amount: eur(2500), card: card('4111111111111111') });
    const id = auth.result?.transaction_id ?? '';
    expect(await send(main, 'void', { authorization_id: id })).toMatchObject({ status: 'approved', result: { authorization_id: id } });
    expect((await send(main, 'capture', { authorization_id: id, amount: eur(100) })).error).toMatchObject({ code: 'INVALID_AUTHORIZATION' });
    expect((await send(main, 'void', { authorization_id: id })).error).toMatchObject({ code: 'ALREADY_VOIDED' });
    expect((await send(main, 'status', { transaction_id: id })).result).toMatchObject({ kind: 'authorization', state: 'voided' });
    expect((await send(main, 'status', { transaction_id: 'BBBBBBBBBBBBBBBBB' })).error).toMatchObject({ code: 'INVALID_AUTHORIZATION' });
  });
});

describe('paypal: idempotency and reconciliation', () => {
  it('answers a retry with the same key with the same transaction; one ledger entry', async () => {
    const key = newKey('same');
    const first = await send(main, 'sale', { amount: eur(1234), card: card('4111111111111111') }, key);
    const again = await send(main, 'sale', { amount: eur(1234), card: card('4111111111111111') }, key);
    expect(again.result?.transaction_id).toBe(first.result?.transaction_id);
    expect(sandbox.ledger).toHaveLength(1);
    expect(sandbox.ledger[0]?.reference).toBe(key);
  });

  it('sends a 128-character key as a 38-character hash MSGSUBID', async () => {
    const key = `long-${'x'.repeat(123)}`;
    const reply = await send(main, 'sale', { amount: eur(100), card: card('4111111111111111') }, key);
    expect(reply.status).toBe('approved');
    const reference = sandbox.ledger[0]?.reference ?? '';
    expect(reference).toBe(msgSubIdFor(key));
    expect(reference).toHaveLength(38);
    expect(msgSubIdFor(`long-${'x'.repeat(122)}y`)).not.toBe(reference);
  });

  it('a hang-up after the charge is unknown; the retry reconciles through status to the true outcome, one charge', async () => {
    const key = newKey('hangup');
    sandbox.knobs.hangUp = 'after-charge';
    const first = await send(main, 'sale', { amount: eur(4200), card: card('4111111111111111') }, key);
    expect(first).toMatchObject({ status: 'unknown', error: { code: 'OUTCOME_UNKNOWN', retryable: true } });
    expect(handlerErrors.at(-2)).toMatchObject({ hook: 'handler', code: 'PROVIDER_TIMEOUT' });
    sandbox.knobs.hangUp = null;
    const calls = sandbox.calls.byOperation;
    const second = await send(main, 'sale', { amount: eur(4200), card: card('4111111111111111') }, key);
    expect(second).toMatchObject({ status: 'approved', result: { amount: eur(4200), avs: 'match', cvv: 'match' } });
    expect(second.result?.transaction_id).toBe(sandbox.ledger[0]?.id);
    expect(sandbox.ledger).toHaveLength(1);
    // Reconciled by lookup, never by paying again.
    expect(sandbox.calls.byOperation.DoDirectPayment).toBe(calls.DoDirectPayment);
    expect(sandbox.calls.byOperation.TransactionSearch).toBe((calls.TransactionSearch ?? 0) + 1);
  });

  it.each(['html', 'truncated', 'garbage'] as const)('a %s answer is a typed error; the worker keeps serving', async (kind) => {
    const key = newKey(kind);
    sandbox.knobs.malformed = kind;
    const first = await send(main, 'capture', { authorization_id: 'CCCCCCCCCCCCCCCCC', amount: eur(100) }, key);
    expect(first).toMatchObject({ status: 'unknown', error: { code: 'OUTCOME_UNKNOWN' } });
    expect(handlerErrors.at(-2)).toMatchObject({ hook: 'handler', code: expect.stringMatching(/^PROVIDER_(BAD_RESPONSE|TIMEOUT)$/) });
    sandbox.knobs.malformed = null;
    const next = await send(main, 'sale', { amount: eur(300), card: card('4111111111111111') });
    expect(next.status).toBe('approved');
  });
});

describe('paypal: credentials and the breaker', () => {
  let other: Path;
  beforeAll(async () => {
    other = await startFullPath({ provider: paypal, pki, settings: settings({ user: 'nobody', pwd: 'WRONGPWD999', signature: 'Wrong.Signature-Z9' }) });
  });
  afterAll(async () => {
    await other?.close();
  });

  it('refuses wrong credentials with CONFIGURATION_ERROR (not retryable)', async () => {
    const reply = await send(other, 'sale', { amount: eur(100), card: card('4111111111111111') });
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'CONFIGURATION_ERROR', retryable: false } });
    expect(reply.error?.message).toContain('(provider code 10002)');
    expect(sandbox.ledger).toEqual([]);
  });

  it('a sandbox that is down is PROVIDER_UNAVAILABLE; the breaker opens, then answers without calling it', async () => {
    await sandbox.down();
    for (let i = 0; i < 6 && other.worker.breakerSnapshot()[0]?.state !== 'open'; i++) {
      const failed = await send(other, 'sale', { amount: eur(100), card: card('4111111111111111') }).then(() => undefined, (e: unknown) => e);
      expect(failed).toBeInstanceOf(RemoteError);
      expect(failed).toMatchObject({ remoteCode: 'PROVIDER_UNAVAILABLE', retryable: true });
    }
    expect(other.worker.breakerSnapshot()[0]).toMatchObject({ state: 'open' });
    await sandbox.up();
    const before = sandbox.calls.total;
    const refused = await send(other, 'sale', { amount: eur(100), card: card('4111111111111111') }).then(() => undefined, (e: unknown) => e);
    expect(refused).toMatchObject({ remoteCode: 'PROVIDER_UNAVAILABLE' });
    expect((refused as Error).message).toMatch(/breaker|open/i);
    expect(sandbox.calls.total).toBe(before); // refused by the open breaker, the sandbox never called
  });
});

describe('paypal: nothing secret leaves', () => {
  it('no PAN, CVV2, PWD or SIGNATURE in transcripts, logs, errors or replies', () => {
    const { pwd, signature } = sandbox.credentials;
    const requests = transcript.filter((e) => e.direction === 'request').map((e) => e.body);
    expect(requests.some((body) => body.includes('METHOD=DoDirectPayment') && body.includes('ACCT='))).toBe(true);
    const everything = [...transcript.map((e) => e.body), ...logs, ...texts, ...handlerErrors.map((e) => e.message)].join('\n');
    expect(findPans(everything)).toEqual([]);
    expect(everything).not.toContain(pwd);
    expect(everything).not.toContain(signature);
    expect(everything).not.toMatch(/CVV2=\d/);
    expect(everything).not.toMatch(/ACCT=\d{6}/);
  });
});
