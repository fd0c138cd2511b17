import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { cardBrand, cardNumberSchema, cardSchema, cvcSchema, makeCardSchema } from '../../src/wire/card.ts';
import { CardNumber, Cvc, revealSecret } from '../../src/wire/secret.ts';
import { decodeYaml, encodeYaml } from '../../src/wire/yaml.ts';
import { findPans } from '../helpers/pan-scan.ts';

const VISA = '4111111111111111';
const MASTERCARD = '5555555555554444';
const MASTERCARD_2 = '2223003122003222';
const AMEX = '378282246310005';

/** Fixed clock: 15 June 2026, UTC. */
const june2026 = makeCardSchema({ now: () => new Date('2026-06-15T12:00:00.000Z') });

const validCard = { number: VISA, exp_month: 12, exp_year: 2030, cvc: '123' };

/** Everything a failed parse could show: the issues, the error message, its string form. */
function errorText(error: z.ZodError | undefined): string {
  expect(error).toBeDefined();
  return [JSON.stringify(error?.issues), error?.message, String(error)].join('\n');
}

function paths(error: z.ZodError | undefined): string[] {
  return (error?.issues ?? []).map((issue) => issue.path.join('.'));
}

describe('cardNumberSchema', () => {
  it.each([
    ['Visa', VISA, 'visa'],
    ['Mastercard', MASTERCARD, 'mastercard'],
    ['Mastercard 2-series', MASTERCARD_2, 'mastercard'],
    ['American Express', AMEX, 'american-express'],
    ['Discover', '6011111111111117', 'discover'],
  ])('accepts a %s test PAN as a CardNumber', (_name, pan, brand) => {
    const number = cardNumberSchema.parse(pan);
    expect(number).toBeInstanceOf(CardNumber);
    expect(revealSecret(number)).toBe(pan);
    expect(cardBrand(number)).toBe(brand);
  });

  it('strips spaces and dashes', () => {
    expect(revealSecret(cardNumberSchema.parse('4111 1111-1111 1111'))).toBe(VISA);
    expect(revealSecret(cardNumberSchema.parse('3782-822463-10005'))).toBe(AMEX);
  });

  it('accepts an existing CardNumber, so parsed data can be validated again', () => {
    const once = cardNumberSchema.parse(VISA);
    expect(revealSecret(cardNumberSchema.parse(once))).toBe(VISA);
  });

  it.each([
    ['a bad Luhn digit', '4111111111111112', /Luhn/],
    ['letters', '4111x11111111111', /digits only/],
    ['too few digits', '41111111111', /12 to 19 digits/],
    ['too many digits', '41111111111111111111', /12 to 19 digits/],
    ['an unknown brand', '1234567812345670', /known card brand/],
    ['a length the brand does not use', '41111111111114', /length/],
  ])('refuses %s without echoing the number', (_name, input, message) => {
    const result = cardNumberSchema.safeParse(input);
    expect(result.success).toBe(false);
    const text = errorText(result.error);
    expect(text).toMatch(message);
    expect(text).not.toMatch(/\d{12,}/);
    expect(text).not.toContain(input.slice(0, 8));
  });

  it('refuses non-strings without echoing them', () => {
    const result = cardNumberSchema.safeParse(4111111111111111);
    expect(errorText(result.error)).not.toMatch(/\d{12,}/);
    expect(cardNumberSchema.safeParse(null).success).toBe(false);
  });
});

describe('cvcSchema', () => {
  it('accepts 3 or 4 digits as a Cvc secret', () => {
    const cvc = cvcSchema.parse('737');
    expect(cvc).toBeInstanceOf(Cvc);
    expect(String(cvc)).toBe('***');
    expect(revealSecret(cvcSchema.parse('1234'))).toBe('1234');
    expect(revealSecret(cvcSchema.parse(cvc))).toBe('737');
  });

  it.each(['12', '12345', '12a', '', ' 123'])('refuses %j without echoing it', (input) => {
    const result = cvcSchema.safeParse(input);
    expect(result.success).toBe(false);
    if (input.length >= 2) expect(result.error?.issues[0]?.message).not.toContain(input.trim());
  });
});

describe('cardSchema', () => {
  it('parses a wire card into secrets, keeping the wire key order', () => {
    const card = june2026.parse({ ...validCard, holder: '  Zoë Example ' });
    expect(Object.keys(card)).toEqual(['number', 'exp_month', 'exp_year', 'cvc', 'holder']);
    expect(card.holder).toBe('Zoë Example');
    expect(String(card.number)).toBe('411111******1111');
    expect(JSON.stringify(card)).not.toContain(VISA);
  });

  it('has cvc and holder optional', () => {
    expect(june2026.parse({ number: AMEX, exp_month: 1, exp_year: 2027 }).cvc).toBeUndefined();
  });

  it('survives encode → decode → validate again', () => {
    const card = june2026.parse(validCard);
    const again = june2026.parse(decodeYaml(encodeYaml(card)));
    expect(revealSecret(again.number)).toBe(VISA);
    expect(revealSecret(again.cvc as Cvc)).toBe('123');
    // And validating an already-parsed card (secrets in place) works too.
    expect(revealSecret(june2026.parse(card).number)).toBe(VISA);
  });

  it('checks the CVC length against the brand', () => {
    expect(paths(june2026.safeParse({ ...validCard, cvc: '1234' }).error)).toEqual(['cvc']);
    expect(paths(june2026.safeParse({ ...validCard, number: AMEX, cvc: '123' }).error)).toEqual(['cvc']);
    expect(june2026.safeParse({ ...validCard, number: AMEX, cvc: '1234' }).success).toBe(true);
  });

  it('accepts a card through the last day of its expiry month', () => {
    expect(june2026.safeParse({ ...validCard, exp_month: 6, exp_year: 2026 }).success).toBe(true);
    const lastInstant = makeCardSchema({ now: () => new Date('2026-06-30T23:59:59.999Z') });
    expect(lastInstant.safeParse({ ...validCard, exp_month: 6, exp_year: 2026 }).success).toBe(true);
    const nextMonth = makeCardSchema({ now: () => new Date('2026-07-01T00:00:00.000Z') });
    expect(paths(nextMonth.safeParse({ ...validCard, exp_month: 6, exp_year: 2026 }).error)).toEqual(['exp_month']);
  });

  it('refuses expired cards with the path of the field at fault', () => {
    const lastYear = june2026.safeParse({ ...validCard, exp_month: 12, exp_year: 2025 });
    expect(paths(lastYear.error)).toEqual(['exp_year']);
    expect(lastYear.error?.issues[0]?.message).toBe('card has expired');
    expect(paths(june2026.safeParse({ ...validCard, exp_month: 5, exp_year: 2026 }).error)).toEqual(['exp_month']);
  });

  it('refuses expiries too far ahead and out-of-range months', () => {
    expect(paths(june2026.safeParse({ ...validCard, exp_year: 2047 }).error)).toEqual(['exp_year']);
    expect(paths(june2026.safeParse({ ...validCard, exp_month: 13 }).error)).toEqual(['exp_month']);
    expect(paths(june2026.safeParse({ ...validCard, exp_month: 0 }).error)).toEqual(['exp_month']);
    expect(paths(june2026.safeParse({ ...validCard, exp_year: 30 }).error)).toEqual(['exp_year']);
    expect(paths(june2026.safeParse({ ...validCard, exp_month: '12' }).error)).toEqual(['exp_month']);
  });

  it('reports a bad number at path number without echoing it', () => {
    const result = june2026.safeParse({ ...validCard, number: '4111111111111112' });
    expect(paths(result.error)).toEqual(['number']);
    expect(errorText(result.error)).not.toMatch(/\d{12,}/);
    expect(findPans(errorText(result.error), { thorough: true })).toEqual([]);
  });

  it('refuses unknown keys (a cvv typo is not silently dropped)', () => {
    const result = june2026.safeParse({ number: VISA, exp_month: 12, exp_year: 2030, cvv: '123' });
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it('uses the system clock by default', () => {
    const year = new Date().getUTCFullYear();
    expect(cardSchema.safeParse({ ...validCard, exp_year: year + 1 }).success).toBe(true);
    expect(cardSchema.safeParse({ ...validCard, exp_year: year - 1 }).success).toBe(false);
  });
});

describe('cardSchema with several bad fields', () => {
  it('reports each bad field once and never throws', () => {
    const result = june2026.safeParse({ number: '4111111111111112', exp_month: 13, exp_year: 30, cvc: '12' });
    expect(paths(result.error).sort()).toEqual(['cvc', 'exp_month', 'exp_year', 'number']);
    expect(findPans(errorText(result.error), { thorough: true })).toEqual([]);
  });
});
