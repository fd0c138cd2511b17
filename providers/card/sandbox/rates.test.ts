/**
 * The fault rates on CardGate (whose gate reads its knobs once per request): the same seed fails
 * the same requests with a 5xx that records nothing, a drawn hang records the charge and never
 * answers, reset() restarts the draws, a fixed knob wins.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../../test/helpers/pki.ts';
import { DRAWN_FAIL_STATUSES } from '../../_sandbox-kit/rates.ts';
import { startCardSandbox, type CardSandbox } from './index.ts';
import { envelope, PASSWORD, rawRequest, USERNAME } from './test-client.ts';

let pki: TestPki;
let sandbox: CardSandbox;

beforeAll(async () => {
  pki = await makeTestPki({ algo: 'ec' });
  sandbox = await startCardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, username: USERNAME, password: PASSWORD });
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

const sale = (merchantRef: string): string =>
  envelope(
    'Sale',
    `<MerchantRef>${merchantRef}</MerchantRef><Amount>2500</Amount><Currency>EUR</Currency>` +
      `<Card><Number>4111111111111111</Number><ExpMonth>12</ExpMonth><ExpYear>2039</ExpYear><Cvv>321</Cvv></Card>`,
  );

async function statuses(tag: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const result = await rawRequest(sandbox.url, pki.ca.certPem, sale(`${tag}-${i}`));
    seen.push(result.kind === 'answer' ? result.status : -1);
  }
  return seen;
}

describe('card sandbox fault rates', () => {
  it('fails the same requests for the same seed, recording nothing for them; reset() restarts the draws', async () => {
    Object.assign(sandbox.knobs, { failRate: 0.4, seed: 21 });
    const first = await statuses('a', 30);
    expect(first.filter((s) => s !== 200).length).toBeGreaterThan(0);
    expect(first.every((s) => s === 200 || (DRAWN_FAIL_STATUSES as readonly number[]).includes(s))).toBe(true);
    expect(sandbox.ledger.entries.map((e) => e.merchantRef)).toEqual(first.flatMap((s, i) => (s === 200 ? [`a-${i}`] : [])));
    await sandbox.reset();
    expect(sandbox.knobs).toMatchObject({ failRate: 0, hangRate: 0, seed: 1, failStatus: null, hang: null });
    Object.assign(sandbox.knobs, { failRate: 0.4, seed: 21 });
    expect(await statuses('b', 30)).toEqual(first);
  });

  it('a drawn hang records the charge and never answers', async () => {
    Object.assign(sandbox.knobs, { hangRate: 1 });
    const answer = rawRequest(sandbox.url, pki.ca.certPem, sale('hang-1'), 60_000);
    while (sandbox.ledger.size === 0) await new Promise((resolve) => setImmediate(resolve));
    // Still unanswered once charged; close() ends the held answer.
    await sandbox.down();
    expect(await answer).toMatchObject({ kind: 'error' });
    await sandbox.up();
    expect(sandbox.ledger.entries.map((e) => e.merchantRef)).toEqual(['hang-1']);
  });

  it('a fixed failStatus wins over the rates', async () => {
    Object.assign(sandbox.knobs, { hangRate: 1, failStatus: 503 });
    expect(await statuses('c', 2)).toEqual([503, 503]);
    expect(sandbox.ledger.size).toBe(0);
  });
});
