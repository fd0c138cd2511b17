/**
 * paygate/provider's test kit: one action run as the worker runs it — payload checks, a real
 * context, the outcome checked — with the handler's log lines masked as the worker masks them.
 */
import { describe, expect, it } from 'vitest';
import {
  CardNumber, cardSchema, defineProvider, moneySchema, ProviderError, providerResultFields, runAction, scrubCardNumbers, testActionContext,
  TestKitError, z,
} from '../../src/provider.ts';
import { PaygateError } from '../../src/errors.ts';

const PAN = '4111111111111111';

/** What the handlers saw, to show what the kit passed them. */
const seen: { payload?: unknown; key?: string; requestId?: string; aborted?: boolean; resources?: unknown }[] = [];

const shop = defineProvider({
  name: 'kit-shop',
  version: '1.0.0',
  setup: () => ({ prefix: 'tx' }),
  actions: {
    pay: {
      request: z.strictObject({ amount: moneySchema, card: cardSchema, note: z.string().optional() }),
      result: z.strictObject({ ...providerResultFields, transaction_id: z.string() }),
      async handler(payload, context) {
        seen.push({ payload, key: context.idempotencyKey, requestId: context.requestId, aborted: context.signal.aborted, resources: context.resources });
        context.log.info(`paying with ${PAN}`, { card: payload.card.number, raw: PAN });
        if (payload.amount.value === 51) {
          return { status: 'declined', error: { code: 'CARD_DECLINED', message: 'declined', retryable: false } };
        }
        if (payload.amount.value === 99) return { status: 'approved', result: { provider_code: '00' } as never };
        return { status: 'approved', result: { provider_code: '00', transaction_id: `${context.resources.prefix}-1` } };
      },
    },
  },
  scrub: scrubCardNumbers,
});

const year = new Date().getFullYear() + 2;
const payment = (value: number, extra: Record<string, unknown> = {}) => ({
  amount: { value, currency: 'EUR' },
  card: { number: PAN, exp_month: 12, exp_year: year, cvc: '123' },
  ...extra,
});

describe('runAction', () => {
  it('runs the handler on the parsed payload with a real context, and returns the checked outcome', async () => {
    seen.length = 0;
    const { outcome, logs } = await runAction(shop, 'pay', payment(1999), { resources: { prefix: 'tx' }, idempotencyKey: 'ord-1-pay' });
    expect(outcome).toEqual({ status: 'approved', result: { provider_code: '00', transaction_id: 'tx-1' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ key: 'ord-1-pay', requestId: 'test-request-1', aborted: false, resources: { prefix: 'tx' } });
    // The card number reaches the handler as a secret, as from the worker.
    expect((seen[0]?.payload as { card: { number: unknown } }).card.number).toBeInstanceOf(CardNumber);
    expect(logs).toHaveLength(1);
    expect(JSON.stringify(logs)).not.toContain(PAN);
    expect(logs[0]?.message).toMatch(/^paying with 411111\*+1111$/);
  });

  it('returns a decline as an outcome, not an exception', async () => {
    const { outcome } = await runAction(shop, 'pay', payment(51), { resources: { prefix: 'tx' } });
    expect(outcome).toEqual({ status: 'declined', error: { code: 'CARD_DECLINED', message: 'declined', retryable: false } });
  });

  it('refuses a payload the schema refuses, or a card number out of place, before the handler runs', async () => {
    seen.length = 0;
    const invalid = await runAction(shop, 'pay', { amount: { value: 5, currency: 'EUR' } }, { resources: {} }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ProviderError);
    expect(invalid).toMatchObject({ code: 'INVALID_REQUEST' });
    const leaked = await runAction(shop, 'pay', payment(5, { note: PAN }), { resources: {} }).catch((e: unknown) => e);
    expect(leaked).toMatchObject({ code: 'CARD_DATA_IN_TEXT', issues: [{ path: 'note' }] });
    expect(String((leaked as Error).message)).not.toContain(PAN);
    const unsupported = await runAction(shop, 'refund' as 'pay', payment(5), { resources: {} }).catch((e: unknown) => e);
    expect(unsupported).toMatchObject({ code: 'UNSUPPORTED_TYPE' });
    expect(seen).toEqual([]);
  });

  it('refuses an outcome that breaks the result schema', async () => {
    const error = await runAction(shop, 'pay', payment(99), { resources: { prefix: 'tx' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'INVALID_RESULT' });
  });

  it('passes the caller\'s signal', async () => {
    seen.length = 0;
    const controller = new AbortController();
    controller.abort();
    await runAction(shop, 'pay', payment(1999), { resources: { prefix: 'tx' }, signal: controller.signal });
    expect(seen[0]?.aborted).toBe(true);
  });
});

describe('testActionContext', () => {
  it('gives the defaults, and a logger that masks and records', () => {
    const { context, logs } = testActionContext({ resources: 7 });
    expect(context).toMatchObject({ idempotencyKey: 'test-key-1', requestId: 'test-request-1', resources: 7 });
    context.log.warn('card', { number: PAN, nested: [{ pan: Number(PAN) }] });
    expect(logs).toEqual([{ level: 'warn', message: 'card', fields: { number: '411111******1111', nested: [{ pan: '411111******1111' }] } }]);
  });

  it('refuses wrong options with TEST_KIT_OPTIONS_INVALID naming the option', () => {
    const error = (() => {
      try {
        testActionContext({ resources: null, idempotencyKey: 'k'.repeat(129) });
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TestKitError);
    expect(error).toBeInstanceOf(PaygateError);
    expect(error).toMatchObject({ code: 'TEST_KIT_OPTIONS_INVALID', message: expect.stringContaining('idempotencyKey') });
    // A misspelt option is refused too, not ignored.
    expect(() => testActionContext({ resources: null, signl: new AbortController().signal } as never)).toThrow(/signl/);
  });
});
