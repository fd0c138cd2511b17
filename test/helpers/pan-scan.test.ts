import { describe, expect, it } from 'vitest';
import { findPans, luhn } from './pan-scan.ts';

describe('findPans', () => {
  it('finds test PANs of the major brands in noisy text, as bare digits', () => {
    const text = [
      '2026-11-23T13:00:00.000Z INFO request 6f1c8b2a-1111-4222-8333-444455556666 {"card":"4111111111111111"}',
      'retry=3 amount=1999 EUR mc=5555 5555 5555 4444; amex:3782-822463-10005 port 61613',
      '<pan>6011111111111117</pan> jcb 3530111333300000 2-series 2223003122003222',
    ].join('\n');
    expect(findPans(text)).toEqual([
      '4111111111111111',
      '5555555555554444',
      '378282246310005',
      '6011111111111117',
      '3530111333300000',
      '2223003122003222',
    ]);
  });

  it('finds a PAN glued to a CVC or to a length prefix by separators', () => {
    expect(findPans('4111 1111 1111 1111 737')).toEqual(['4111111111111111']);
    expect(findPans('len 16 4111111111111111')).toEqual(['4111111111111111']);
  });

  it('ignores numbers that fail Luhn', () => {
    expect(findPans('4111111111111112 5555555555554443 1234567890123')).toEqual([]);
    expect(findPans('4111111111111112', { thorough: true })).not.toContain('4111111111111112');
  });

  it('ignores masked forms', () => {
    const masked = '411111******1111 4111 11** **** 1111 ****-****-****-1111 378282*****0005 [CardNumber 555555******4444]';
    expect(findPans(masked)).toEqual([]);
    expect(findPans(masked, { thorough: true })).toEqual([]);
  });

  it('ignores runs that are too short or too long to be a PAN as a whole', () => {
    expect(findPans('424242424242')).toEqual([]); // 12 digits, Luhn-valid
    expect(luhn('424242424242')).toBe(true);
  });

  it('by default ignores Luhn-valid numbers no card brand uses; thorough mode reports them', () => {
    // A Luhn-valid 13-digit millisecond timestamp: one in ten is.
    const stamp = '1763902800004';
    expect(luhn(stamp)).toBe(true);
    expect(findPans(`{"time":${stamp}}`)).toEqual([]);
    expect(findPans(`{"time":${stamp}}`, { thorough: true })).toEqual([stamp]);
  });

  it('in thorough mode also finds a PAN buried inside a longer digit run', () => {
    expect(findPans('99411111111111111199', { thorough: true })).toContain('4111111111111111');
  });

  it('by default skips hex digests, whose digit runs can pass Luhn, but not a PAN beside one', () => {
    // An HMAC header seen in a test run: its 19-digit run is Luhn-valid and starts with a 4.
    const digest = 'c0ffee' + '4779460577858604098' + 'ab'.repeat(19) + 'd';
    expect(digest).toHaveLength(64);
    expect(luhn('4779460577858604098')).toBe(true);
    expect(findPans(`{"hmac":"${digest}"}`)).toEqual([]);
    expect(findPans(digest, { thorough: true })).toContain('4779460577858604098');
    expect(findPans(`${digest} 4111111111111111`)).toEqual(['4111111111111111']);
  });

  it('by default skips ActiveMQ message ids, whose port and timestamp form a long digit run', () => {
    const id = 'ID:vm-43799-17966531353314-3:1:1:1:1';
    expect(findPans(`{"message-id":"${id}"}`, { thorough: true })).not.toEqual([]);
    expect(findPans(`{"message-id":"${id}"}`)).toEqual([]);
    expect(findPans(`{"message-id":"${id}","x":"4111 1111 1111 1111"}`)).toEqual(['4111111111111111']);
  });
});
