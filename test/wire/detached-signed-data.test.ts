/**
 * Detached CMS SignedData (the signature of feed checkpoints): what paygate signs, the real
 * `openssl cms -verify` accepts with the content beside it, and paygate's own verifier accepts
 * only with the same content.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDetachedSignedData, verifySignedData } from '../../src/wire/signed-data.ts';
import { loadIdentity, type Identity } from '../../src/wire/x509.ts';
import { openssl, runOpenssl } from '../helpers/openssl.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';

const CONTENT = Buffer.from('{"feed":"audit","hash":"ab","seq":7,"time":"2026-12-07T06:00:00.000Z"}\r\nZoë', 'utf8');

describe.each([{ algo: 'rsa' as const }, { algo: 'ec' as const }])('detached SignedData ($algo)', (spec) => {
  let pki: TestPki;
  let feed: Identity;
  let dir: string;
  beforeAll(async () => {
    pki = await makeTestPki(spec);
    feed = loadIdentity(pki.feed.certPem, pki.feed.keyPem);
    dir = mkdtempSync(join(tmpdir(), 'paygate-detached-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('carries no content, and paygate verifies it only with the same content beside it', () => {
    const der = buildDetachedSignedData(CONTENT, feed);
    expect(der.includes(CONTENT)).toBe(false);
    const verified = verifySignedData(der, CONTENT);
    expect(verified.content.equals(CONTENT)).toBe(true);
    expect(verified.signer.fingerprint).toBe(feed.certificate.fingerprint);
    const other = Buffer.from(CONTENT.toString('utf8').replace('"seq":7', '"seq":8'), 'utf8');
    expect(() => verifySignedData(der, other)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
    expect(() => verifySignedData(der)).toThrow(expect.objectContaining({ code: 'UNSIGNED' }));
  });

  it('openssl cms -verify accepts it with the content and the CA (default smimesign purpose), and refuses other content', () => {
    const sig = join(dir, `sig-${spec.algo}.der`);
    const data = join(dir, `data-${spec.algo}.json`);
    const changed = join(dir, `changed-${spec.algo}.json`);
    writeFileSync(sig, buildDetachedSignedData(CONTENT, feed));
    writeFileSync(data, CONTENT);
    writeFileSync(changed, Buffer.concat([CONTENT, Buffer.from(' ')]));
    const out = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', data, '-CAfile', pki.ca.certPath]);
    expect(out.equals(CONTENT)).toBe(true);
    const refused = runOpenssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', changed, '-CAfile', pki.ca.certPath]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/digest failure|verification failure/i);
  });
});
