/** Transport options: zod-validated, defaults in one place, TLS verification cannot be switched off. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/providers/index.ts';
import { createFormTransport, createXmlTransport, TRANSPORT_DEFAULTS } from '../../../src/providers/transports/index.ts';
import { endpointOptionsSchema } from '../../../src/providers/transports/options.ts';
import { tlsConnectOptions } from '../../../src/providers/transports/tls.ts';
import type { TestPki } from '../../helpers/pki.ts';
import { testPki } from './support.ts';

let pki: TestPki;
beforeAll(async () => {
  pki = await testPki();
});

function refusal(make: () => unknown): ProviderError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe('PROVIDER_INVALID');
    return error as ProviderError;
  }
  throw new Error('the options were accepted');
}

describe('transport options', () => {
  it('fills in the defaults from TRANSPORT_DEFAULTS', () => {
    const parsed = endpointOptionsSchema.parse({ endpoint: 'https://provider.example/api' });
    expect(parsed).toMatchObject({ ...TRANSPORT_DEFAULTS, tls: {}, headers: {} });
    expect(TRANSPORT_DEFAULTS.maxResponseBytes).toBe(1024 * 1024);
  });

  it('refuses rejectUnauthorized: TLS verification is always on', () => {
    const error = refusal(() => createFormTransport({ endpoint: 'https://provider.example', tls: { rejectUnauthorized: false } as never }));
    expect(error.issues.map((issue) => issue.path)).toEqual(['tls']);
    expect(tlsConnectOptions({}).rejectUnauthorized).toBe(true);
  });

  it.each([
    ['http://provider.example', 'endpoint'],
    ['https://provider.example/api?key=1', 'endpoint'],
    ['https://user:pw@provider.example/', 'endpoint'],
  ])('refuses the endpoint %s', (endpoint, path) => {
    expect(refusal(() => createXmlTransport({ endpoint })).issues.map((issue) => issue.path)).toEqual([path]);
  });

  it('refuses a certificate without its key, and a CA that is not PEM certificates', () => {
    expect(refusal(() => createFormTransport({ endpoint: 'https://p.example', tls: { cert: pki.client.certPem } })).message).toMatch(/tls\.key: cert and key go together/);
    expect(refusal(() => createFormTransport({ endpoint: 'https://p.example', tls: { ca: 'not a certificate' } })).message).toMatch(/tls\.ca/);
  });

  it('refuses a key that does not load, without quoting it', () => {
    const key = pki.client.keyPem.replace(/[A-Za-z0-9]{20}/, 'x');
    const error = refusal(() => createFormTransport({ endpoint: 'https://p.example', tls: { cert: pki.client.certPem, key } }));
    expect(error.message).toMatch(/tls\.key: must be a PEM private key/);
    expect(error.message).not.toContain(key.slice(40, 80));
  });

  it('accepts the client certificate and key, and a CA list', () => {
    const transport = createFormTransport({ endpoint: 'https://p.example', tls: { ca: [pki.ca.certPem], cert: pki.client.certPem, key: pki.client.keyPem } });
    expect(transport.host).toBe('p.example');
    return transport.close();
  });
});
