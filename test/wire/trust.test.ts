/**
 * Trust decisions through the real message path: chains through intermediates sent in a PEM
 * bundle, pathLenConstraint, pinned signers, signing purpose, validity windows, key mismatch.
 * The chains are made with the real openssl binary, so our path building is checked against
 * certificates we did not write.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadIdentity, open, seal, TrustStore, WireError, type Identity } from '../../src/wire/index.ts';
import { makeTempDir, makeTestPki, openssl, type TestPki } from '../helpers/pki.ts';

const YAML = 'paygate: 1\nkind: request\n';

const EXTENSIONS = `
[root]
basicConstraints=critical,CA:true
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[root0]
basicConstraints=critical,CA:true,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[intermediate]
basicConstraints=critical,CA:true
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf]
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=emailProtection,clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

interface Chain {
  root: string;
  intermediate: string;
  leaf: string;
  leafKey: string;
}

/** root → intermediate → leaf, made by openssl; `rootSection` picks the root's constraints. */
function makeChain(dir: string, name: string, rootSection: 'root' | 'root0'): Chain {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const cnf = join(dir, 'ext.cnf');
  writeFileSync(cnf, `[req]\ndistinguished_name=dn\n[dn]\n${EXTENSIONS}`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('root.key'), '-out', p('root.crt'), '-subj', `/CN=${name} root`, '-days', '30', '-config', cnf, '-extensions', rootSection]);
  const issue = (subject: string, out: string, issuer: string, section: string) => {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${out}.key`), '-out', p(`${out}.csr`), '-subj', `/CN=${subject}`]);
    openssl(['x509', '-req', '-in', p(`${out}.csr`), '-CA', p(`${issuer}.crt`), '-CAkey', p(`${issuer}.key`), '-CAcreateserial', '-out', p(`${out}.crt`), '-days', '30', '-extfile', cnf, '-extensions', section]);
  };
  issue(`${name} intermediate`, 'intermediate', 'root', 'intermediate');
  issue(`${name} leaf`, 'leaf', 'intermediate', 'leaf');
  const read = (f: string) => openssl(['x509', '-in', p(f)]).toString();
  return { root: read('root.crt'), intermediate: read('intermediate.crt'), leaf: read('leaf.crt'), leafKey: openssl(['pkey', '-in', p('leaf.key')]).toString() };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
  return 'no error';
}

let pki: TestPki;
let gateway: Identity;
let chain: Chain;
let shortChain: Chain;

beforeAll(async () => {
  pki = await makeTestPki({ algo: 'rsa' });
  gateway = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
  const dir = makeTempDir('trust');
  chain = makeChain(dir, 'deep', 'root');
  shortChain = makeChain(dir, 'short', 'root0');
});

const sealBy = (signer: Identity) => seal(YAML, { recipients: [gateway.certificate], signer });

describe('trust paths', () => {
  it('accepts a signer whose intermediate travels in its PEM bundle, and reports the whole path', () => {
    const signer = loadIdentity(chain.leaf + chain.intermediate, chain.leafKey);
    const opened = open(sealBy(signer), { identity: gateway, trust: new TrustStore([chain.root]) });
    expect(opened.yaml).toBe(YAML);
    expect(opened.chain.map((c) => c.subject)).toEqual(['CN=deep leaf', 'CN=deep intermediate', 'CN=deep root']);
  });

  it('refuses the same signer when the intermediate is not sent', () => {
    const signer = loadIdentity(chain.leaf, chain.leafKey);
    expect(codeOf(() => open(sealBy(signer), { identity: gateway, trust: new TrustStore([chain.root]) }))).toBe('UNTRUSTED_SIGNER');
  });

  it('enforces the root pathLenConstraint 0: no intermediate below it', () => {
    const signer = loadIdentity(shortChain.leaf + shortChain.intermediate, shortChain.leafKey);
    expect(codeOf(() => open(sealBy(signer), { identity: gateway, trust: new TrustStore([shortChain.root]) }))).toBe('UNTRUSTED_SIGNER');
  });

  it('accepts a pinned signer certificate without its CA', () => {
    const signer = loadIdentity(chain.leaf, chain.leafKey);
    const opened = open(sealBy(signer), { identity: gateway, trust: new TrustStore([chain.leaf]) });
    expect(opened.chain).toHaveLength(1);
  });

  it("refuses a signer from our own CA whose certificate is not for signing messages (the sandbox's TLS certificate)", () => {
    const tls = loadIdentity(pki.tls.certPem, pki.tls.keyPem);
    expect(codeOf(() => open(sealBy(tls), { identity: gateway, trust: new TrustStore([pki.ca.certPem]) }))).toBe('UNTRUSTED_SIGNER');
  });

  it('checks validity against the given clock on every message, cached path or not', () => {
    const client = loadIdentity(pki.client.certPem, pki.client.keyPem);
    const trust = new TrustStore([pki.ca.certPem]);
    const body = sealBy(client);
    expect(open(body, { identity: gateway, trust }).yaml).toBe(YAML); // path now cached
    expect(codeOf(() => open(body, { identity: gateway, trust, now: new Date('2001-01-01T00:00:00Z') }))).toBe('CERT_EXPIRED');
    expect(codeOf(() => open(body, { identity: gateway, trust, now: new Date('2199-01-01T00:00:00Z') }))).toBe('CERT_EXPIRED');
  });

  it('refuses a key that does not belong to its certificate when loading the identity', () => {
    expect(codeOf(() => loadIdentity(pki.client.certPem, pki.gateway.keyPem))).toBe('BAD_KEY');
    expect(codeOf(() => loadIdentity(pki.client.certPem, 'not a key'))).toBe('BAD_KEY');
    expect(codeOf(() => loadIdentity('no certificate here', pki.client.keyPem))).toBe('BAD_KEY');
  });

  it('refuses an empty trust store', () => {
    expect(codeOf(() => new TrustStore([]))).toBe('BAD_KEY');
  });
});
