/**
 * The fault rates: the draws are a pure function of the seed and the order of calls, and a
 * sandbox built on the kit (PayPal's) applies them to real HTTPS calls: a drawn failure is a
 * 5xx that records nothing, a drawn hang records the movement and never answers.
 */
import { describe, expect, it } from 'vitest';
import { DRAWN_FAIL_STATUSES, FaultDice, type DrawnFault, type FaultRates } from './rates.ts';
import { payment, post, send, useSandbox } from '../paypal/sandbox/test-support.ts';

const draws = (rates: FaultRates, count: number): DrawnFault[] => {
  const dice = new FaultDice();
  return Array.from({ length: count }, () => dice.draw(rates));
};
const kinds = (faults: DrawnFault[]): string => faults.map((f) => (f.kind === 'none' ? '.' : f.kind === 'fail' ? 'F' : 'H')).join('');

describe('FaultDice', () => {
  it('draws the same faults for the same seed, other faults for another seed', () => {
    const rates = { failRate: 0.1, hangRate: 0.02, seed: 42 };
    const first = draws(rates, 5_000);
    expect(draws(rates, 5_000)).toEqual(first);
    expect(kinds(draws({ ...rates, seed: 43 }, 5_000))).not.toBe(kinds(first));
  });

  it('meets the rates over many calls, with every 5xx status drawn', () => {
    const faults = draws({ failRate: 0.1, hangRate: 0.02, seed: 7 }, 20_000);
    const fails = faults.filter((f) => f.kind === 'fail');
    const hangs = faults.filter((f) => f.kind === 'hang').length;
    expect(fails.length / faults.length).toBeGreaterThan(0.09);
    expect(fails.length / faults.length).toBeLessThan(0.11);
    expect(hangs / faults.length).toBeGreaterThan(0.015);
    expect(hangs / faults.length).toBeLessThan(0.025);
    expect(new Set(fails.map((f) => (f.kind === 'fail' ? f.status : 0)))).toEqual(new Set(DRAWN_FAIL_STATUSES));
  });

  it('draws nothing and keeps its place while both rates are 0', () => {
    const dice = new FaultDice();
    const rates = { failRate: 0.5, hangRate: 0, seed: 9 };
    const withPause = [dice.draw(rates), dice.draw({ ...rates, failRate: 0 }), dice.draw(rates), dice.draw(rates)];
    expect(withPause[1]).toEqual({ kind: 'none' });
    expect(kinds([withPause[0], withPause[2], withPause[3]] as DrawnFault[])).toBe(kinds(draws(rates, 3)));
  });

  it('restarts the sequence when the seed changes', () => {
    const dice = new FaultDice();
    const a = { failRate: 0.3, hangRate: 0.3, seed: 5 };
    const run = (): string => kinds(Array.from({ length: 50 }, () => dice.draw(a)));
    const first = run();
    dice.draw({ ...a, seed: 6 });
    expect(run()).toBe(first);
  });

  it('treats a rate out of range as 0 (NaN, negative) or 1 (above 1)', () => {
    expect(kinds(draws({ failRate: Number.NaN, hangRate: -1, seed: 1 }, 20))).toBe('.'.repeat(20));
    expect(kinds(draws({ failRate: 0, hangRate: 5, seed: 1 }, 20))).toBe('H'.repeat(20));
  });
});

describe('rates on a kit sandbox (PayPal)', () => {
  const fixture = useSandbox();
  const statuses = async (seed: number, count: number): Promise<number[]> => {
    fixture.sandbox.reset();
    Object.assign(fixture.sandbox.knobs, { failRate: 0.4, hangRate: 0, seed });
    const seen: number[] = [];
    for (let i = 0; i < count; i += 1) seen.push((await post(fixture, payment({ MSGSUBID: `rate-${seed}-${i}` }))).status);
    return seen;
  };

  it('fails the same calls for the same seed; a failed call records nothing', async () => {
    const first = await statuses(11, 30);
    expect(first.filter((s) => s !== 200).length).toBeGreaterThan(0);
    expect(first.every((s) => s === 200 || (DRAWN_FAIL_STATUSES as readonly number[]).includes(s))).toBe(true);
    expect(fixture.sandbox.ledger.map((e) => e.reference)).toEqual(first.flatMap((s, i) => (s === 200 ? [`rate-11-${i}`] : [])));
    expect(await statuses(11, 30)).toEqual(first);
  });

  it('a drawn hang records the movement and never answers', async () => {
    Object.assign(fixture.sandbox.knobs, { hangRate: 1, seed: 3 });
    const abort = new AbortController();
    const answer = send(fixture, payment({ MSGSUBID: 'rate-hang' }), { signal: abort.signal });
    // Wait for the sandbox to have recorded it, then give up as a client would.
    while (fixture.sandbox.ledger.length === 0) await new Promise((resolve) => setImmediate(resolve));
    abort.abort();
    await expect(answer).rejects.toMatchObject({ name: 'AbortError' });
    expect(fixture.sandbox.ledger.map((e) => e.reference)).toEqual(['rate-hang']);
  });

  it('a fixed failStatus wins over the rates', async () => {
    Object.assign(fixture.sandbox.knobs, { hangRate: 1, seed: 3, failStatus: 418 });
    expect((await post(fixture, payment({ MSGSUBID: 'rate-fixed' }))).status).toBe(418);
    expect(fixture.sandbox.ledger).toEqual([]);
  });
});
