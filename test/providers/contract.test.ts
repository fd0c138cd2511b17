import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { inspect } from 'node:util';
import ts from 'typescript';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import * as z from 'zod';
import {
  defineProvider, maskingLogger, PING_TYPE, PROVIDER_ERROR_CODES, ProviderError, scrubCardNumbers, supportsType, validateRequest, validateResult,
  type ActionContext, type ActionOutcome, type ActionTypes, type PayloadOf, type ProviderDefinition, type RequestOf, type ResultOf,
} from '../../src/providers/index.ts';
import { CardNumber, Cvc, type Money } from '../../src/wire/index.ts';
import { PaygateError } from '../../src/errors.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { nextTurn, track } from '../helpers/timing.ts';
import counting, { counter, readJournal } from '../fixtures/counting-provider.ts';
import cardProvider from '../../providers/card/index.ts';
import giftcardProvider from '../../providers/giftcard/index.ts';
import paypalProvider from '../../providers/paypal/index.ts';
import templateProvider from '../../providers/_template/index.ts';

const PAN = '4111111111111111';
const card = { number: PAN, exp_month: 12, exp_year: 2040, cvc: '123' };

function context(key: string, signal: AbortSignal = new AbortController().signal): ActionContext {
  const lines: string[] = [];
  const log = (message: string, fields?: Readonly<Record<string, unknown>>) => void lines.push(`${message} ${inspect(fields)}`);
  return { idempotencyKey: key, requestId: '6f1c0d2e-8b1a-4c6e-9f00-1234567890ab', signal, log: { info: log, warn: log, error: log }, resources: undefined };
}

/** Runs `fn`, expects a ProviderError, and returns it. */
function refusal(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toBeInstanceOf(PaygateError);
    return error as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

/** Everything about an error a log line or a reply could show. */
function shown(error: ProviderError): string {
  return [error.message, inspect(error), JSON.stringify(error.issues), error.stack ?? ''].join('\n');
}

const minimal = {
  name: 'mini',
  version: '0.1.0',
  actions: {
    echo: {
      request: z.strictObject({ text: z.string() }),
      result: z.strictObject({ text: z.string() }),
      handler: async (payload: { text: string }) => ({ status: 'approved' as const, result: payload }),
    },
  },
  scrub: scrubCardNumbers,
};

afterEach(() => {
  vi.useRealTimers();
  counter.reset();
});

describe('defineProvider', () => {
  it('returns a frozen definition whose capabilities are the action names', () => {
    expect(Object.isFrozen(counting)).toBe(true);
    expect(Object.isFrozen(counting.actions)).toBe(true);
    expect(Object.isFrozen(counting.actions.authorize)).toBe(true);
    expect(Object.isFrozen(counting.capabilities)).toBe(true);
    expect(counting.capabilities).toEqual(['authorize', 'capture', 'status']);
    expect(counting.name).toBe('counting');
    expect(counting.version).toBe('1.0.0');
    expect(typeof counting.status).toBe('function');
    expect('status' in defineProvider(minimal)).toBe(false);
  });

  it('knows an unsupported type before any call', () => {
    expect(supportsType(counting, 'authorize')).toBe(true);
    for (const type of ['refund', PING_TYPE, 'toString', '__proto__', 'constructor']) expect(supportsType(counting, type)).toBe(false);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a name outside the wire rule', { name: 'Card Processor' }, /provider name/],
    ['a name too long', { name: 'a'.repeat(65) }, /provider name/],
    ['no version', { version: undefined }, /version/],
    ['a version with spaces', { version: '1 0' }, /version/],
    ['no scrub', { scrub: undefined }, /scrub\(transcript\) is mandatory/],
    ['a scrub that leaves card numbers', { scrub: (t: string) => t }, /scrub leaves card numbers/],
    ['a scrub that returns nothing', { scrub: () => undefined }, /scrub must return a string/],
    ['a scrub that throws', { scrub: () => { throw new Error(`no ${PAN}`); } }, /scrub threw/],
    ['a status that is not a function', { status: 'yes' }, /status must be a function/],
    ['an unknown field', { transprot: 'soap' }, /unknown field "transprot"/],
    ['no actions', { actions: {} }, /at least one request type/],
    ['actions not an object', { actions: [] }, /actions must be an object/],
    ['the reserved ping', { actions: { ping: minimal.actions.echo } }, /"ping" is reserved/],
    ['an action name outside the wire rule', { actions: { Refund: minimal.actions.echo } }, /action "Refund"/],
    ['a request that is not a zod schema', { actions: { echo: { ...minimal.actions.echo, request: {} } } }, /request must be a zod 4 schema/],
    ['a result that is not a zod schema', { actions: { echo: { ...minimal.actions.echo, result: null } } }, /result must be a zod 4 schema/],
    ['no handler', { actions: { echo: { ...minimal.actions.echo, handler: undefined } } }, /handler must be a function/],
    ['an unknown action field', { actions: { echo: { ...minimal.actions.echo, handle: () => 1 } } }, /unknown field "handle"/],
  ])('refuses %s with PROVIDER_INVALID', (_, change, message) => {
    const error = refusal(() => defineProvider({ ...minimal, ...change } as unknown as typeof minimal));
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toMatch(message);
  });

  it('refuses a definition that is not an object', () => {
    expect(refusal(() => defineProvider(null as unknown as typeof minimal)).code).toBe('PROVIDER_INVALID');
  });

  it('never echoes card data in its refusals', () => {
    const error = refusal(() => defineProvider({ ...minimal, [PAN]: 1 } as unknown as typeof minimal));
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(findPans(shown(error))).toEqual([]);
  });
});

describe('validateRequest', () => {
  it('returns the parsed payload, card numbers as secrets', () => {
    const payload = validateRequest(counting, 'authorize', { amount: { value: 1999, currency: 'EUR' }, card, order_id: 'ord-1' });
    expect(payload.card.number).toBeInstanceOf(CardNumber);
    expect(payload.amount).toEqual({ value: 1999, currency: 'EUR' });
    expect(findPans(inspect(payload))).toEqual([]);
  });

  it.each(['refund', PING_TYPE, 'toString', '__proto__', `x${PAN}`])('refuses the type %s with UNSUPPORTED_TYPE', (type) => {
    const error = refusal(() => validateRequest(counting, type as 'authorize', {}));
    expect(error.code).toBe('UNSUPPORTED_TYPE');
    expect(findPans(shown(error))).toEqual([]);
  });

  it('refuses a bad payload with INVALID_REQUEST: paths and problems, never values', () => {
    const bad = {
      amount: { value: 19.99, currency: 'eur' },
      card: { ...card, exp_month: 13, cvc: PAN },
      order_id: PAN,
      [PAN]: PAN,
      note: `card ${PAN}`,
    };
    const error = refusal(() => validateRequest(counting, 'authorize', bad));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/^request payload of counting\/authorize does not match the schema: /);
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['amount.value', 'amount.currency', 'card.exp_month', 'card.cvc']));
    expect(findPans(shown(error), { thorough: true })).toEqual([]);
    expect(shown(error)).not.toContain('19.99');
    expect(error.cause).toBeUndefined();
  });

  it('names the root when the payload is not a mapping', () => {
    const error = refusal(() => validateRequest(counting, 'capture', 'auth_1'));
    expect(error.issues).toEqual([{ path: '(payload)', message: expect.any(String) }]);
  });

  it('refuses a card number that fails Luhn without showing it', () => {
    const error = refusal(() =>
      validateRequest(counting, 'authorize', { amount: { value: 1, currency: 'EUR' }, card: { ...card, number: '4111111111111112' }, order_id: 'o' }),
    );
    expect(error.issues).toEqual([{ path: 'card.number', message: 'card number fails the Luhn check' }]);
    expect(shown(error)).not.toContain('4111111111111112');
  });
});

describe('validateRequest: card numbers outside the card fields', () => {
  const EUR = { value: 1999, currency: 'EUR' };
  const GIFT = '6036280000000011';
  // Every free-text field of the plugins this repository ships, each with a card number in it.
  const cases: [string, ProviderDefinition, string, Record<string, unknown>, string][] = [
    ['counting', counting, 'authorize', { amount: EUR, card, order_id: `ord ${PAN}` }, 'order_id'],
    ['counting', counting, 'authorize', { amount: EUR, card: { ...card, holder: `J DOE ${PAN}` }, order_id: 'o' }, 'card.holder'],
    ['card', cardProvider, 'authorize', { amount: EUR, card: { ...card, holder: PAN } }, 'card.holder'],
    ['card', cardProvider, 'status', { idempotency_key: `retry-${PAN}` }, 'idempotency_key'],
    ['paypal', paypalProvider, 'sale', { amount: EUR, card, invoice: `INV ${PAN}` }, 'invoice'],
    ['paypal', paypalProvider, 'capture', { authorization_id: 'A'.repeat(17), amount: EUR, invoice: '4111-1111-1111-1111' }, 'invoice'],
    ['giftcard', giftcardProvider, 'status', { reference: `gift ${PAN}` }, 'reference'],
    ['template', templateProvider, 'charge', { amount: EUR, card, order_id: PAN }, 'order_id'],
  ];

  it.each(cases)('%s/%s refuses a card number in %s with CARD_DATA_IN_TEXT, naming the field only', (_name, definition, type, payload, field) => {
    const error = refusal(() => validateRequest(definition, type, payload));
    expect(error.code).toBe('CARD_DATA_IN_TEXT');
    expect(error.message).toBe(
      `request payload of ${definition.name}/${type}: ${field} holds a card number: card numbers belong only in the payload's card fields`,
    );
    expect(error.issues).toEqual([{ path: field, message: expect.stringMatching(/^holds a card number/) }]);
    expect(findPans(shown(error), { thorough: true })).toEqual([]);
  });

  it.each([
    ['counting', counting, 'authorize', { amount: EUR, card: { ...card, holder: 'J Doe' }, order_id: 'ord-2026-0001' }],
    ['card', cardProvider, 'authorize', { amount: EUR, card }],
    ['paypal', paypalProvider, 'sale', { amount: EUR, card, invoice: 'INV-2026-0001' }],
    ['giftcard', giftcardProvider, 'redeem', { card_number: GIFT, pin: '1234', amount: EUR }],
    ['template', templateProvider, 'charge', { amount: EUR, card, order_id: 'order-1' }],
  ] as [string, ProviderDefinition, string, Record<string, unknown>][])('%s/%s accepts a real card in its card field', (_name, definition, type, payload) => {
    expect(() => validateRequest(definition, type, payload)).not.toThrow();
  });

  it('a payload that also breaks the schema is INVALID_REQUEST (the schema is checked first, paths only)', () => {
    const error = refusal(() => validateRequest(counting, 'authorize', { amount: EUR, card, order_id: PAN, extra: 1 }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(findPans(shown(error), { thorough: true })).toEqual([]);
  });
});

describe('validateResult', () => {
  const amount = { value: 1000, currency: 'EUR' };

  it('accepts outcomes and parses the result', () => {
    const approved = validateResult(counting, 'authorize', { status: 'approved', result: { authorization_id: 'auth_1', amount } });
    expect(approved).toEqual({ status: 'approved', result: { authorization_id: 'auth_1', amount } });
    expect(Object.isFrozen(approved)).toBe(true);
    const error = { code: 'CARD_DECLINED', message: 'declined', retryable: false };
    expect(validateResult(counting, 'capture', { status: 'declined', error })).toEqual({ status: 'declined', error });
    expect(validateResult(counting, 'capture', { status: 'unknown' })).toEqual({ status: 'unknown' });
    expect(validateResult(counting, 'capture', { status: 'pending' })).toEqual({ status: 'pending' });
  });

  it.each<[string, unknown, string]>([
    ['status error (faults are thrown)', { status: 'error', error: { code: 'X', message: 'x', retryable: false } }, 'status'],
    ['approved without a result', { status: 'approved' }, 'result'],
    ['approved with an error', { status: 'approved', result: { authorization_id: 'auth_1', amount }, error: { code: 'X', message: '', retryable: true } }, 'error'],
    ['declined without a reason', { status: 'declined' }, 'error'],
    ['a lower-case error code', { status: 'declined', error: { code: 'card_declined', message: '', retryable: false } }, 'error.code'],
    ['a result that breaks the schema', { status: 'approved', result: { authorization_id: PAN, amount } }, 'result.authorization_id'],
    ['an unknown field', { status: 'unknown', extra: PAN }, '(payload)'],
    ['not an object', null, '(payload)'],
  ])('refuses %s with INVALID_RESULT', (_, outcome, path) => {
    const error = refusal(() => validateResult(counting, 'authorize', outcome));
    expect(error.code).toBe('INVALID_RESULT');
    expect(error.issues.map((i) => i.path)).toContain(path);
    expect(findPans(shown(error), { thorough: true })).toEqual([]);
  });

  it('masks a card number in an outcome error message', () => {
    const error = { code: 'CARD_DECLINED', message: `card ${PAN} declined`, retryable: false };
    const outcome = validateResult(counting, 'capture', { status: 'declined', error });
    expect(outcome.error?.message).toBe('card 411111******1111 declined');
  });

  it('refuses an unknown type with UNSUPPORTED_TYPE', () => {
    expect(refusal(() => validateResult(counting, 'refund' as 'authorize', { status: 'unknown' })).code).toBe('UNSUPPORTED_TYPE');
  });
});

describe('types inferred from the schemas', () => {
  type Counting = typeof counting;

  it('gives the action names, request inputs and result outputs', () => {
    expectTypeOf<ActionTypes<Counting>>().toEqualTypeOf<'authorize' | 'capture' | 'status'>();
    expectTypeOf<Counting['name']>().toEqualTypeOf<'counting'>();
    expectTypeOf<RequestOf<Counting, 'capture'>>().toEqualTypeOf<{ authorization_id: string; amount?: { value: number; currency: string } | undefined }>();
    expectTypeOf<ResultOf<Counting, 'authorize'>>().toEqualTypeOf<{ authorization_id: string; amount: { value: number; currency: string } }>();
    expectTypeOf<RequestOf<Counting, 'authorize'>['card']['number']>().toEqualTypeOf<string | CardNumber>();
    expectTypeOf<PayloadOf<Counting, 'authorize'>['card']['number']>().toEqualTypeOf<CardNumber>();
    expectTypeOf(() => validateRequest(counting, 'capture', {})).returns.toEqualTypeOf<PayloadOf<Counting, 'capture'>>();
    expectTypeOf(() => validateResult(counting, 'status', {})).returns.toEqualTypeOf<ActionOutcome<ResultOf<Counting, 'status'>>>();
    expectTypeOf(counting).toExtend<ProviderDefinition>();
  });

  it('makes a wrong field, a wrong type name or a wrong result a compile error', () => {
    const request: RequestOf<Counting, 'authorize'> = { amount: { value: 1, currency: 'EUR' }, card, order_id: 'o' };
    // @ts-expect-error amount.value is a number of minor units
    const wrongValue: RequestOf<Counting, 'authorize'> = { ...request, amount: { value: '1.00', currency: 'EUR' } };
    // @ts-expect-error orderId is not a field (order_id is)
    const wrongField: RequestOf<Counting, 'authorize'> = { amount: request.amount, card, orderId: 'o' };
    // @ts-expect-error refund is not an action of counting
    const wrongType: ActionTypes<Counting> = 'refund';
    // @ts-expect-error the result has no captured field
    const wrongResult: ResultOf<Counting, 'authorize'>['captured'] = undefined;
    expect([wrongValue, wrongField, wrongType, wrongResult]).toHaveLength(4);
  });

  it('types each handler from its own schemas', () => {
    const provider = defineProvider({
      name: 'typed',
      version: '1.0.0',
      actions: {
        balance: {
          request: z.strictObject({ card_id: z.string() }),
          result: z.strictObject({ balance: z.number().int() }),
          handler: async (payload) => {
            expectTypeOf(payload).toEqualTypeOf<{ card_id: string }>();
            return { status: 'approved', result: { balance: payload.card_id.length } };
          },
        },
        redeem: {
          request: z.strictObject({ card_id: z.string(), amount: z.number() }),
          result: z.strictObject({ remaining: z.number() }),
          // @ts-expect-error the result of redeem has `remaining`, not `balance`
          handler: async (payload) => ({ status: 'approved', result: { balance: payload.amount } }),
        },
        void: {
          request: z.strictObject({ id: z.string() }),
          result: z.strictObject({}),
          // @ts-expect-error a decline must carry its reason
          handler: async () => ({ status: 'declined' }),
        },
      },
      scrub: scrubCardNumbers,
      async status(inquiry) {
        if (inquiry.type === 'redeem') expectTypeOf(inquiry.payload).toEqualTypeOf<{ card_id: string; amount: number }>();
        return null;
      },
    });
    expectTypeOf<ActionTypes<typeof provider>>().toEqualTypeOf<'balance' | 'redeem' | 'void'>();
    expect(provider.capabilities).toEqual(['balance', 'redeem', 'void']);
  });
});

describe('the counting fixture', () => {
  const amount = (value: number): Money => ({ value, currency: 'EUR' });
  const authorize = (value: number, key: string, signal?: AbortSignal) =>
    counting.actions.authorize.handler(
      validateRequest(counting, 'authorize', { amount: amount(value), card, order_id: `ord-${key}` }),
      context(key, signal),
    );

  it('approves, declines amounts ending in 51, and counts calls per idempotency key', async () => {
    const approved = validateResult(counting, 'authorize', await authorize(1999, 'k1'));
    expect(approved).toEqual({ status: 'approved', result: { authorization_id: 'auth_1', amount: amount(1999) } });
    const declined = validateResult(counting, 'authorize', await authorize(1051, 'k2'));
    expect(declined.status).toBe('declined');
    expect(declined.error?.code).toBe('CARD_DECLINED');
    await authorize(1999, 'k1');
    expect(counter.calls('k1')).toBe(2);
    expect(counter.calls('k2')).toBe(1);
    expect(counter.total).toBe(3);
    expect(counter.distinctKeys).toBe(2);
    expect(counter.duplicates).toEqual(['k1']);
    expect(counter.callsOf('authorize')).toBe(3);
    counter.reset();
    expect([counter.total, counter.distinctKeys, counter.ledger.length]).toEqual([0, 0, 0]);
  });

  it('captures and reports status from its ledger', async () => {
    await authorize(500, 'a');
    const capture = (payload: unknown, key: string) =>
      counting.actions.capture.handler(validateRequest(counting, 'capture', payload), context(key));
    expect(validateResult(counting, 'capture', await capture({ authorization_id: 'auth_1', amount: amount(600) }, 'c0')).status).toBe('declined');
    expect(validateResult(counting, 'capture', await capture({ authorization_id: 'auth_1' }, 'c1'))).toEqual({
      status: 'approved',
      result: { authorization_id: 'auth_1', captured: amount(500) },
    });
    expect((await capture({ authorization_id: 'auth_1' }, 'c2')).error?.code).toBe('INVALID_AUTHORIZATION');
    expect((await capture({ authorization_id: 'auth_9' }, 'c3')).status).toBe('declined');
    const status = await counting.actions.status.handler(validateRequest(counting, 'status', { authorization_id: 'auth_1' }), context('s'));
    expect(validateResult(counting, 'status', status).result).toEqual({ authorization_id: 'auth_1', state: 'captured', amount: amount(500) });
    expect(counter.callsOf('capture')).toBe(4);
  });

  it('reconciles an earlier authorize through its status hook', async () => {
    await authorize(750, 'r1');
    await authorize(1051, 'r2');
    const payload = validateRequest(counting, 'authorize', { amount: amount(750), card, order_id: 'x' });
    const reconcile = counting.status;
    expect(reconcile).toBeDefined();
    if (reconcile === undefined) return;
    const first = await reconcile({ type: 'authorize', payload }, context('r1'));
    expect(validateResult(counting, 'authorize', first)).toEqual({ status: 'approved', result: { authorization_id: 'auth_1', amount: amount(750) } });
    expect((await reconcile({ type: 'authorize', payload }, context('r2')))?.status).toBe('declined');
    expect(await reconcile({ type: 'authorize', payload }, context('never-seen'))).toBeNull();
    expect(counter.total).toBe(2);
  });

  it('waits the configured delay and gives up when the signal aborts', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    counter.delayMs = 50;
    const slow = authorize(100, 'slow');
    const progress = track(slow);
    await vi.advanceTimersByTimeAsync(49);
    await nextTurn();
    expect(progress.settled()).toBe(false); // still waiting at 49 ms
    await vi.advanceTimersByTimeAsync(1);
    await expect(slow).resolves.toMatchObject({ status: 'approved' });
    counter.delayMs = 10_000;
    const controller = new AbortController();
    const pending = authorize(100, 'aborted', controller.signal);
    controller.abort(new Error('expired'));
    await expect(pending).rejects.toThrow('expired');
    // The call reached the provider (it is counted and charged): the worker must treat it as unknown.
    expect(counter.calls('aborted')).toBe(1);
    const already = AbortSignal.abort(new Error('gone'));
    await expect(authorize(100, 'late', already)).rejects.toThrow('gone');
  });

  it('appends every call to a journal file when one is set (for plugins in other processes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'counting-'));
    try {
      const journal = join(dir, 'calls');
      expect(readJournal(journal).size).toBe(0);
      counter.journal = journal;
      await authorize(100, 'j 1');
      await authorize(100, 'j 1');
      await authorize(100, 'j2');
      expect([...readJournal(journal)]).toEqual([['j 1', 2], ['j2', 1]]);
      counter.reset();
      expect(counter.journal).toBe(process.env.PAYGATE_COUNTING_JOURNAL || undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs no card data', async () => {
    const lines: string[] = [];
    const log = (message: string, fields?: Readonly<Record<string, unknown>>) => void lines.push(`${message} ${inspect(fields)}`);
    const payload = validateRequest(counting, 'authorize', { amount: amount(1), card, order_id: 'o' });
    await counting.actions.authorize.handler(payload, { ...context('log'), log: { info: log, warn: log, error: log } });
    expect(lines.length).toBeGreaterThan(0);
    expect(findPans(lines.join('\n'), { thorough: true })).toEqual([]);
  });
});

describe('maskingLogger', () => {
  it('masks card numbers in messages and fields, however nested', () => {
    const lines: unknown[][] = [];
    const sink = { info: (...a: unknown[]) => void lines.push(['info', ...a]), warn: (...a: unknown[]) => void lines.push(['warn', ...a]), error: (...a: unknown[]) => void lines.push(['error', ...a]) };
    const log = maskingLogger(sink);
    log.info(`charging ${PAN}`);
    log.warn('fields', {
      pan: PAN,
      n: Number(PAN),
      count: 3,
      [PAN]: true,
      nested: { list: [{ deeper: `x ${PAN} y` }] },
      secret: new CardNumber(PAN),
      cvc: new Cvc('123'),
      failure: new Error(`bad ${PAN}`),
      when: new Date(0),
      none: null,
    });
    log.error('plain');
    const text = inspect(lines, { depth: 20 });
    expect(findPans(text, { thorough: true })).toEqual([]);
    expect(lines[0]).toEqual(['info', 'charging 411111******1111']);
    expect(lines[1]?.[2]).toMatchObject({ pan: '411111******1111', count: 3, secret: '411111******1111', cvc: '***', none: null });
    expect(lines[2]).toEqual(['error', 'plain']);
    expect(text).not.toContain(' 123');
  });
});

describe('error codes and dependencies', () => {
  it('has the documented codes', () => {
    expect(PROVIDER_ERROR_CODES).toEqual(['PROVIDER_INVALID', 'UNSUPPORTED_TYPE', 'INVALID_REQUEST', 'INVALID_RESULT', 'CARD_DATA_IN_TEXT']);
  });

  it('src/providers imports only src/wire/index.ts and src/errors.ts', () => {
    const root = new URL('../..', import.meta.url).pathname;
    const files = readdirSync(join(root, 'src/providers'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => relative(root, join(e.parentPath, e.name)));
    const offending = files.flatMap((file) =>
      [...readFileSync(join(root, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)]
        .map((m) => relative(root, join(root, file, '..', m[1] as string)))
        .filter((t) => !t.startsWith('src/providers/') && t !== 'src/wire/index.ts' && t !== 'src/errors.ts')
        .map((t) => `${file} → ${t}`),
    );
    expect(files.length).toBeGreaterThan(0);
    expect(offending).toEqual([]);
  });
});

describe('docs/providers.md', () => {
  const root = new URL('../..', import.meta.url).pathname;

  it('the complete example type-checks as the plugin file it names', () => {
    const doc = readFileSync(join(root, 'docs/providers.md'), 'utf8');
    const match = /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/.exec(doc);
    expect(match).not.toBeNull();
    const [, path, text] = match as unknown as [string, string, string];
    const file = join(root, path);
    // The file exists only in memory: the compiler reads it from the docs, everything else from disk.
    const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);
    const host = ts.createCompilerHost(config.options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, language, ...rest) =>
      name === file ? ts.createSourceFile(name, text, language) : getSourceFile.call(host, name, language, ...rest);
    host.fileExists = (name) => name === file || fileExists.call(host, name);
    host.readFile = (name) => (name === file ? text : readFile.call(host, name));
    const program = ts.createProgram([file], config.options, host);
    const problems = ts
      .getPreEmitDiagnostics(program, program.getSourceFile(file))
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
    expect(text).toMatch(/export default giftcard;/);
  });

  it('documents every error code', () => {
    const doc = readFileSync(join(root, 'docs/providers.md'), 'utf8');
    for (const code of PROVIDER_ERROR_CODES) expect(doc).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});
