import { describe, expect, it } from 'vitest';
import { findPans } from '../../../test/helpers/pan-scan.ts';
import { controlTimer } from '../../../test/helpers/timing.ts';
import { makeTestPki } from '../../../test/helpers/pki.ts';
import { DOCTYPE_ANSWER, GARBAGE, HTML_PAGE, XML_BOMB } from './broken.ts';
import { startGiftcardSandbox } from './sandbox.ts';
import { readTruncated } from '../../_sandbox-kit/test-support.ts';
import { call, CARD, post, requestXml, send, useSandbox, type Fixture } from './test-support.ts';

const fixture = useSandbox();

const redeem = (reference: string) => requestXml({ type: 'redeem', ...CARD, amount: [1000, 'EUR'], reference });
const status = (reference: string) => call(fixture, { type: 'status', reference });

describe('giftcard sandbox knobs', () => {
  it('latencyMs delays the answer', async () => {
    fixture.sandbox.knobs.latencyMs = 300;
    // The sandbox sleeps 300 ms on its own timer, started after this one when the request arrives.
    const control = controlTimer(300);
    expect((await call(fixture, { type: 'balance', ...CARD })).result).toBe('approved');
    expect(control.fired()).toBe(true);
  });

  it('failStatus answers every call with that status and an HTML page, processing nothing', async () => {
    fixture.sandbox.knobs.failStatus = 503;
    const answer = await post(fixture, redeem('fs-1'));
    expect(answer).toMatchObject({ status: 503, contentType: expect.stringMatching(/^text\/html/) });
    expect(answer.body).toContain('503');
    expect((await post(fixture, redeem('fs-1'), { apiKey: null })).status).toBe(503);
    expect(fixture.sandbox.ledger).toEqual([]);
    fixture.sandbox.knobs.failStatus = null;
    expect((await status('fs-1')).code).toBe('not_found');
  });

  it("hangUp 'before-charge' cuts the connection and records nothing", async () => {
    fixture.sandbox.knobs.hangUp = 'before-charge';
    await expect(send(fixture, redeem('hb-1'))).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    fixture.sandbox.knobs.hangUp = null;
    expect(fixture.sandbox.ledger).toEqual([]);
    expect((await status('hb-1')).code).toBe('not_found');
  });

  it("hangUp 'after-charge' records exactly one movement that status finds and a retry replays", async () => {
    fixture.sandbox.knobs.hangUp = 'after-charge';
    await expect(send(fixture, redeem('ha-1'))).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    fixture.sandbox.knobs.hangUp = null;
    expect(fixture.sandbox.ledger).toHaveLength(1);
    const id = fixture.sandbox.ledger[0]?.id;
    expect(await status('ha-1')).toMatchObject({ result: 'approved', transaction: id, type: 'redeem', state: 'completed', balance: '9000 EUR' });
    expect((await call(fixture, { type: 'redeem', ...CARD, amount: [1000, 'EUR'], reference: 'ha-1' })).transaction).toBe(id);
    expect(fixture.sandbox.ledger).toHaveLength(1);
    expect((await call(fixture, { type: 'balance', ...CARD })).balance).toBe('9000 EUR');
  });

  it("hang 'after-charge' records the movement and never answers", async () => {
    fixture.sandbox.knobs.hang = 'after-charge';
    await expect(send(fixture, redeem('hang-1'), { signal: AbortSignal.timeout(400) })).rejects.toThrow();
    fixture.sandbox.knobs.hang = null;
    expect(fixture.sandbox.ledger).toHaveLength(1);
    expect((await status('hang-1')).transaction).toBe(fixture.sandbox.ledger[0]?.id);
  });

  it("hang 'before-charge' never answers and records nothing", async () => {
    fixture.sandbox.knobs.hang = 'before-charge';
    await expect(send(fixture, redeem('hang-2'), { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    fixture.sandbox.knobs.hang = null;
    expect(fixture.sandbox.ledger).toEqual([]);
  });

  it.each([
    ['html', HTML_PAGE, /^text\/html/],
    ['xml-bomb', XML_BOMB, /^application\/xml/],
    ['doctype', DOCTYPE_ANSWER, /^application\/xml/],
  ] as const)("malformed '%s' processes the call and answers the documented document", async (kind, body, type) => {
    fixture.sandbox.knobs.malformed = kind;
    expect(await post(fixture, redeem(`m-${kind}`))).toEqual({ status: 200, contentType: expect.stringMatching(type), body });
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it('the bomb and the doctype documents are what they claim', () => {
    expect(XML_BOMB).toMatch(/<!DOCTYPE response \[/);
    expect(XML_BOMB.match(/<!ENTITY lol\d /g)).toHaveLength(10);
    expect(XML_BOMB).toContain(`<!ENTITY lol9 "${'&lol8;'.repeat(10)}">`);
    expect(XML_BOMB).toContain('<message>&lol9;</message>');
    expect(DOCTYPE_ANSWER).toContain('<!ENTITY xxe SYSTEM "file:///etc/passwd">');
    expect(DOCTYPE_ANSWER).toContain('<message>&xxe;</message>');
  });

  it("malformed 'truncated' promises the whole answer and sends half of it", async () => {
    fixture.sandbox.knobs.malformed = 'truncated';
    const response = await send(fixture, redeem('tr-1'));
    const { declared, text, failure } = await readTruncated(response);
    expect(failure).toBeInstanceOf(Error);
    expect(text.length).toBe(Math.floor(declared / 2));
    expect(text).toMatch(/^<\?xml/);
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it("malformed 'garbage' answers the documented bytes", async () => {
    fixture.sandbox.knobs.malformed = 'garbage';
    const response = await send(fixture, redeem('g-1'));
    expect(response.statusCode).toBe(200);
    expect(Buffer.from(await response.body.arrayBuffer()).equals(GARBAGE)).toBe(true);
    expect(fixture.sandbox.ledger).toHaveLength(1);
  });

  it('down refuses connections (ECONNREFUSED) and up serves again on the same URL', async () => {
    const url = fixture.sandbox.url;
    await fixture.sandbox.down();
    expect(fixture.sandbox.isDown).toBe(true);
    await expect(send(fixture, redeem('d-1'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await fixture.sandbox.up();
    expect(fixture.sandbox.url).toBe(url);
    expect((await call(fixture, { type: 'balance', ...CARD })).result).toBe('approved');
  });

  it('counts calls in total and per type, and reset restores cards, counts, ledger, references and knobs', async () => {
    await post(fixture, redeem('r-1'));
    await call(fixture, { type: 'balance', ...CARD });
    await status('r-1');
    fixture.sandbox.knobs.malformed = 'html';
    expect(fixture.sandbox.calls).toEqual({ total: 3, byOperation: { redeem: 1, balance: 1, status: 1 } });
    fixture.sandbox.reset();
    expect(fixture.sandbox.calls).toEqual({ total: 0, byOperation: {} });
    expect(fixture.sandbox.ledger).toEqual([]);
    expect(fixture.sandbox.logLines).toEqual([]);
    expect(fixture.sandbox.knobs).toEqual({ latencyMs: 0, failStatus: null, hangUp: null, hang: null, malformed: null, failRate: 0, hangRate: 0, seed: 1 });
    expect((await call(fixture, { type: 'balance', ...CARD })).balance).toBe('10000 EUR');
    expect((await call(fixture, { type: 'redeem', ...CARD, amount: [5, 'EUR'], reference: 'r-1' })).amount).toBe('5 EUR');
  });
});

describe('giftcard sandbox: no card number, PIN or key in ledger or logs', () => {
  it('keeps every card masked through every path and knob', async () => {
    const pki = await makeTestPki();
    const sunk: string[] = [];
    const sandbox = await startGiftcardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, log: (line) => sunk.push(line) });
    const local: Fixture = { sandbox, agent: fixture.agent };
    try {
      const cards: [string, string][] = [
        ['6036280000000011', '1234'], ['6036280000000029', '4321'], ['6036280000000037', '0000'],
        ['6036280000000045', '1111'], ['6036280000000052', '2222'], ['6036280000000094', '2468'],
      ];
      for (const [index, [card, pin]] of cards.entries()) {
        await call(local, { type: 'balance', card, pin: '8642' });
        await call(local, { type: 'reload', card, amount: [500, 'EUR'], reference: `load-${index}` });
        const moved = await call(local, { type: 'redeem', card, pin, amount: [100, 'EUR'], reference: `pan-${index}` });
        if (moved.transaction) await call(local, { type: 'void', transaction: moved.transaction });
      }
      await post(local, '<request><type>balance</type><card>6036280000000011</card><pin>1234</pin><cvv>1</cvv></request>');
      sandbox.knobs.hangUp = 'after-charge';
      await post(local, requestXml({ type: 'redeem', ...CARD, amount: [1, 'EUR'], reference: 'pan-h' })).catch(() => undefined);
      const kept = `${JSON.stringify(sandbox.ledger)}\n${sandbox.logLines.join('\n')}\n${sunk.join('\n')}`;
      expect(sandbox.ledger.length).toBeGreaterThan(4);
      expect(sunk).toEqual(sandbox.logLines);
      expect(findPans(kept, { thorough: true })).toEqual([]);
      expect(kept).toContain('603628******0011');
      expect(kept).not.toContain(sandbox.apiKey);
      expect(kept).not.toMatch(/(?<![A-Za-z0-9])(8642|1234|4321|2222|2468)(?![A-Za-z0-9])/);
    } finally {
      await sandbox.close();
    }
  });
});
