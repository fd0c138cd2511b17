/** The scrub helpers plugins build their `scrub(transcript)` from. */
import { describe, expect, it } from 'vitest';
import { createScrub, isSensitiveFieldName, maskSensitiveFields, scrubTranscript } from '../../../src/providers/index.ts';
import { findPans } from '../../helpers/pan-scan.ts';
import { TEST_PAN } from './support.ts';

describe('scrub helpers', () => {
  it('masks card numbers, CVVs and credentials in an NVP form', () => {
    const form = `USER=api_user&PWD=s3cr%26t&SIGNATURE=AbC.dEf&METHOD=DoDirectPayment&ACCT=${TEST_PAN}&CVV2=123&AMT=10.00`;
    expect(scrubTranscript(form)).toBe('USER=api_user&PWD=***&SIGNATURE=***&METHOD=DoDirectPayment&ACCT=411111******1111&CVV2=***&AMT=10.00');
  });

  it('masks a card number that is percent- or plus-encoded in a form value', () => {
    const scrubbed = scrubTranscript('ACCT=4111+1111+1111+1111&B=4111%201111%201111%201111');
    expect(findPans(decodeURIComponent(scrubbed.replace(/\+/g, ' ')), { thorough: true })).toEqual([]);
  });

  it('masks XML elements and attributes by name, WS-Security passwords and CDATA included', () => {
    const envelope =
      '<soap:Envelope><soap:Header><wsse:Security><wsse:UsernameToken><wsse:Username>merchant</wsse:Username>' +
      '<wsse:Password Type="urn:x#PasswordText">p&amp;ss</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header>' +
      `<soap:Body><tns:sale><tns:pan>${TEST_PAN}</tns:pan><tns:cvv>123</tns:cvv><cvc><![CDATA[456]]></cvc><card CVV2="789" apiKey='k'/></tns:sale></soap:Body></soap:Envelope>`;
    const scrubbed = scrubTranscript(envelope);
    expect(scrubbed).toContain('<wsse:Username>merchant</wsse:Username>');
    expect(scrubbed).toContain('<wsse:Password Type="urn:x#PasswordText">***</wsse:Password>');
    expect(scrubbed).toContain('<tns:pan>411111******1111</tns:pan><tns:cvv>***</tns:cvv><cvc>***</cvc><card CVV2="***" apiKey=\'***\'/>');
    expect(scrubbed).not.toMatch(/p&amp;ss|123|456|789/);
  });

  it('masks JSON members by name', () => {
    expect(maskSensitiveFields('{"cvc": 123, "client_secret":"a\\"b", "amount": 100}')).toBe('{"cvc": "***", "client_secret":"***", "amount": 100}');
  });

  it('knows sensitive names, short ones only on their own', () => {
    for (const name of ['cvv', 'CVV2', 'card_cvc', 'wsse:Password', 'PWD', 'SIGNATURE', 'access_token', 'x-api-key', 'pin', 'CID']) {
      expect(isSensitiveFieldName(name), name).toBe(true);
    }
    for (const name of ['USER', 'AMT', 'spinner', 'acid', 'Username', 'currency']) expect(isSensitiveFieldName(name), name).toBe(false);
  });

  it('masks extra fields a plugin names', () => {
    const scrub = createScrub({ extraFields: ['MERCHANT_REF', 'gc:pinBlock'] });
    expect(scrub('<pinBlock>99</pinBlock> MERCHANT_REF=abc&X=1')).toBe('<pinBlock>***</pinBlock> MERCHANT_REF=***&X=1');
  });
});
