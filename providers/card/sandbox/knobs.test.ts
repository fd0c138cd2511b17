/**
 * The sandbox's knobs through a real `soap` client and raw HTTPS: latency, failStatus, hang-up
 * before and after the charge, hang, every malformed variant (the exact bytes), down/up, reset.
 */
import type * as soap from 'soap';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findPans } from '../../../test/helpers/pan-scan.ts';
import { controlTimer } from '../../../test/helpers/timing.ts';
import { makeTestPki, type TestPki } from '../../../test/helpers/pki.ts';
import { MALFORMED_VARIANTS, startCardSandbox, type CardSandbox } from './index.ts';
import { call, cardClient, envelope, EXP, PASSWORD, rawRequest, USERNAME, type RawResult } from './test-client.ts';

let pki: TestPki;
let sandbox: CardSandbox;
let client: soap.Client;
const logLines: string[] = [];

beforeAll(async () => {
  pki = await makeTestPki({ algo: 'ec' });
  sandbox = await startCardSandbox({
    tls: { cert: pki.tls.certPem, key: pki.tls.keyPem },
    username: USERNAME,
    password: PASSWORD,
    log: (line) => logLines.push(line),
  });
  client = await cardClient(sandbox, pki.ca.certPem);
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

let refs = 0;
const ref = () => `knob-${++refs}`;
const sale = (merchantRef = ref()) => ({ MerchantRef: merchantRef, Amount: 2500, Currency: 'EUR', Card: { Number: '4111111111111111', ...EXP, Cvv: '321' } });
const rawSale = (merchantRef: string) =>
  envelope(
    'Sale',
    `<MerchantRef>${merchantRef}</MerchantRef><Amount>2500</Amount><Currency>EUR</Currency>` +
      `<Card><Number>4111111111111111</Number><ExpMonth>12</ExpMonth><ExpYear>2039</ExpYear><Cvv>321</Cvv></Card>`,
  );
const body = (result: RawResult) => (result.kind === 'answer' ? result.body : `(error ${result.code})`);

/** Status for `merchantRef` with every knob back at rest. */
async function statusOf(merchantRef: string) {
  sandbox.knobs.hangUp = null;
  sandbox.knobs.hang = null;
  sandbox.knobs.malformed = null;
  return call(client, 'Status', { MerchantRef: merchantRef });
}

describe('latencyMs', () => {
  it('delays every answer by about that much', async () => {
    sandbox.knobs.latencyMs = 400;
    // The sandbox sleeps 400 ms on its own timer, started after this one when the request arrives.
    const control = controlTimer(400);
    expect(await call(client, 'Status', { MerchantRef: 'x' })).toMatchObject({ State: 'not_found' });
    expect(control.fired()).toBe(true);
  });
});

describe('failStatus', () => {
  it('answers every call (WSDL included) with that status and charges nothing', async () => {
    sandbox.knobs.failStatus = 503;
    const answer = await rawRequest(sandbox.url, pki.ca.certPem, rawSale(ref()));
    expect(answer).toMatchObject({ kind: 'answer', status: 503, body: 'Service Unavailable\n' });
    expect(await rawRequest(sandbox.wsdlUrl, pki.ca.certPem)).toMatchObject({ status: 503 });
    await expect(call(client, 'Sale', sale())).rejects.toMatchObject({ response: { status: 503 } });
    expect(sandbox.ledger.size).toBe(0);
    expect(sandbox.calls.Sale).toBe(2);
  });
});

describe('hangUp', () => {
  it("'before-charge' reads the request, drops the connection and charges nothing", async () => {
    sandbox.knobs.hangUp = 'before-charge';
    const merchantRef = ref();
    await expect(call(client, 'Sale', sale(merchantRef))).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sandbox.calls.Sale).toBe(1);
    expect(sandbox.ledger.size).toBe(0);
    expect(await statusOf(merchantRef)).toMatchObject({ State: 'not_found' });
  });

  it("'after-charge' charges once, drops the connection, and Status finds the charge", async () => {
    sandbox.knobs.hangUp = 'after-charge';
    const merchantRef = ref();
    await expect(call(client, 'Sale', sale(merchantRef))).rejects.toMatchObject({ code: 'ECONNRESET' });
    const entries = sandbox.ledger.entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ merchantRef, type: 'sale', state: 'captured', amount: 2500 });
    expect(await statusOf(merchantRef)).toMatchObject({ State: 'captured', TransactionId: entries[0]?.transactionId });
    // The caller's retry with the same MerchantRef is not a second charge.
    expect(await call(client, 'Sale', sale(merchantRef))).toMatchObject({ ResponseCode: '00', TransactionId: entries[0]?.transactionId });
    expect(sandbox.ledger.size).toBe(1);
  });
});

describe('hang', () => {
  it("'after-charge' charges and never answers", async () => {
    sandbox.knobs.hang = 'after-charge';
    const merchantRef = ref();
    expect(await rawRequest(sandbox.url, pki.ca.certPem, rawSale(merchantRef), 600)).toEqual({ kind: 'error', code: 'TIMEOUT' });
    expect(sandbox.ledger.size).toBe(1);
    expect(await statusOf(merchantRef)).toMatchObject({ State: 'captured', Operation: 'Sale' });
  });
});

describe('malformed', () => {
  const expectations: Record<(typeof MALFORMED_VARIANTS)[number], (answer: RawResult) => void> = {
    html: (answer) => {
      expect(answer).toMatchObject({ status: 500, contentType: 'text/html; charset=utf-8' });
      expect(body(answer)).toMatch(/^<!DOCTYPE html>\n<html><head><title>500 Internal Server Error<\/title>/);
    },
    truncated: (answer) => {
      expect(answer).toMatchObject({ status: 200 });
      const text = body(answer);
      expect(text).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?><soap:Envelope /);
      expect(text).not.toContain('</soap:Envelope>');
      expect(text.length).toBeGreaterThan(100);
    },
    'not-xml': (answer) => {
      expect(answer).toMatchObject({ status: 200, contentType: 'text/xml; charset=utf-8' });
      expect(JSON.parse(body(answer))).toEqual({ status: 'ok', message: 'this is not XML' });
    },
    'bad-fault': (answer) => {
      expect(answer).toMatchObject({ status: 500 });
      expect(body(answer)).toContain('<soap:Fault><faultcode></faultcode><detail>');
      expect(body(answer)).not.toContain('faultstring');
    },
    'xml-bomb': (answer) => {
      expect(answer).toMatchObject({ status: 200 });
      const text = body(answer);
      expect(text).toContain('<!DOCTYPE lolz [');
      expect(text).toContain(`<!ENTITY lol9 "${'&lol8;'.repeat(10)}">`);
      expect(text).toContain('<ResponseText>&lol9;</ResponseText>');
      expect(text.length).toBeLessThan(2_000);
    },
  };

  it.each(MALFORMED_VARIANTS)("'%s' charges, then answers the promised broken bytes", async (variant) => {
    sandbox.knobs.malformed = variant;
    const merchantRef = ref();
    const answer = await rawRequest(sandbox.url, pki.ca.certPem, rawSale(merchantRef));
    expect(answer.kind).toBe('answer');
    expectations[variant](answer);
    expect(sandbox.ledger.size).toBe(1);
    expect(await statusOf(merchantRef)).toMatchObject({ State: 'captured' });
  });

  it("'not-xml' makes the soap client fail", async () => {
    sandbox.knobs.malformed = 'not-xml';
    await expect(call(client, 'Status', { MerchantRef: 'x' })).rejects.toThrow();
  });
});

describe('down and up', () => {
  it('down refuses connections; up listens again on the same port', async () => {
    const port = sandbox.port;
    await sandbox.down();
    expect(sandbox.isDown).toBe(true);
    expect(await rawRequest(sandbox.url, pki.ca.certPem, rawSale(ref()))).toEqual({ kind: 'error', code: 'ECONNREFUSED' });
    await expect(call(client, 'Status', { MerchantRef: 'x' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await sandbox.up();
    expect(sandbox.isDown).toBe(false);
    expect(sandbox.port).toBe(port);
    expect(await call(client, 'Sale', sale())).toMatchObject({ ResponseCode: '00' });
  });

  it('reset brings a downed sandbox back with knobs, ledger and calls cleared', async () => {
    await call(client, 'Sale', sale());
    sandbox.knobs.failStatus = 502;
    sandbox.knobs.latencyMs = 50;
    await sandbox.down();
    await sandbox.reset();
    expect(sandbox.isDown).toBe(false);
    expect(sandbox.knobs).toEqual({ latencyMs: 0, failStatus: null, hangUp: null, hang: null, malformed: null, failRate: 0, hangRate: 0, seed: 1 });
    expect(sandbox.ledger.size).toBe(0);
    expect(Object.values(sandbox.calls).every((n) => n === 0)).toBe(true);
    expect(await call(client, 'Status', { MerchantRef: 'x' })).toMatchObject({ State: 'not_found' });
  });
});

describe('logs under the knobs', () => {
  it('hold no card number, CVV or password', () => {
    const logs = logLines.join('\n');
    expect(logs).toContain('knob hangUp before-charge');
    expect(findPans(logs)).toEqual([]);
    expect(logs).not.toMatch(/Cvv>\d/);
    expect(logs).not.toContain(PASSWORD);
  });
});
