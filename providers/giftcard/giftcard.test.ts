/**
 * The giftcard plugin through the whole request path: SDK → embedded broker → worker →
 * plugin → the real XML sandbox (HTTPS on loopback) → reply. Two workers: `main` with the
 * sandbox's key (its breaker kept from opening, since the malformed and hang-up tests fail calls
 * on purpose), and `other` with the plugin's own breaker defaults and a wrong API key, against a
 * second sandbox that the breaker test takes down.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/client/index.ts';
import { validateRequest, type TranscriptEntry } from '../../src/providers/index.ts';
import type { HandlerErrorEvent } from '../../src/worker/events.ts';
import { startFullPath, type FullPath } from '../../test/helpers/full-path.ts';
import { findPans } from '../../test/helpers/pan-scan.ts';
import { makeTestPki, type TestPki } from '../../test/helpers/pki.ts';
import giftcard from './index.ts';
import { startGiftcardSandbox, TEST_GIFTCARDS, UNKNOWN_GIFTCARD, type GiftcardSandbox } from './sandbox/index.ts';

const CARD = '6036280000000011'; // PIN 1234, 100.00 EUR
const SMALL = '6036280000000029'; // PIN 4321, 25.00 EUR
const EMPTY = '6036280000000037'; // PIN 0000, 0.00 EUR
const BLOCKED = '6036280000000045'; // PIN 1111
const USD = '6036280000000052'; // PIN 2222, 50.00 USD
const PINS = ['1234', '4321', '0000', '1111', '2222'];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const eur = (value: number) => ({ value, currency: 'EUR' });

let pki: TestPki;
let sandbox: GiftcardSandbox;
let other: GiftcardSandbox;
let main: FullPath<typeof giftcard>;
let wrongKey: FullPath<typeof giftcard>;
const transcript: TranscriptEntry[] = [];
const logLines: string[] = [];
const errorTexts: string[] = [];
const handlerErrors: HandlerErrorEvent[] = [];

const sink = {
  info: (message: string, fields?: unknown) => logLines.push(`${message} ${inspect(fields)}`),
  warn: (message: string, fields?: unknown) => logLines.push(`${message} ${inspect(fields)}`),
  error: (message: string, fields?: unknown) => logLines.push(`${message} ${inspect(fields)}`),
};

beforeAll(async () => {
  pki = await makeTestPki();
  const tls = { cert: pki.tls.certPem, key: pki.tls.keyPem };
  [sandbox, other] = await Promise.all([startGiftcardSandbox({ tls }), startGiftcardSandbox({ tls })]);
  const worker = { transcript: (entry: TranscriptEntry) => void transcript.push(entry), log: sink };
  const common = { tls: { ca: pki.ca.certPem }, timeoutMs: 3_000 };
  [main, wrongKey] = await Promise.all([
    startFullPath({
      provider: giftcard, pki, worker,
      settings: { ...common, endpoint: sandbox.url, breaker: { volumeThreshold: 1_000 }, options: { api_key: sandbox.apiKey } },
    }),
    startFullPath({ provider: giftcard, pki, worker, settings: { ...common, endpoint: other.url, options: { api_key: 'not-the-right-key' } } }),
  ]);
  main.worker.on('handler-error', (event) => handlerErrors.push(event));
});
afterAll(async () => {
  await Promise.allSettled([main?.close(), wrongKey?.close()]);
  await Promise.allSettled([sandbox?.close(), other?.close()]);
});

type Path = FullPath<typeof giftcard>;
type Call = Parameters<Path['gateway']['request']>;

/** A request through the SDK; error replies' messages are kept for the leak checks. */
async function send<T extends Call[1]>(type: T, payload: Call[2], key: string = randomUUID(), path: Path = main) {
  try {
    const reply = await path.gateway.request('giftcard', type, payload as never, { idempotencyKey: key });
    if (reply.error !== undefined) errorTexts.push(reply.error.message);
    return reply;
  } catch (error) {
    errorTexts.push(inspect(error), String((error as Error).message));
    throw error;
  }
}

/** The reply's error (a RemoteError) of a request answered `error`. */
async function remoteError(type: Call[1], payload: Call[2], path: Path = main): Promise<RemoteError> {
  const error = await send(type, payload, randomUUID(), path).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RemoteError);
  return error as RemoteError;
}

const movementsOf = (reference: string) => sandbox.ledger.filter((entry) => entry.reference === reference);

describe('giftcard: balance, redeem, reload', () => {
  it('reads a balance (PIN checked), moving nothing', async () => {
    const reply = await send('balance', { card_number: CARD, pin: '1234' });
    expect(reply).toMatchObject({ status: 'approved', result: { balance: eur(10_000), provider_code: 'ok' } });
    expect(sandbox.ledger).toHaveLength(0);
  });

  it('redeems: the transaction id, the amount and the balance after; the key is the provider reference', async () => {
    const key = `redeem-${randomUUID()}`;
    const reply = await send('redeem', { card_number: SMALL, pin: '4321', amount: eur(1_000) }, key);
    expect(reply.status).toBe('approved');
    expect(reply.result).toEqual({ provider_code: 'ok', transaction_id: expect.stringMatching(/^GC[A-Z0-9]{12}$/), amount: eur(1_000), balance: eur(1_500) });
    expect(movementsOf(key)).toEqual([expect.objectContaining({ id: reply.result?.transaction_id, type: 'redeem', amount: 1_000 })]);
  });

  it.each([
    ['over the balance', EMPTY, '0000', 'INSUFFICIENT_BALANCE', 'insufficient_balance'],
    ['a wrong PIN', CARD, '9999', 'INCORRECT_CVC', 'invalid_pin'],
    ['a blocked card', BLOCKED, '1111', 'CARD_INACTIVE', 'card_blocked'],
    ['an unknown card', UNKNOWN_GIFTCARD, '1234', 'CARD_NOT_FOUND', 'card_not_found'],
    ['the wrong currency', USD, '2222', 'CURRENCY_NOT_SUPPORTED', 'currency_mismatch'],
  ])('declines a redeem %s with %s, the raw code kept, nothing moved', async (_what, card, pin, code, raw) => {
    const before = sandbox.ledger.length;
    const reply = await send('redeem', { card_number: card, pin, amount: eur(500) });
    expect(reply).toMatchObject({ status: 'declined', error: { code, retryable: false } });
    expect(reply.error?.message).toContain(`(provider code ${raw})`);
    expect(sandbox.ledger).toHaveLength(before);
  });

  it("maps the provider's internal error to a retryable PROCESSING_ERROR, nothing recorded", async () => {
    const key = randomUUID();
    const reply = await send('redeem', { card_number: CARD, pin: '1234', amount: eur(10_001) }, key);
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'PROCESSING_ERROR', retryable: true } });
    expect(movementsOf(key)).toEqual([]);
  });

  it('reloads (PIN optional) and the balance grows', async () => {
    const reply = await send('reload', { card_number: CARD, amount: eur(700) });
    expect(reply).toMatchObject({ status: 'approved', result: { amount: eur(700), balance: eur(10_700) } });
    const after = await send('balance', { card_number: CARD, pin: '1234' });
    expect(after.result?.balance).toEqual(eur(10_700));
  });

  it('refuses bad payloads in the SDK, naming the field, never the value', async () => {
    const error = await send('redeem', { card_number: '6036-28', pin: '12', amount: eur(1) }).then(() => undefined, (e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/card_number.*12 to 19 digits/);
    expect(String((error as Error).message)).not.toContain('6036-28');
  });
});

describe('giftcard: void and status', () => {
  it('voids a redeem: the money comes back; a second void is ALREADY_VOIDED; an unknown id INVALID_AUTHORIZATION', async () => {
    const redeemed = await send('redeem', { card_number: CARD, pin: '1234', amount: eur(300) });
    const id = redeemed.result?.transaction_id ?? '';
    expect(redeemed.result?.balance).toEqual(eur(10_400));
    const voided = await send('void', { transaction_id: id });
    expect(voided).toMatchObject({ status: 'approved', result: { voided_transaction_id: id, amount: eur(300), balance: eur(10_700) } });
    expect(voided.result?.transaction_id).not.toBe(id);
    expect(sandbox.ledger.find((entry) => entry.id === id)?.state).toBe('voided');
    expect(await send('void', { transaction_id: id })).toMatchObject({ status: 'declined', error: { code: 'ALREADY_VOIDED' } });
    expect(await send('void', { transaction_id: 'GC000000000000' })).toMatchObject({ status: 'declined', error: { code: 'INVALID_AUTHORIZATION' } });
  });

  it('status finds a transaction by reference and by id; an unknown reference is INVALID_AUTHORIZATION', async () => {
    const key = `status-${randomUUID()}`;
    const redeemed = await send('redeem', { card_number: CARD, pin: '1234', amount: eur(200) }, key);
    const id = redeemed.result?.transaction_id;
    const byReference = await send('status', { reference: key });
    expect(byReference).toMatchObject({
      status: 'approved',
      result: { transaction_id: id, reference: key, type: 'redeem', state: 'completed', amount: eur(200), card: '603628******0011' },
    });
    const byId = await send('status', { transaction_id: id ?? '' });
    expect(byId.result).toEqual(byReference.result);
    expect(await send('status', { reference: 'never-used' })).toMatchObject({ status: 'declined', error: { code: 'INVALID_AUTHORIZATION' } });
  });
});

describe('giftcard: idempotency and reconciliation', () => {
  it('a retry with the same key gets the same transaction, and the card moved once', async () => {
    const key = `retry-${randomUUID()}`;
    const payload = { card_number: SMALL, pin: '4321', amount: eur(100) };
    const first = await send('redeem', payload, key);
    const calls = sandbox.calls.byOperation.redeem;
    const second = await send('redeem', payload, key);
    expect(first.status).toBe('approved');
    expect(second.result).toEqual(first.result);
    expect(movementsOf(key)).toHaveLength(1);
    expect(sandbox.calls.byOperation.redeem).toBe(calls);
  });

  it('a hang-up after the charge is unknown; a retry with the same key reconciles through status: the true outcome, one movement', async () => {
    const key = `hangup-${randomUUID()}`;
    const payload = { card_number: CARD, pin: '1234', amount: eur(1_200) };
    sandbox.knobs.hangUp = 'after-charge';
    try {
      const first = await send('redeem', payload, key);
      expect(first).toMatchObject({ status: 'unknown', error: { code: 'OUTCOME_UNKNOWN', retryable: true } });
    } finally {
      sandbox.knobs.hangUp = null;
    }
    expect(movementsOf(key)).toHaveLength(1);
    const status = sandbox.calls.byOperation.status ?? 0;
    const second = await send('redeem', payload, key);
    expect(second).toMatchObject({ status: 'approved', result: { transaction_id: movementsOf(key)[0]?.id, amount: eur(1_200) } });
    expect(sandbox.calls.byOperation.status).toBe(status + 1);
    expect(movementsOf(key)).toHaveLength(1);
  });

  it.each(['xml-bomb', 'doctype', 'html', 'garbage', 'truncated'] as const)(
    'a %s answer is a typed fault, answered without waiting out the timeout; the worker keeps serving',
    async (variant) => {
      const seen = handlerErrors.length;
      sandbox.knobs.malformed = variant;
      try {
        const reply = await send('balance', { card_number: SMALL, pin: '4321' });
        expect(reply).toMatchObject({ status: 'unknown', error: { code: 'OUTCOME_UNKNOWN' } });
      } finally {
        sandbox.knobs.malformed = null;
      }
      const faults = handlerErrors.slice(seen);
      expect(faults.map((f) => f.hook)).toEqual(['handler', 'status']);
      const expected = variant === 'truncated' ? /^PROVIDER_(BAD_RESPONSE|TIMEOUT)$/ : /^PROVIDER_BAD_RESPONSE$/;
      for (const fault of faults) expect(fault.code).toMatch(expected);
      // Fast: read from the answer (or its hang-up), never by waiting out the call's timeout.
      for (const fault of faults) expect(fault.message).not.toMatch(/timed out/);
      if (variant === 'doctype') for (const fault of faults) expect(fault.message).not.toContain('passwd');
      expect(await send('balance', { card_number: SMALL, pin: '4321' })).toMatchObject({ status: 'approved' });
    },
  );

  it('a balance whose answer was broken is asked again when retried with the same key', async () => {
    const key = randomUUID();
    sandbox.knobs.malformed = 'doctype';
    try {
      expect(await send('balance', { card_number: USD, pin: '2222' }, key)).toMatchObject({ status: 'unknown' });
    } finally {
      sandbox.knobs.malformed = null;
    }
    const calls = sandbox.calls.byOperation.balance ?? 0;
    expect(await send('balance', { card_number: USD, pin: '2222' }, key)).toMatchObject({ status: 'approved', result: { balance: { value: 5_000, currency: 'USD' } } });
    expect(sandbox.calls.byOperation.balance).toBe(calls + 1);
  });

  it('a void whose answer was lost is reconciled by reference: voided once', async () => {
    const redeemed = await send('redeem', { card_number: SMALL, pin: '4321', amount: eur(40) });
    const id = redeemed.result?.transaction_id ?? '';
    const key = `void-${randomUUID()}`;
    sandbox.knobs.hangUp = 'after-charge';
    try {
      expect(await send('void', { transaction_id: id }, key)).toMatchObject({ status: 'unknown' });
    } finally {
      sandbox.knobs.hangUp = null;
    }
    const reply = await send('void', { transaction_id: id }, key);
    expect(reply).toMatchObject({ status: 'approved', result: { transaction_id: movementsOf(key)[0]?.id, voided_transaction_id: id, amount: eur(40) } });
    expect(sandbox.ledger.filter((entry) => entry.parentId === id)).toHaveLength(1);
  });

  it('a broken answer to a redeem is reconciled by a retry with the same key', async () => {
    const key = `bomb-${randomUUID()}`;
    const payload = { card_number: CARD, pin: '1234', amount: eur(50) };
    sandbox.knobs.malformed = 'xml-bomb';
    try {
      expect(await send('redeem', payload, key)).toMatchObject({ status: 'unknown' });
    } finally {
      sandbox.knobs.malformed = null;
    }
    expect(await send('redeem', payload, key)).toMatchObject({ status: 'approved', result: { transaction_id: movementsOf(key)[0]?.id } });
    expect(movementsOf(key)).toHaveLength(1);
  });
});

describe('giftcard: credentials and the breaker', () => {
  it('a wrong API key is a CONFIGURATION_ERROR decline, nothing processed', async () => {
    const reply = await send('balance', { card_number: CARD, pin: '1234' }, randomUUID(), wrongKey);
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'CONFIGURATION_ERROR', retryable: false } });
    expect(reply.error?.message).toContain('(provider code unauthorized)');
    expect(other.logLines.join('\n')).toMatch(/unauthorized/);
  });

  it('a provider that is down is PROVIDER_UNAVAILABLE; the breaker opens at its threshold, then answers without a call', async () => {
    await other.down();
    let failures = 0;
    while (wrongKey.worker.breakerSnapshot()[0]?.state !== 'open') {
      const error = await remoteError('balance', { card_number: CARD, pin: '1234' }, wrongKey);
      expect(error).toMatchObject({ remoteCode: 'PROVIDER_UNAVAILABLE', retryable: true });
      failures += 1;
      expect(failures).toBeLessThanOrEqual(5); // the plugin's volumeThreshold
    }
    expect(failures).toBeGreaterThanOrEqual(4);
    await other.up();
    const calls = other.calls.total;
    const refused = await remoteError('balance', { card_number: CARD, pin: '1234' }, wrongKey);
    expect(refused).toMatchObject({ remoteCode: 'PROVIDER_UNAVAILABLE', retryable: true });
    expect(refused.message).toMatch(/breaker|open/i);
    expect(other.calls.total).toBe(calls);
    expect(wrongKey.worker.breakerSnapshot()[0]).toMatchObject({ state: 'open', rejects: 1 });
  });
});

describe('giftcard: no card number, PIN or API key leaks', () => {
  it('payloads print masked', () => {
    const payload = validateRequest(giftcard, 'redeem', { card_number: CARD, pin: '1234', amount: eur(1) });
    const printed = `${inspect(payload)} ${JSON.stringify(payload)} ${String(payload.card_number)} ${String(payload.pin)}`;
    expect(printed).not.toContain(CARD);
    expect(printed).not.toContain('1234');
    expect(printed).toContain('603628******0011');
  });

  it('transcripts, log lines and error messages hold none', () => {
    const requests = transcript.filter((entry) => entry.direction === 'request').map((entry) => entry.body);
    expect(requests.length).toBeGreaterThan(20);
    expect(requests.some((body) => body.includes('<pin>***</pin>') && body.includes('<card>***</card>'))).toBe(true);
    const everything = [...transcript.map((entry) => entry.body), ...logLines, ...errorTexts].join('\n');
    expect(logLines.length + errorTexts.length).toBeGreaterThan(0);
    // Thorough: gift card numbers belong to no card brand. Idempotency keys here are UUIDs, whose
    // all-digit groups would read as Luhn-valid runs, so they are taken out first.
    expect(findPans(everything.replace(UUID, '<uuid>'), { thorough: true })).toEqual([]);
    for (const card of [...Object.keys(TEST_GIFTCARDS), UNKNOWN_GIFTCARD]) expect(everything).not.toContain(card);
    expect(everything).not.toMatch(new RegExp(`<pin>(${PINS.join('|')}|9999)</pin>`));
    expect(everything).not.toContain(sandbox.apiKey);
    expect(everything).not.toContain('not-the-right-key');
  });
});
