/**
 * The `card` plugin through the whole request path (SDK → broker → worker → plugin → CardGate
 * sandbox over TLS → reply), against a real `startCardSandbox`: approvals and every decline card,
 * follow-ups, idempotency, reconciliation of a lost answer, system errors, broken answers,
 * downtime and the breaker, wrong credentials, and no card data or password in any transcript,
 * log line or error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/client/index.ts';
import type { TranscriptEntry } from '../../src/providers/index.ts';
import { startFullPath, type FullPath } from '../../test/helpers/full-path.ts';
import { findPans } from '../../test/helpers/pan-scan.ts';
import { makeTestPki, type TestPki } from '../../test/helpers/pki.ts';
import card from './index.ts';
import { defaultKnobs, MALFORMED_VARIANTS, startCardSandbox, type CardSandbox } from './sandbox/index.ts';

const USERNAME = 'merchant-7';
const PASSWORD = 'pw-Sandbox-7f3a9c';
const CVC = '987';
const EXP = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };
const VISA = '4111111111111111';

let pki: TestPki;
let sandbox: CardSandbox;
let path: FullPath<typeof card>;
const transcript: TranscriptEntry[] = [];
const logLines: string[] = [];
const errorMessages: string[] = [];
let keySeq = 0;

/** A fresh idempotency key. */
const key = (label: string) => `card-test-${label}-${++keySeq}-${Date.now()}`;
const cardOf = (number: string, cvc: string | null = CVC) => ({ number, ...EXP, ...(cvc === null ? {} : { cvc }) });
const money = (value: number, currency = 'EUR') => ({ value, currency });
const logger = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) =>
  logLines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);

async function startPath(target: CardSandbox, password: string, extra: { transcript?: boolean } = {}): Promise<FullPath<typeof card>> {
  return startFullPath({
    provider: card,
    pki,
    settings: { endpoint: target.url, tls: { ca: pki.ca.certPem }, timeoutMs: 5_000, options: { username: USERNAME, password } },
    worker: {
      log: { info: logger('info'), warn: logger('warn'), error: logger('error') },
      ...(extra.transcript ? { transcript: (entry: TranscriptEntry) => transcript.push(entry) } : {}),
    },
  });
}

/** The one ledger entry written with MerchantRef `k` (undefined when none; fails on several). */
function entryOf(k: string) {
  const entries = sandbox.ledger.byMerchantRef(k);
  expect(entries.length).toBeLessThanOrEqual(1);
  return entries[0];
}

/** The RemoteError a request rejects with (fails the test if it resolves). */
async function remoteError(promise: Promise<unknown>): Promise<RemoteError> {
  const error = await promise.then(
    (reply) => new Error(`expected a RemoteError, got ${JSON.stringify(reply)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteError);
  errorMessages.push((error as Error).message);
  return error as RemoteError;
}

beforeAll(async () => {
  pki = await makeTestPki();
  sandbox = await startCardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, username: USERNAME, password: PASSWORD });
  path = await startPath(sandbox, PASSWORD, { transcript: true });
});
afterEach(() => {
  Object.assign(sandbox.knobs, defaultKnobs());
});
afterAll(async () => {
  await path?.close();
  await sandbox?.close();
});

describe('card: payments', () => {
  it('authorizes: a typed result with transaction id, amount, auth code, AVS/CVV mapped and the raw code; MerchantRef is the idempotency key', async () => {
    const k = key('auth');
    const reply = await path.gateway.request('card', 'authorize', { amount: money(1250), card: cardOf(VISA) }, { idempotencyKey: k });
    expect(reply.status).toBe('approved');
    expect(reply.result).toEqual({
      transaction_id: expect.stringMatching(/^cg-\d+$/), amount: money(1250), auth_code: expect.stringMatching(/^A\d+$/),
      provider_code: '00', avs: 'match', cvv: 'match',
    });
    const entry = entryOf(k);
    expect(entry).toMatchObject({ transactionId: reply.result?.transaction_id, type: 'authorize', state: 'authorized', amount: 1250, currency: 'EUR' });
  });

  it.each([
    ['4000000000000002', 'DO_NOT_HONOR', '05', {}],
    ['4000000000009995', 'INSUFFICIENT_FUNDS', '51', { avs: 'postcode_only' }],
    ['4000000000000069', 'EXPIRED_CARD', '54', {}],
    ['4000000000000127', 'INCORRECT_CVC', '82', { avs: 'no_match', cvv: 'no_match' }],
  ])('declines card %s with %s, keeping provider code %s', async (number, code, raw, extra) => {
    const k = key('decline');
    const reply = await path.gateway.request('card', 'authorize', { amount: money(500), card: cardOf(number) }, { idempotencyKey: k });
    expect(reply.status).toBe('declined');
    expect(reply.error).toMatchObject({ code, retryable: false });
    expect(reply.error?.message).toContain(`(provider code ${raw})`);
    expect(reply.result).toMatchObject({ provider_code: raw, transaction_id: entryOf(k)?.transactionId, ...extra });
    expect(reply.result?.auth_code).toBeUndefined();
    expect(entryOf(k)?.state).toBe('declined');
  });

  it.each([
    ['4000000000020042', CVC, { avs: 'address_only', cvv: 'match' }],
    ['4000000000020034', CVC, { avs: 'postcode_only', cvv: 'match' }],
    ['4000000000020026', CVC, { avs: 'no_match', cvv: 'match' }],
    ['4000000000020018', CVC, { avs: 'unavailable', cvv: 'match' }],
    ['4000000000020083', CVC, { avs: 'address_only', cvv: 'unavailable' }],
    [VISA, null, { avs: 'match', cvv: 'not_processed' }],
  ])('maps AVS/CVV letters for %s (cvc %s)', async (number, cvc, expected) => {
    const reply = await path.gateway.request('card', 'authorize', { amount: money(700), card: cardOf(number, cvc) });
    expect(reply).toMatchObject({ status: 'approved', result: expected });
  });

  it('declines an amount CardGate refuses (13) with INVALID_AMOUNT', async () => {
    const reply = await path.gateway.request('card', 'authorize', { amount: money(0), card: cardOf(VISA) });
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'INVALID_AMOUNT' }, result: { provider_code: '13' } });
  });

  it('never sends a Luhn-invalid number (CardGate 14): the SDK refuses it, no SOAP call', async () => {
    const before = sandbox.calls.Authorize;
    const error = await path.gateway.request('card', 'authorize', { amount: money(100), card: cardOf('4111111111111112') }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('ValidationError');
    expect(sandbox.calls.Authorize).toBe(before);
  });

  it('sells: approved and captured at once', async () => {
    const k = key('sale');
    const reply = await path.gateway.request('card', 'sale', { amount: money(2000, 'USD'), card: cardOf('5555555555554444') }, { idempotencyKey: k });
    expect(reply).toMatchObject({ status: 'approved', result: { amount: money(2000, 'USD'), provider_code: '00', cvv: 'match' } });
    expect(entryOf(k)).toMatchObject({ type: 'sale', state: 'captured', captured: 2000 });
  });
});

/** An approved authorization's transaction id. */
async function authorize(value: number): Promise<string> {
  const reply = await path.gateway.request('card', 'authorize', { amount: money(value), card: cardOf(VISA) });
  if (reply.status !== 'approved') throw new Error(`authorization not approved: ${reply.status}`);
  return reply.result.transaction_id;
}

describe('card: follow-ups', () => {
  it('captures in part, then refuses a second capture with INVALID_AUTHORIZATION (12)', async () => {
    const id = await authorize(1000);
    const k = key('capture');
    const reply = await path.gateway.request('card', 'capture', { authorization_id: id, amount: money(400) }, { idempotencyKey: k });
    expect(reply).toMatchObject({ status: 'approved', result: { authorization_id: id, amount: money(400), provider_code: '00' } });
    expect(entryOf(k)).toMatchObject({ type: 'capture', parentId: id, amount: 400 });
    const again = await path.gateway.request('card', 'capture', { authorization_id: id });
    expect(again).toMatchObject({ status: 'declined', error: { code: 'INVALID_AUTHORIZATION', retryable: false } });
    expect(again.error?.message).toContain('(provider code 12)');
  });

  it('captures in full without an amount, and refuses more than authorized with AMOUNT_EXCEEDS_AUTHORIZATION (13)', async () => {
    const full = await authorize(1500);
    expect(await path.gateway.request('card', 'capture', { authorization_id: full })).toMatchObject({
      status: 'approved', result: { amount: money(1500) },
    });
    const over = await authorize(1500);
    const reply = await path.gateway.request('card', 'capture', { authorization_id: over, amount: money(1501) });
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'AMOUNT_EXCEEDS_AUTHORIZATION' } });
    expect(sandbox.ledger.byTransactionId(over)?.state).toBe('authorized');
  });

  it('refunds in parts up to what was captured (more: AMOUNT_EXCEEDS_CAPTURE)', async () => {
    const sale = await path.gateway.request('card', 'sale', { amount: money(3000), card: cardOf(VISA) });
    const id = sale.result?.transaction_id ?? '';
    const part = await path.gateway.request('card', 'refund', { transaction_id: id, amount: money(1000) });
    expect(part).toMatchObject({ status: 'approved', result: { refunded_id: id, amount: money(1000), provider_code: '00' } });
    const over = await path.gateway.request('card', 'refund', { transaction_id: id, amount: money(2500) });
    expect(over).toMatchObject({ status: 'declined', error: { code: 'AMOUNT_EXCEEDS_CAPTURE' } });
    const rest = await path.gateway.request('card', 'refund', { transaction_id: id });
    expect(rest).toMatchObject({ status: 'approved', result: { amount: money(2000) } });
    expect(sandbox.ledger.byTransactionId(id)?.state).toBe('refunded');
  });

  it('voids an authorization once (again: INVALID_AUTHORIZATION)', async () => {
    const id = await authorize(800);
    const reply = await path.gateway.request('card', 'void', { transaction_id: id });
    expect(reply).toMatchObject({ status: 'approved', result: { voided_id: id, amount: money(800), provider_code: '00' } });
    expect(sandbox.ledger.byTransactionId(id)?.state).toBe('voided');
    const again = await path.gateway.request('card', 'void', { transaction_id: id });
    expect(again).toMatchObject({ status: 'declined', error: { code: 'INVALID_AUTHORIZATION' } });
  });

  it('the status action reports what CardGate knows of an idempotency key (and not_found)', async () => {
    const k = key('status-target');
    const auth = await path.gateway.request('card', 'authorize', { amount: money(900), card: cardOf(VISA) }, { idempotencyKey: k });
    const reply = await path.gateway.request('card', 'status', { idempotency_key: k });
    expect(reply).toMatchObject({
      status: 'approved',
      result: {
        state: 'authorized', operation: 'authorize', transaction_id: auth.result?.transaction_id, amount: money(900),
        original_code: '00', provider_code: '00', avs: 'match', cvv: 'match',
      },
    });
    const missing = await path.gateway.request('card', 'status', { idempotency_key: key('never-sent') });
    expect(missing).toMatchObject({ status: 'approved', result: { state: 'not_found' } });
    expect(missing.result?.transaction_id).toBeUndefined();
  });
});

describe('card: idempotency and lost answers', () => {
  it('a retry with the same key gets the same transaction; CardGate is called and charged once', async () => {
    const k = key('retry');
    const before = sandbox.calls.Authorize;
    const first = await path.gateway.request('card', 'authorize', { amount: money(1111), card: cardOf(VISA) }, { idempotencyKey: k });
    const second = await path.gateway.request('card', 'authorize', { amount: money(1111), card: cardOf(VISA) }, { idempotencyKey: k });
    expect(second.result?.transaction_id).toBe(first.result?.transaction_id);
    expect(second.status).toBe('approved');
    expect(sandbox.calls.Authorize - before).toBe(1);
    expect(sandbox.ledger.byMerchantRef(k)).toHaveLength(1);
  });

  it('hang-up after the charge: the client gets unknown; the retry reconciles through Status to the true outcome, one charge', async () => {
    const k = key('hangup');
    sandbox.knobs.hangUp = 'after-charge';
    const lost = await path.gateway.request('card', 'authorize', { amount: money(4200), card: cardOf(VISA) }, { idempotencyKey: k });
    expect(lost.status).toBe('unknown');
    expect(sandbox.ledger.byMerchantRef(k)).toHaveLength(1);
    sandbox.knobs.hangUp = null;
    const authorizeCalls = sandbox.calls.Authorize;
    const statusCalls = sandbox.calls.Status;
    const retry = await path.gateway.request('card', 'authorize', { amount: money(4200), card: cardOf(VISA) }, { idempotencyKey: k });
    const charged = entryOf(k);
    expect(retry).toMatchObject({
      status: 'approved',
      result: { transaction_id: charged?.transactionId, auth_code: charged?.authCode, amount: money(4200), avs: 'match', cvv: 'match' },
    });
    expect(sandbox.calls.Authorize).toBe(authorizeCalls);
    expect(sandbox.calls.Status).toBeGreaterThan(statusCalls);
    expect(sandbox.ledger.byMerchantRef(k)).toHaveLength(1);
  });

  it('a lost decline reconciles to the same decline', async () => {
    const k = key('hangup-decline');
    sandbox.knobs.hangUp = 'after-charge';
    const lost = await path.gateway.request('card', 'authorize', { amount: money(300), card: cardOf('4000000000009995') }, { idempotencyKey: k });
    expect(lost.status).toBe('unknown');
    sandbox.knobs.hangUp = null;
    const retry = await path.gateway.request('card', 'authorize', { amount: money(300), card: cardOf('4000000000009995') }, { idempotencyKey: k });
    expect(retry).toMatchObject({ status: 'declined', error: { code: 'INSUFFICIENT_FUNDS' }, result: { provider_code: '51' } });
  });

  it('a system error (96 fault) is PROVIDER_UNAVAILABLE, retryable, nothing charged, and the key is free for a retry', async () => {
    const k = key('system-error');
    const before = sandbox.calls.Authorize;
    const error = await remoteError(path.gateway.request('card', 'authorize', { amount: money(1096), card: cardOf(VISA) }, { idempotencyKey: k }));
    expect(error).toMatchObject({ remoteCode: 'PROVIDER_UNAVAILABLE', retryable: true });
    expect(entryOf(k)).toBeUndefined();
    await remoteError(path.gateway.request('card', 'authorize', { amount: money(1096), card: cardOf(VISA) }, { idempotencyKey: k }));
    // The retry reached CardGate again (the worker freed the key) rather than replaying a stored answer.
    expect(sandbox.calls.Authorize - before).toBe(2);
  });
});

describe('card: broken answers', () => {
  it.each(MALFORMED_VARIANTS)('%s: the client gets unknown, the worker keeps serving, and the retry finds the true outcome', async (variant) => {
    const k = key(`malformed-${variant}`);
    sandbox.knobs.malformed = variant;
    const broken = await path.gateway.request('card', 'authorize', { amount: money(600), card: cardOf(VISA) }, { idempotencyKey: k });
    expect(broken.status).toBe('unknown');
    sandbox.knobs.malformed = null;
    const good = await path.gateway.request('card', 'authorize', { amount: money(601), card: cardOf(VISA) });
    expect(good.status).toBe('approved');
    const retry = await path.gateway.request('card', 'authorize', { amount: money(600), card: cardOf(VISA) }, { idempotencyKey: k });
    expect(retry).toMatchObject({ status: 'approved', result: { transaction_id: entryOf(k)?.transactionId } });
  });
});

describe('card: credentials, downtime and the breaker', () => {
  let other: CardSandbox;
  let wrong: FullPath<typeof card>;
  let fresh: FullPath<typeof card>;
  beforeAll(async () => {
    other = await startCardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, username: USERNAME, password: PASSWORD });
    [wrong, fresh] = await Promise.all([startPath(sandbox, 'not-the-password'), startPath(other, PASSWORD)]);
  });
  afterAll(async () => {
    await Promise.all([wrong?.close(), fresh?.close()]);
    await other?.close();
  });

  it('wrong credentials: declined CONFIGURATION_ERROR (not retryable), nothing charged, the password never echoed', async () => {
    const k = key('wrong-credentials');
    const reply = await wrong.gateway.request('card', 'authorize', { amount: money(100), card: cardOf(VISA) }, { idempotencyKey: k });
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'CONFIGURATION_ERROR', retryable: false } });
    expect(reply.error?.message).not.toContain('not-the-password');
    expect(entryOf(k)).toBeUndefined();
  });

  it('sandbox down: PROVIDER_UNAVAILABLE (retryable); the breaker opens after its threshold and then answers without touching CardGate', async () => {
    await other.down();
    const threshold = card.breaker?.volumeThreshold ?? 10;
    for (let i = 0; i < threshold; i++) {
      expect(fresh.worker.breakerSnapshot()[0]?.state ?? 'closed').toBe('closed');
      const error = await remoteError(fresh.gateway.request('card', 'authorize', { amount: money(100), card: cardOf(VISA) }));
      expect(error).toMatchObject({ remoteCode: 'PROVIDER_UNAVAILABLE', retryable: true });
    }
    expect(fresh.worker.breakerSnapshot()[0]).toMatchObject({ state: 'open' });
    await other.up();
    const calls = { ...other.calls };
    const error = await remoteError(fresh.gateway.request('card', 'authorize', { amount: money(100), card: cardOf(VISA) }));
    expect(error).toMatchObject({ remoteCode: 'PROVIDER_UNAVAILABLE', retryable: true });
    expect(error.message).toMatch(/breaker|open/i);
    expect(other.calls).toEqual(calls);
    expect(fresh.worker.breakerSnapshot()[0]).toMatchObject({ state: 'open', rejects: 1 });
  });
});

describe('card: no card data or credentials leak', () => {
  it('transcripts, log lines and error messages hold no PAN, CVV or password', () => {
    expect(transcript.length).toBeGreaterThan(20);
    const bodies = transcript.map((entry) => entry.body).join('\n');
    expect(bodies).toContain('<Cvv>***</Cvv>');
    expect(bodies).toMatch(/Password[^>]*>\*\*\*</);
    const everything = [bodies, ...logLines, ...errorMessages].join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    expect(findPans(everything)).toEqual([]);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(`>${CVC}<`);
    expect(everything).not.toContain('4111111111111112');
  });
});
