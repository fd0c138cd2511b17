import { describe, expect, it } from 'vitest';
import { containsCardNumber } from '../../../src/wire/card-text.ts';
import { maskReportText } from '../../../src/audit/traffic/report-mask.ts';

describe('maskReportText', () => {
  it('masks card numbers in report text but leaves long hex words (serials, digests) as they are', () => {
    // A 20-byte serial as openssl writes it: its digit run passes the card-number rule by chance.
    const serial = '17759bcd5456a4111111111111111e9cd2f25ab';
    expect(containsCardNumber(serial)).toBe(true);
    const detail = `encrypted to a recipient no given certificate matches: O=shop,CN=4111 1111 1111 1111, serial ${serial}`;
    expect(maskReportText(detail)).toBe(`encrypted to a recipient no given certificate matches: O=shop,CN=4111 11** **** 1111, serial ${serial}`);
    // Digits only, or shorter than a serial: masked as any text.
    expect(maskReportText('ref 4111111111111111')).toBe('ref 411111******1111');
    expect(maskReportText('id 4111111111111111abc')).not.toContain('4111111111111111');
    expect(maskReportText(maskReportText(detail))).toBe(maskReportText(detail));
  });
});
