import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  AVS_RESULTS, CVV_RESULTS, STANDARD_DECLINE_CODES, STANDARD_ERROR_CODES, approved, avsResultSchema, cvvResultSchema, declined,
  defineProvider, isStandardErrorCode, mapProviderCode, providerResultFields, scrubCardNumbers, standardErrorCodeSchema,
  unknownOutcome, validateResult, type ProviderCodeTable,
} from '../../src/providers/index.ts';
import { replyDocumentSchema } from '../../src/wire/index.ts';

const replyError = replyDocumentSchema.shape.error.unwrap();

/** A plugin whose result schema carries the standard fields, to run helper outcomes through validateResult. */
const card = defineProvider({
  name: 'outcome-test',
  version: '1.0.0',
  actions: {
    authorize: {
      request: z.strictObject({ amount: z.number().int() }),
      result: z.strictObject({ ...providerResultFields, authorization_id: z.string().optional() }),
      handler: async () => approved({ provider_code: '00', authorization_id: 'auth-1' }),
    },
  },
  scrub: scrubCardNumbers,
});

const PAYPAL: ProviderCodeTable = {
  '10417': 'CARD_DECLINED',
  '10486': { code: 'PROCESSING_ERROR', retryable: false },
  '15005': 'CARD_DECLINED',
  '10502': 'EXPIRED_CARD',
  '10001': 'PROCESSING_ERROR',
};

describe('the standard codes', () => {
  it('are UPPER_SNAKE_CASE codes the reply schema accepts, listed once each, and include the standard set', () => {
    expect(new Set(STANDARD_ERROR_CODES).size).toBe(STANDARD_ERROR_CODES.length);
    for (const code of STANDARD_ERROR_CODES) {
      expect(replyError.safeParse({ code, message: 'm', retryable: false }).success).toBe(true);
    }
    for (const code of ['CARD_DECLINED', 'INSUFFICIENT_FUNDS', 'EXPIRED_CARD', 'INCORRECT_CVC', 'INVALID_NUMBER', 'PROCESSING_ERROR',
      'PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT', 'INVALID_AMOUNT', 'DO_NOT_HONOR', 'FRAUD_SUSPECTED', 'INVALID_AUTHORIZATION',
      'ALREADY_CAPTURED', 'ALREADY_VOIDED', 'AMOUNT_EXCEEDS_AUTHORIZATION', 'INSUFFICIENT_BALANCE', 'CARD_NOT_FOUND']) {
      expect(STANDARD_ERROR_CODES).toContain(code);
    }
  });

  it('each has a meaning and retry advice; declines are not retryable, provider-side troubles are', () => {
    expect(Object.keys(STANDARD_DECLINE_CODES)).toEqual([...STANDARD_ERROR_CODES]);
    for (const code of STANDARD_ERROR_CODES) {
      expect(STANDARD_DECLINE_CODES[code].meaning.length).toBeGreaterThan(10);
      expect(typeof STANDARD_DECLINE_CODES[code].retryable).toBe('boolean');
    }
    const retryable = STANDARD_ERROR_CODES.filter((c) => STANDARD_DECLINE_CODES[c].retryable);
    expect(retryable).toEqual(['PROCESSING_ERROR', 'ISSUER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT']);
    expect(Object.isFrozen(STANDARD_DECLINE_CODES)).toBe(true);
  });

  it('isStandardErrorCode and the schema know exactly these', () => {
    expect(isStandardErrorCode('CARD_DECLINED')).toBe(true);
    for (const other of ['card_declined', 'toString', '__proto__', 'NOT_A_CODE', 42, undefined]) {
      expect(isStandardErrorCode(other)).toBe(false);
      expect(standardErrorCodeSchema.safeParse(other).success).toBe(false);
    }
  });
});

describe('AVS, CVV and the provider fields', () => {
  const result = z.strictObject({ ...providerResultFields });

  it('accept the listed values only', () => {
    for (const avs of AVS_RESULTS) expect(avsResultSchema.parse(avs)).toBe(avs);
    for (const cvv of CVV_RESULTS) expect(cvvResultSchema.parse(cvv)).toBe(cvv);
    expect(AVS_RESULTS).toEqual(['match', 'address_only', 'postcode_only', 'no_match', 'unavailable', 'not_checked']);
    expect(CVV_RESULTS).toEqual(['match', 'no_match', 'not_processed', 'unavailable']);
    expect(avsResultSchema.safeParse('Y').success).toBe(false);
    expect(cvvResultSchema.safeParse('M').success).toBe(false);
  });

  it('providerResultFields requires the raw code and makes AVS/CVV optional', () => {
    expect(result.parse({ provider_code: '00' })).toEqual({ provider_code: '00' });
    expect(result.parse({ provider_code: 'Success', avs: 'postcode_only', cvv: 'match' })).toMatchObject({ avs: 'postcode_only' });
    for (const bad of [{}, { provider_code: '' }, { provider_code: 'x'.repeat(65) }, { provider_code: 'a\nb' },
      { provider_code: '4111111111111111' }, { provider_code: '00', avs: 'Y' }, { provider_code: '00', cvv: 'yes' }]) {
      const parsed = result.safeParse(bad);
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).not.toContain('4111111111111111');
    }
  });
});

describe('outcome helpers', () => {
  it('approved() passes validateResult', () => {
    const outcome = approved({ provider_code: '00', avs: 'match' as const, cvv: 'match' as const, authorization_id: 'auth-1' });
    expect(validateResult(card, 'authorize', outcome)).toEqual({ status: 'approved', result: outcome.result });
  });

  it('declined() for every standard code passes validateResult, with the default retry advice and the raw code kept', () => {
    for (const code of STANDARD_ERROR_CODES) {
      const outcome = declined(code, 'the provider said no', { providerCode: 'R-17' });
      const valid = validateResult(card, 'authorize', outcome);
      expect(valid.status).toBe('declined');
      expect(valid.error).toEqual({ code, message: 'the provider said no (provider code R-17)', retryable: STANDARD_DECLINE_CODES[code].retryable });
    }
  });

  it('declined() takes a retry override, a numeric or missing raw code, and a result', () => {
    const outcome = declined('INSUFFICIENT_FUNDS', 'balance too low', { providerCode: 51, retryable: true, result: { provider_code: '51', cvv: 'match' } });
    expect(validateResult(card, 'authorize', outcome)).toEqual({
      status: 'declined',
      result: { provider_code: '51', cvv: 'match' },
      error: { code: 'INSUFFICIENT_FUNDS', message: 'balance too low (provider code 51)', retryable: true },
    });
    expect(declined('CARD_DECLINED', 'no', { providerCode: null }).error).toEqual({ code: 'CARD_DECLINED', message: 'no', retryable: false });
    expect(declined('CARD_DECLINED', 'no', { providerCode: '' }).error?.message).toBe('no (provider code (empty))');
    expect('result' in declined('CARD_DECLINED', 'no', { providerCode: null })).toBe(false);
  });

  it('keeps messages within the reply limit without losing the raw code; odd raw codes are made printable', () => {
    const long = declined('PROCESSING_ERROR', 'x'.repeat(5_000), { providerCode: 'E\u0000\n'.padEnd(100, 'z') });
    const valid = validateResult(card, 'authorize', long);
    expect(valid.error?.message.length).toBeLessThanOrEqual(1024);
    expect(valid.error?.message).toMatch(/… \(provider code E\?\?z+…\)$/);
    expect(valid.error?.message).toContain(`E??${'z'.repeat(60)}…`);
  });

  it('unknownOutcome() passes validateResult with status unknown', () => {
    const outcome = unknownOutcome('PROVIDER_TIMEOUT', 'no answer within 30 s after sending', { providerCode: null });
    expect(validateResult(card, 'authorize', outcome)).toEqual({
      status: 'unknown',
      error: { code: 'PROVIDER_TIMEOUT', message: 'no answer within 30 s after sending', retryable: true },
    });
    expect(validateResult(card, 'authorize', unknownOutcome('PROCESSING_ERROR', 'pending at the acquirer', { providerCode: 'P1', result: { provider_code: 'P1' } })))
      .toMatchObject({ status: 'unknown', result: { provider_code: 'P1' } });
  });

  it('refuse a code outside the standard set (a plugin bug), at compile time and at run time', () => {
    // @ts-expect-error not a standard code
    expect(() => declined('CARD_MELTED', 'no', { providerCode: null })).toThrow(TypeError);
    // @ts-expect-error not a standard code
    expect(() => unknownOutcome('card_declined', 'no', { providerCode: null })).toThrow(TypeError);
    // An inherited key of the code table is no code either.
    expect(() => declined('toString' as never, 'no', { providerCode: null, retryable: false })).toThrow(TypeError);
  });
});

describe('mapProviderCode', () => {
  it('maps known raw codes to standard codes with their retry advice', () => {
    expect(mapProviderCode(PAYPAL, '10417')).toEqual({ code: 'CARD_DECLINED', retryable: false, providerCode: '10417', mapped: true });
    expect(mapProviderCode(PAYPAL, 10502)).toEqual({ code: 'EXPIRED_CARD', retryable: false, providerCode: '10502', mapped: true });
    expect(mapProviderCode(PAYPAL, '10486')).toEqual({ code: 'PROCESSING_ERROR', retryable: false, providerCode: '10486', mapped: true });
    expect(mapProviderCode(PAYPAL, ' 10417 ')).toEqual({ code: 'CARD_DECLINED', retryable: false, providerCode: ' 10417 ', mapped: true });
  });

  it('falls back to PROCESSING_ERROR and keeps the raw code; never reads inherited keys', () => {
    expect(mapProviderCode(PAYPAL, '99999')).toEqual({ code: 'PROCESSING_ERROR', retryable: true, providerCode: '99999', mapped: false });
    for (const raw of ['constructor', '__proto__', 'toString', '']) {
      expect(mapProviderCode(PAYPAL, raw)).toMatchObject({ code: 'PROCESSING_ERROR', providerCode: raw, mapped: false });
    }
  });

  it('feeds declined() an outcome that passes validateResult', () => {
    const m = mapProviderCode(PAYPAL, '15005');
    const outcome = declined(m.code, 'This transaction cannot be processed.', { providerCode: m.providerCode, retryable: m.retryable });
    expect(validateResult(card, 'authorize', outcome).error).toEqual({
      code: 'CARD_DECLINED', message: 'This transaction cannot be processed. (provider code 15005)', retryable: false,
    });
  });

  it('refuses a table entry outside the standard set', () => {
    const table = { '05': 'NOT_STANDARD' } as unknown as ProviderCodeTable;
    expect(() => mapProviderCode(table, '05')).toThrow(TypeError);
  });
});

describe('docs/providers.md', () => {
  it('lists every standard code with its retry advice and meaning, and every AVS/CVV value', () => {
    const doc = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Results: the standard vocabulary'));
    for (const code of STANDARD_ERROR_CODES) {
      const { retryable, meaning } = STANDARD_DECLINE_CODES[code];
      expect(section).toContain(`| \`${code}\` | ${retryable ? 'yes' : 'no'} | ${meaning} |`);
    }
    for (const value of [...AVS_RESULTS, ...CVV_RESULTS]) expect(section).toContain(`\`${value}\``);
  });
});
