import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, formatWithOptions, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CardNumber, Cvc, Secret, luhnValid, maskPan, revealSecret } from '../../src/wire/secret.ts';
import { findPans } from '../helpers/pan-scan.ts';

const PAN = '4111111111111111';
const AMEX = '378282246310005';

/** Every way the code base might turn a value into text. */
function printings(value: unknown): string[] {
  const nested = { card: { number: value, list: [value] }, at: new Map([['k', value]]) };
  return [
    String(value),
    `${value as string}`,
    '' + (value as string),
    JSON.stringify(value),
    JSON.stringify(nested),
    inspect(value),
    inspect(nested, { depth: Infinity }),
    inspect(nested, { showHidden: true, depth: Infinity }),
    format('%s %o %O %j', value, value, nested, nested),
    formatWithOptions({ colors: true }, value, nested),
    String(structuredClone(nested)['card']['number']),
    JSON.stringify({ ...(value as object) }),
    JSON.stringify(Object.entries(value as object)),
    Object.getOwnPropertyNames(value).join(','),
  ];
}

describe('Secret', () => {
  it('prints *** on every path and reveals only through revealSecret', () => {
    const s = new Secret('hunter2-password');
    for (const text of printings(s)) expect(text).not.toContain('hunter2');
    expect(String(s)).toBe('***');
    expect(revealSecret(s)).toBe('hunter2-password');
  });

  it('leaks nothing through reflection', () => {
    const s = new Secret('hunter2');
    expect(Object.keys(s)).toEqual([]);
    expect(Reflect.ownKeys(s)).toEqual([]);
    expect({ ...s }).toEqual({});
    expect(Number(s)).toBeNaN();
  });

  it('refuses to reveal something that is not a Secret', () => {
    expect(() => revealSecret({} as Secret)).toThrow(TypeError);
  });

  it('stays masked through console.log', () => {
    // A real Console (the class behind the global one) writing into a buffer: vitest replaces
    // the global console, so capturing process.stdout would not see Node's own formatting.
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = new Console({ stdout: sink, stderr: sink, colorMode: false });
    const card = { number: new CardNumber(PAN), cvc: new Cvc('123') };
    logger.log('card %s', card.number, card, [card]);
    logger.error(card);
    logger.dir({ deep: { card } }, { depth: null });
    logger.table([card]);
    const out = chunks.join('');
    expect(out).toContain('411111******1111');
    expect(out).not.toContain('123 ');
    expect(findPans(out, { thorough: true })).toEqual([]);
  });

  it('stays masked in errors built from template strings', () => {
    const pan = new CardNumber(PAN);
    const cvc = new Cvc('737');
    const error = new Error(`payment with ${pan} / ${cvc} failed`, { cause: { pan, cvc } });
    const text = [error.message, error.stack ?? '', inspect(error, { depth: Infinity })].join('\n');
    expect(error.message).toBe('payment with 411111******1111 / *** failed');
    expect(findPans(text, { thorough: true })).toEqual([]);
    expect(text).not.toContain('737');
  });
});

describe('CardNumber', () => {
  it('shows at most the first 6 and last 4 digits', () => {
    expect(String(new CardNumber(PAN))).toBe('411111******1111');
    expect(String(new CardNumber(AMEX))).toBe('378282*****0005');
    expect(String(new CardNumber('4222222222222'))).toBe('422222***2222');
    expect(String(new CardNumber('6250941006528599'.padEnd(19, '0')))).toMatch(/^625094\*{9}\d{4}$/);
    expect(inspect(new CardNumber(PAN))).toBe('[CardNumber 411111******1111]');
  });

  it('shows at most half the digits of a short number', () => {
    for (let n = 1; n < 13; n++) {
      const masked = String(new CardNumber('7'.repeat(n)));
      expect(masked).toHaveLength(n);
      expect(masked.replace(/\*/g, '').length).toBeLessThanOrEqual(Math.floor(n / 2));
    }
  });

  it('strips spaces and dashes and refuses other characters without echoing them', () => {
    expect(revealSecret(new CardNumber('4111 1111-1111 1111'))).toBe(PAN);
    expect(() => new CardNumber(`${PAN}x`)).toThrow(/digits only/);
    try {
      new CardNumber(`${PAN}x`);
    } catch (error) {
      expect(String(error)).not.toContain('4111');
    }
  });

  it('is masked on every printing path', () => {
    for (const text of printings(new CardNumber(PAN))) {
      expect(findPans(text, { thorough: true })).toEqual([]);
      expect(text).not.toContain(PAN);
    }
  });
});

describe('Cvc', () => {
  it('always prints ***', () => {
    for (const text of printings(new Cvc('1234'))) expect(text).not.toContain('1234');
    expect(`${new Cvc('123')}`).toBe('***');
    expect(inspect(new Cvc('123'))).toBe('[Cvc ***]');
  });
});

describe('luhnValid', () => {
  it('checks the mod-10 sum', () => {
    expect(luhnValid(PAN)).toBe(true);
    expect(luhnValid(AMEX)).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('41x1')).toBe(false);
  });
});

describe('maskPan', () => {
  it('masks a standalone PAN to first 6 / last 4, keeping separators', () => {
    expect(maskPan(`card ${PAN} ok`)).toBe('card 411111******1111 ok');
    expect(maskPan('4111 1111 1111 1111')).toBe('4111 11** **** 1111');
    expect(maskPan('4111-1111-1111-1111')).toBe('4111-11**-****-1111');
    expect(maskPan(`{"pan":"${AMEX}"}`)).toBe('{"pan":"378282*****0005"}');
    expect(maskPan(`x${PAN}y`)).toBe('x411111******1111y');
  });

  it('masks a PAN glued to other digits completely', () => {
    // PAN followed by a CVC: showing "the last 4" of the run would show the CVC.
    expect(maskPan('4111 1111 1111 1111 737')).toBe('**** **** **** **** ***');
    expect(maskPan(`12 ${PAN}`)).toBe('** ****************');
  });

  it('leaves text without card numbers alone', () => {
    const text = 'order ord-1001 amount 1999 EUR at 2026-11-23T13:00:00.000Z id 6f1c8b2a-1111-4222-8333-444455556666';
    expect(maskPan(text)).toBe(text);
    expect(maskPan('4111111111111113')).toBe('4111111111111113'); // no Luhn-valid window
    expect(maskPan('1763902800001 ms')).toBe('1763902800001 ms');
    expect(maskPan('411111******1111')).toBe('411111******1111');
  });

  it('leaves UUIDs alone even when their groups are all digits', () => {
    const id = '12345678-1111-4222-8333-444455556666';
    expect(maskPan(`request ${id} failed`)).toBe(`request ${id} failed`);
  });

  it('over-masks rather than misses: a long number with a Luhn-valid window is masked', () => {
    // 4111111111111112 fails Luhn, but one of its 13–15-digit windows passes: it could be a glued PAN.
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(maskPan('4111111111111112')).toBe('****************');
  });

  it('is idempotent and leaves nothing a detector would find', () => {
    const noisy = `a ${PAN} b 4111 1111 1111 1111 737 c 5555-5555-5555-4444 d ${AMEX}0 e 6011111111111117`;
    const once = maskPan(noisy);
    expect(maskPan(once)).toBe(once);
    expect(findPans(once, { thorough: true })).toEqual([]);
    expect(findPans(noisy).length).toBeGreaterThanOrEqual(4);
  });
});
