import { describe, expect, it } from 'vitest';
import { currencyExponent, currencySchema, formatMoney, isCurrency, moneySchema } from '../../src/wire/money.ts';
import { decodeYaml, encodeYaml } from '../../src/wire/yaml.ts';

describe('currencyExponent', () => {
  it.each([
    ['JPY', 0],
    ['KRW', 0],
    ['EUR', 2],
    ['USD', 2],
    ['GBP', 2],
    ['BHD', 3],
    ['KWD', 3],
    ['TND', 3],
  ])('%s has %i minor digits', (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
  });

  it('refuses unknown codes instead of guessing 2', () => {
    expect(() => currencyExponent('XYZ')).toThrow(RangeError);
    expect(() => currencyExponent('eur')).toThrow(RangeError);
  });
});

describe('isCurrency / currencySchema', () => {
  it('knows ISO 4217 codes from the runtime', () => {
    expect(isCurrency('EUR')).toBe(true);
    expect(isCurrency('XYZ')).toBe(false);
    expect(currencySchema.parse('CHF')).toBe('CHF');
  });

  it.each(['eur', 'EURO', 'E1R', 'XYZ', ''])('refuses %j', (code) => {
    expect(currencySchema.safeParse(code).success).toBe(false);
  });
});

describe('moneySchema', () => {
  it('accepts integer minor units and keeps the wire key order', () => {
    const money = moneySchema.parse({ currency: 'EUR', value: 1999 });
    expect(money).toEqual({ value: 1999, currency: 'EUR' });
    expect(Object.keys(money)).toEqual(['value', 'currency']);
    expect(moneySchema.parse({ value: 0, currency: 'JPY' }).value).toBe(0);
    expect(moneySchema.parse({ value: Number.MAX_SAFE_INTEGER, currency: 'USD' }).value).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['a fraction', { value: 19.99, currency: 'EUR' }, 'value'],
    ['a negative amount', { value: -1, currency: 'EUR' }, 'value'],
    ['an unsafe integer', { value: 2 ** 53, currency: 'EUR' }, 'value'],
    ['a string amount', { value: '1999', currency: 'EUR' }, 'value'],
    ['NaN', { value: Number.NaN, currency: 'EUR' }, 'value'],
    ['an unknown currency', { value: 1, currency: 'XYZ' }, 'currency'],
    ['a lower-case currency', { value: 1, currency: 'eur' }, 'currency'],
    ['an extra key', { value: 1, currency: 'EUR', cents: 1 }, ''],
  ])('refuses %s with the path', (_name, input, path) => {
    const result = moneySchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('round-trips through YAML', () => {
    const money = { value: 1999, currency: 'EUR' };
    expect(encodeYaml(money)).toBe('value: 1999\ncurrency: EUR\n');
    expect(moneySchema.parse(decodeYaml(encodeYaml(money)))).toEqual(money);
  });
});

describe('formatMoney', () => {
  it.each([
    [1999, 'EUR', '19.99 EUR'],
    [5, 'EUR', '0.05 EUR'],
    [0, 'USD', '0.00 USD'],
    [1000, 'JPY', '1000 JPY'],
    [1500, 'BHD', '1.500 BHD'],
    [1, 'KWD', '0.001 KWD'],
    [Number.MAX_SAFE_INTEGER, 'EUR', '90071992547409.91 EUR'],
    [-250, 'EUR', '-2.50 EUR'],
  ])('formats %i %s as %s, exactly', (value, currency, text) => {
    expect(formatMoney({ value, currency })).toBe(text);
  });
});
