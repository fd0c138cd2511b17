import { describe, expect, it } from 'vitest';
import { maskCardNumbers } from '../../src/wire/card-text.ts';
import { CardNumber, containsCardNumber, findCardNumber, maskPan } from '../../src/wire/index.ts';

describe('containsCardNumber: what is refused in free text', () => {
  it.each([
    ['a PAN alone', '4111111111111111'],
    ['a PAN inside a reference', 'ref-4111111111111111'],
    ['a PAN in groups of four, spaces', 'card 4111 1111 1111 1111 please'],
    ['a PAN in groups of four, dashes', '5555-5555-5555-4444'],
    ['an Amex number (15 digits, 4-6-5)', 'amex 3782 822463 10005'],
    ['a PAN after a counter group', '7-4111111111111111'],
    ['dots between groups', '4111.1111.1111.1111'],
    ['the Visa number inside the UUID case below, alone', '4111111111114008'],
    ['slashes between groups', '4111/1111/1111/1111'],
    ['underscores between groups', '4111_1111_1111_1111'],
    ['double spaces', '4111  1111  1111  1111'],
    ['tabs', '4111\t1111\t1111\t1111'],
    ['no-break spaces (copy-paste)', '4111\u00a01111\u00a01111\u00a01111'],
    ['en dashes', '4111\u20131111\u20131111\u20131111'],
    ['fullwidth digits', '\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11'],
    ['Arabic-Indic digits', '\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661'],
    ['a PAN shaped like a UUID that is none (no RFC variant)', 'cafe4111-1111-1111-1111-abcdefabcdef'],
  ])('refuses %s', (_what, text) => {
    expect(containsCardNumber(text)).toBe(true);
  });

  it.each([
    ['a Luhn-valid timestamp glued to a counter (no card brand starts 17)', 'order-7-1765432101233'],
    ['a Luhn-valid millisecond timestamp', '1765432101233'],
    ['a counter glued to a timestamp that, joined, would be a Maestro number (61796621691251)', 'card-test-sale-6-1796621691251'],
    ['a counter glued to a timestamp that, joined, would be a Visa number (4121796621691251)', 'sale-412-1796621691251'],
    ['a version-4 UUID whose first three groups spell a valid Visa number (4111111111114008)', '41111111-1111-4008-8111-123456789012'],
    ['a Luhn-invalid 16-digit Visa-like number', '4111111111111112'],
    ['a Luhn-valid number of no card brand and length', '9999999999999995'],
    ['twelve digits', '411111111111'],
    ['a Luhn-valid 20-digit run (no brand has 20 digits)', '41111111111111111115'],
  ])('lets %s pass', (_what, text) => {
    expect(containsCardNumber(text)).toBe(false);
  });
});

describe('findCardNumber', () => {
  it('names the path of the first offending field, never its value', () => {
    expect(findCardNumber({ order_id: 'ok-1', items: [{ note: 'fine' }, { note: 'call 4111 1111 1111 1111' }] })).toBe('items.1.note');
  });

  it('skips secrets (card data where it belongs) and checks keys and numbers', () => {
    expect(findCardNumber({ card: { number: new CardNumber('4111111111111111') } })).toBeUndefined();
    expect(findCardNumber({ amount: 4111111111111111 })).toBe('amount');
    expect(findCardNumber({ ['4111111111111111']: 'x' })).toBe('(a key)');
  });
});

describe('one rule for the mask and the detector', () => {
  // Every form the detector refuses: what a worker masks must never be refused by the feed's scan.
  const forms: [string, string][] = [
    ['dots', '4111.1111.1111.1111'],
    ['slashes', '4111/1111/1111/1111'],
    ['underscores', 'ref_4111_1111_1111_1111'],
    ['doubled separators', '4111 -1111 -1111 -1111'],
    ['tabs', '4111\t1111\t1111\t1111'],
    ['no-break spaces', '4111\u00a01111\u00a01111\u00a01111'],
    ['en dashes', '4111\u20131111\u20131111\u20131111'],
    ['fullwidth digits', '\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11'],
    ['Arabic-Indic digits and dots', '\u0664\u0661\u0661\u0661.\u0661\u0661\u0661\u0661.\u0661\u0661\u0661\u0661.\u0661\u0661\u0661\u0661'],
    ['Amex 4-6-5 with dots', '3782.822463.10005'],
  ];

  it.each(forms)('maskPan masks a card number written with %s to first 6 / last 4, which the detector no longer finds', (_what, text) => {
    expect(containsCardNumber(text)).toBe(true);
    const masked = maskPan(text);
    expect(containsCardNumber(masked)).toBe(false);
    expect(masked.match(/\p{Nd}/gu)?.length).toBe(10);
    expect(maskCardNumbers(text)).toBe(masked);
  });

  it('keeps the separators and the ends: 4111.1111.1111.1111 → 4111.11**.****.1111', () => {
    expect(maskPan('order 4111.1111.1111.1111 ok')).toBe('order 4111.11**.****.1111 ok');
  });

  it('maskCardNumbers also masks what only folds to digits (superscripts, fullwidth stops): every digit-like character', () => {
    const superscript = '\u2074\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9'; // ⁴¹¹¹…
    const fullwidthStops = '4111\uff0e1111\uff0e1111\uff0e1111';
    for (const text of [superscript, `id ${fullwidthStops}`]) {
      expect(containsCardNumber(text)).toBe(true);
      expect(containsCardNumber(maskCardNumbers(text))).toBe(false);
      expect(maskCardNumbers(text)).not.toMatch(/[\p{Nd}\u00b9\u2074]/u);
    }
    expect(maskCardNumbers('order-7-1765432101233 ok')).toBe(maskPan('order-7-1765432101233 ok'));
  });
});
