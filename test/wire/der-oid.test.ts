/**
 * OIDs as the wire reads them: arcs of any size (paygate's signer roles sit under a UUID arc,
 * `2.25.<128-bit integer>`), encoded by the real OpenSSL; non-minimal or unfinished encodings refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDer, readOid } from '../../src/wire/der.ts';
import { SIGNER_ROLE_OIDS, WireError } from '../../src/wire/index.ts';

/** The DER of `dotted` as `openssl asn1parse -genstr` writes it. */
function opensslOid(dotted: string): Buffer {
  const out = join(dir, 'oid.der');
  execFileSync('openssl', ['asn1parse', '-genstr', `OID:${dotted}`, '-out', out, '-noout']);
  return readFileSync(out);
}

const dir = mkdtempSync(join(tmpdir(), 'paygate-oid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (der: Buffer): string => readOid(parseDer(der, 'test'), 'test');

describe('readOid', () => {
  it.each([...Object.values(SIGNER_ROLE_OIDS), '1.3.6.1.5.5.7.3.4', '2.5.29.37', '0.9.2342.19200300.100.1.1', '2.999.1'])('reads %s', (dotted) => {
    expect(read(opensslOid(dotted))).toBe(dotted);
  });

  it.each([
    ['a leading 0x80 in an arc (not minimal)', [0x06, 0x03, 0x2b, 0x80, 0x01]],
    ['an unfinished last arc', [0x06, 0x02, 0x2b, 0x86]],
  ])('refuses %s with MALFORMED_CMS', (_what, bytes) => {
    let error: unknown;
    try {
      read(Buffer.from(bytes));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WireError);
    expect(error).toMatchObject({ code: 'MALFORMED_CMS' });
  });
});
