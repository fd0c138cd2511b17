/**
 * open() reads a sealed body as given, text or bytes, without converting one into the other
 * (docs/benchmarks.md); strict base64 counts whitespace instead of removing it. Both forms of
 * one body must read the same, accepted or refused with the same code.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeBody, parseEntity } from '../../src/wire/mime.ts';
import { generateDevPki } from '../../src/certs/devca.ts';
import { loadIdentity, open, seal, TrustStore, WireError } from '../../src/wire/index.ts';

/** The code open() refuses `body` with, or 'OK'. */
function outcome(action: () => unknown): string {
  try {
    action();
    return 'OK';
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
}

/** What decodeBase64 gives for `text`, as hex, or 'MALFORMED_MIME'. */
const decoded = (text: string | Buffer): string => {
  try {
    return decodeBase64(text).toString('hex');
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
};

/** The previous implementation: whitespace removed, then the length arithmetic. */
function reference(text: string): string {
  const bare = text.replace(/[\n\r \t]/g, '');
  const padding = bare.endsWith('==') ? 2 : bare.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(bare, 'base64');
  const ok = bare.length % 4 === 0 && bytes.length === (bare.length / 4) * 3 - padding && !/[-_]/.test(bare);
  return ok ? bytes.toString('hex') : 'MALFORMED_MIME';
}

describe('strict base64 without removing whitespace', () => {
  it('accepts what openssl writes, LF or CRLF, and gives the same bytes from text or bytes', () => {
    const bytes = randomBytes(1000);
    const lines = bytes.toString('base64').replace(/.{64}/g, '$&\n');
    for (const text of [lines, lines.replace(/\n/g, '\r\n'), `${lines}\n\n`, ` ${lines.replace(/\n/g, '\n\t')}`]) {
      expect(decoded(text)).toBe(bytes.toString('hex'));
      expect(decoded(Buffer.from(text, 'latin1'))).toBe(bytes.toString('hex'));
    }
  });

  it('refuses junk, URL-safe characters, truncation and misplaced padding', () => {
    for (const text of ['QUJD*', 'QUJ-', 'QUJ_', 'QUJ', 'QQ=\n=QUJD', 'QQ==QQ==', '=QUJ', 'QUJD=', 'Q===']) {
      expect(decoded(text), JSON.stringify(text)).toBe('MALFORMED_MIME');
    }
    expect(decoded('QQ=\n=')).toBe('41'); // padding split by a line break is still padding
  });

  it('agrees with removing the whitespace first on thousands of mutated texts', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r \t-_*.';
    let seed = 7;
    const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 5000; i++) {
      const chars = [...randomBytes(1 + (i % 24)).toString('base64').replace(i % 3 ? /.{4}/g : /^$/, '$&\n')];
      for (let k = i % 5; k > 0; k--) {
        const at = next(chars.length + 1);
        const ch = alphabet[next(alphabet.length)] as string;
        const op = next(3);
        if (op === 0) chars.splice(at, 0, ch);
        else if (op === 1) chars.splice(at, 1);
        else chars[at] = ch;
      }
      const text = chars.join('');
      expect(decoded(text), JSON.stringify(text)).toBe(reference(text));
    }
  });
});

describe('MIME entities read from text or from bytes', () => {
  it('parse to the same headers and body', () => {
    const entity = 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n';
    const fromText = parseEntity(entity);
    const fromBytes = parseEntity(Buffer.from(entity, 'latin1'));
    expect([...fromText.headers]).toEqual([...fromBytes.headers]);
    expect(fromText.contentType).toEqual(fromBytes.contentType);
    expect(fromText.rawBody.equals(fromBytes.rawBody)).toBe(true);
    expect(fromText.rawText).toBe(fromBytes.rawText);
    expect(decodeBody(fromText).toString()).toBe('ABC');
  });

  it('a string with characters above U+00FF reads as its latin1 bytes, as before', () => {
    // U+0141 is 0x41 ('A') once written as latin1: the text and its bytes must agree.
    const entity = 'Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nQUJ\u0144\n';
    expect(decodeBody(parseEntity(entity)).toString()).toBe(decodeBody(parseEntity(Buffer.from(entity, 'latin1'))).toString());
  });
});

describe('open() of one sealed body as text and as bytes', () => {
  it('gives the same message, and the same refusals', async () => {
    const pki = await generateDevPki({ algo: 'ec' });
    const client = loadIdentity(pki.client.certPem, pki.client.keyPem);
    const gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
    const trust = new TrustStore([pki.ca.certPem]);
    const yaml = 'paygate: 1\nkind: request\n';
    const sealed = seal(yaml, { recipients: [gateway.certificate], signer: client });
    const options = { identity: gateway, trust };
    expect(open(sealed, options).yaml).toBe(yaml);
    expect(open(Buffer.from(sealed, 'latin1'), options).yaml).toBe(yaml);
    const blank = sealed.indexOf('\n\n') + 2;
    const variants = [
      sealed.replace(/\n/g, '\r\n'),
      `${sealed.slice(0, blank + 10)}*${sealed.slice(blank + 11)}`,
      `${sealed.slice(0, blank + 10)}\u0141${sealed.slice(blank + 11)}`, // a wide character, read as 'A'
      `${sealed.slice(0, blank + 10)}\u0130${sealed.slice(blank + 11)}`, // read as '0'
      sealed.slice(0, blank + 102),
      '\u0130\u0100', // 0x30 0x00 once latin1: bare DER
      '',
    ];
    for (const text of variants) {
      expect(outcome(() => open(text, options)), JSON.stringify(text.slice(0, 40))).toBe(outcome(() => open(Buffer.from(text, 'latin1'), options)));
    }
    expect(outcome(() => open(sealed, { ...options, maxBodyBytes: sealed.length - 1 }))).toBe('BODY_TOO_LARGE');
    expect(outcome(() => open(sealed, { ...options, maxBodyBytes: sealed.length }))).toBe('OK');
  });
});
