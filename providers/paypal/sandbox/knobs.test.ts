import { describe, expect, it } from 'vitest';
import { findPans } from '../../../test/helpers/pan-scan.ts';
import { controlTimer } from '../../../test/helpers/timing.ts';
import { makeTestPki } from '../../../test/helpers/pki.ts';
import { GARBAGE, HTML_PAGE } from './broken.ts';
import { startPaypalSandbox } from './sandbox.ts';
import { TEST_CARDS } from './test-data.ts';
import { readTruncated } from '../../_sandbox-kit/test-support.ts';
import { nvp, payment, post, send, useSandbox, type Fixture } from './test-support.ts';

const fixture = useSandbox();

const search = (key: string) => nvp(fixture, { METHOD: 'TransactionSearch', MSGSUBID: key });

describe('paypal sandbox knobs', () => {
  it('latencyMs delays the answer', async () => {
    fixture.sandbox.knobs.latencyMs = 300;
    // The sandbox sleeps 300 ms on its own timer, started after this one when the request arrives.
    const control = controlTimer(300);
    expect((await nvp(fixture, payment())).ACK).toBe('Success');
    expect(control.fired()).toBe(true);
  });

  it('failStatus answers every call with that status and an HTML page, processing nothing', async () => {
    fixture.sandbox.knobs.failStatus = 503;
    const answer = await post(fixture, payment({ MSGSUBID: 'fs-1' }));
    expect(answer).toMatchObject({ status: 503, contentType: expect.stringMatching(/^text\/html/) });
    expect(answer.body).toContain('503');
    expect((await post(fixture, { METHOD: 'GetTransactionDetails', TRANSACTIONID: 'X' })).status).toBe(503);
    expect(fixture.sandbox.ledger).toEqual([]);
    fixture.sandbox.knobs.failStatus = null;
    expect((await nvp(fixture, payment({ MSGSUBID: 'fs-1' }))).ACK).toBe('Success');
  });

  it("hangUp 'before-charge' cuts the connection and records nothing", async () => {
    fixture.sandbox.knobs.hangUp = 'before-charge';
    await expect(send(fixture, payment({ MSGSUBID: 'hb-1' }))).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    fixture.sandbox.knobs.hangUp = null;
    expect(fixture.sandbox.ledger).toEqual([]);
    expect((await search('hb-1')).L_TRANSACTIONID0).toBeUndefined();
  });

  it("hangUp 'after-charge' records exactly one movement that the lookup finds and a retry replays", async () => {
    fixture.sandbox.knobs.hangUp = 'after-charge';
    await expect(send(fixture, payment({ MSGSUBID: 'ha-1' }))).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    fixture.sandbox.knobs.hangUp = null;
    expect(fixture.sandbox.ledger).toHaveLength(1);
    const found = await search('ha-1');
    expect(found).toMatchObject({ L_TRANSACTIONID0: fixture.sandbox.ledger[0]?.id, L_STATUS0: 'Completed', L_AMT0: '19.99' });
    const retried = await nvp(fixture, payment({ MSGSUBID: 'ha-1' }));
    expect(retried.TRANSACTIONID).toBe(fixture.sandbox.ledger[0]?.id);
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it("hang 'after-charge' records the movement and never answers", async () => {
    fixture.sandbox.knobs.hang = 'after-charge';
    await expect(send(fixture, payment({ MSGSUBID: 'hang-1' }), { signal: AbortSignal.timeout(400) })).rejects.toThrow();
    fixture.sandbox.knobs.hang = null;
    expect(fixture.sandbox.ledger).toHaveLength(1);
    expect((await search('hang-1')).L_TRANSACTIONID0).toBe(fixture.sandbox.ledger[0]?.id);
  });

  it("hang 'before-charge' never answers and records nothing", async () => {
    fixture.sandbox.knobs.hang = 'before-charge';
    await expect(send(fixture, payment({ MSGSUBID: 'hang-2' }), { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    fixture.sandbox.knobs.hang = null;
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it("malformed 'html' processes the call and answers the HTML page", async () => {
    fixture.sandbox.knobs.malformed = 'html';
    const answer = await post(fixture, payment());
    expect(answer).toEqual({ status: 200, contentType: expect.stringMatching(/^text\/html/), body: HTML_PAGE });
    expect(answer.body).not.toContain('ACK=');
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it("malformed 'truncated' promises the whole answer and sends half of it", async () => {
    fixture.sandbox.knobs.malformed = 'truncated';
    const response = await send(fixture, payment());
    const { declared, text, failure } = await readTruncated(response);
    expect(failure).toBeInstanceOf(Error);
    expect(text.length).toBe(Math.floor(declared / 2));
    expect(text).toMatch(/^TIMESTAMP=/);
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it("malformed 'garbage' answers the documented bytes", async () => {
    fixture.sandbox.knobs.malformed = 'garbage';
    const response = await send(fixture, payment());
    expect(response.statusCode).toBe(200);
    expect(Buffer.from(await response.body.arrayBuffer()).equals(GARBAGE)).toBe(true);
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it('down refuses connections (ECONNREFUSED) and up serves again on the same URL', async () => {
    const url = fixture.sandbox.url;
    await fixture.sandbox.down();
    expect(fixture.sandbox.isDown).toBe(true);
    await expect(send(fixture, payment())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await fixture.sandbox.up();
    expect(fixture.sandbox.url).toBe(url);
    expect((await nvp(fixture, payment())).ACK).toBe('Success');
  });

  it('counts calls in total and per METHOD, and reset clears counts, ledger, MSGSUBIDs and knobs', async () => {
    await nvp(fixture, payment({ MSGSUBID: 'r-1' }));
    await nvp(fixture, payment());
    await nvp(fixture, { METHOD: 'TransactionSearch', MSGSUBID: 'r-1' });
    fixture.sandbox.knobs.latencyMs = 5;
    expect(fixture.sandbox.calls).toEqual({ total: 3, byOperation: { DoDirectPayment: 2, TransactionSearch: 1 } });
    fixture.sandbox.reset();
    expect(fixture.sandbox.calls).toEqual({ total: 0, byOperation: {} });
    expect(fixture.sandbox.ledger).toEqual([]);
    expect(fixture.sandbox.logLines).toEqual([]);
    expect(fixture.sandbox.knobs).toEqual({ latencyMs: 0, failStatus: null, hangUp: null, hang: null, malformed: null, failRate: 0, hangRate: 0, seed: 1 });
    expect((await nvp(fixture, payment({ MSGSUBID: 'r-1', AMT: '5.00' }))).AMT).toBe('5.00');
  });
});

describe('paypal sandbox: no card data, CVV2 or credential in ledger or logs', () => {
  it('keeps every card masked through every path and knob', async () => {
    const pki = await makeTestPki();
    const sunk: string[] = [];
    const sandbox = await startPaypalSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, log: (line) => sunk.push(line) });
    const local: Fixture = { sandbox, agent: fixture.agent };
    try {
      const accounts = [...Object.keys(TEST_CARDS), '4111111111111112', '378282246310005'];
      for (const [index, ACCT] of accounts.entries()) {
        const fields = await nvp(local, payment({ ACCT, CVV2: '987', MSGSUBID: `pan-${index}`, PAYMENTACTION: index % 2 ? 'Sale' : 'Authorization' }));
        if (fields.TRANSACTIONID) await nvp(local, { METHOD: 'GetTransactionDetails', TRANSACTIONID: fields.TRANSACTIONID });
      }
      sandbox.knobs.malformed = 'truncated';
      await post(local, payment({ CVV2: '987' })).catch(() => undefined);
      sandbox.knobs.malformed = null;
      sandbox.knobs.hangUp = 'after-charge';
      await post(local, payment({ CVV2: '987' })).catch(() => undefined);
      const kept = `${JSON.stringify(sandbox.ledger)}\n${sandbox.logLines.join('\n')}\n${sunk.join('\n')}`;
      expect(sandbox.ledger.length).toBeGreaterThan(5);
      expect(sunk).toEqual(sandbox.logLines);
      expect(findPans(kept, { thorough: true })).toEqual([]);
      expect(kept).toContain('411111******1111');
      for (const secret of [sandbox.credentials.pwd, sandbox.credentials.signature, '4111111111111112', 'CVV2']) expect(kept).not.toContain(secret);
      expect(kept).not.toMatch(/(?<![A-Za-z0-9])987(?![A-Za-z0-9])/);
    } finally {
      await sandbox.close();
    }
  });
});
