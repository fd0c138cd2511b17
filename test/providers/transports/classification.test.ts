/** The failure classification table (failure-classification.ts), case by case. */
import { describe, expect, it } from 'vitest';
import { classifyFailure, type CallPhase } from '../../../src/providers/transports/failure-classification.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { TEST_PAN } from './support.ts';

const failure = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`low-level ${code}`), { code, ...extra });

describe('classifyFailure', () => {
  it.each<[CallPhase, string, string, boolean]>([
    ['connecting', 'ECONNREFUSED', 'PROVIDER_UNAVAILABLE', true],
    ['connecting', 'ENOTFOUND', 'PROVIDER_UNAVAILABLE', true],
    ['connecting', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'PROVIDER_UNAVAILABLE', true],
    ['connecting', 'ERR_TLS_CERT_ALTNAME_INVALID', 'PROVIDER_UNAVAILABLE', true],
    ['connecting', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'PROVIDER_UNAVAILABLE', true],
    ['connecting', 'CERT_HAS_EXPIRED', 'PROVIDER_UNAVAILABLE', true],
    ['connecting', 'UND_ERR_CONNECT_TIMEOUT', 'PROVIDER_UNAVAILABLE', true],
    ['connecting', 'ECONNRESET', 'PROVIDER_UNAVAILABLE', true],
    ['sent', 'UND_ERR_SOCKET', 'PROVIDER_TIMEOUT', false],
    ['sent', 'ECONNRESET', 'PROVIDER_TIMEOUT', false],
    ['sent', 'UND_ERR_HEADERS_TIMEOUT', 'PROVIDER_TIMEOUT', false],
    ['sent', 'HPE_INVALID_CONSTANT', 'PROVIDER_BAD_RESPONSE', false],
    ['sent', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'PROVIDER_TIMEOUT', false],
    ['receiving', 'UND_ERR_BODY_TIMEOUT', 'PROVIDER_TIMEOUT', false],
    ['receiving', 'UND_ERR_SOCKET', 'PROVIDER_BAD_RESPONSE', false],
    ['receiving', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'PROVIDER_BAD_RESPONSE', false],
  ])('%s + %s → %s (notSent %s)', (phase, code, expected, notSent) => {
    const error = classifyFailure('provider.example:443', phase, failure(code));
    expect(error).toMatchObject({ code: expected, notSent });
    expect(error.message).toContain('provider.example:443');
  });

  it('our own deadline: not sent while connecting, a timeout afterwards', () => {
    expect(classifyFailure('h', 'connecting', undefined, 'deadline')).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', notSent: true });
    expect(classifyFailure('h', 'sent', undefined, 'deadline')).toMatchObject({ code: 'PROVIDER_TIMEOUT', notSent: false });
    expect(classifyFailure('h', 'receiving', undefined, 'deadline')).toMatchObject({ code: 'PROVIDER_TIMEOUT', notSent: false });
    expect(classifyFailure('h', 'receiving', undefined, 'too-large')).toMatchObject({ code: 'PROVIDER_BAD_RESPONSE', notSent: false });
  });

  it('keeps only the name and code of the low-level error (parser errors carry the raw answer)', () => {
    const parserError = failure('HPE_INVALID_CONSTANT', { data: `PAN=${TEST_PAN}` });
    parserError.message = `Response does not match the HTTP/1.1 protocol ${TEST_PAN}`;
    const error = classifyFailure('h', 'sent', parserError);
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).toMatchObject({ code: 'HPE_INVALID_CONSTANT', message: 'Error (HPE_INVALID_CONSTANT)' });
    expect(findPans(`${error.message} ${JSON.stringify(error.cause)} ${(error.cause as Error).message}`)).toEqual([]);
    expect(error.cause).not.toHaveProperty('data');
  });
});
