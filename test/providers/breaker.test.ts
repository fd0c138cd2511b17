import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BREAKER_DEFAULTS, BreakerRegistry, ProviderError, TransportError, breakerOptionsSchema, parseBreakerOptions,
  type BreakerOptionsInput, type BreakerSnapshot, type BreakerStateChange,
} from '../../src/providers/index.ts';
import { deferred, nextTurn, track } from '../helpers/timing.ts';

const A = 'https://card.sandbox.test:8443/soap/v1';
const B = 'https://card-backup.sandbox.test:8443/soap/v1';

/** Short windows, on a fake clock: time passes only when a test advances it. */
const FAST: BreakerOptionsInput = { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeout: 150, rollingCountTimeout: 2_000, capacity: 5 };

/** What opossum schedules (its reset timer, the rolling window's buckets) and the clock it reads. */
const CLOCK = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] } as const;

/** Lets fake time pass, running opossum's timers that fall due. */
const elapse = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

const registries: BreakerRegistry[] = [];
function registry(options: BreakerOptionsInput = FAST): BreakerRegistry {
  const r = new BreakerRegistry(options);
  registries.push(r);
  return r;
}
beforeEach(() => {
  vi.useFakeTimers({ toFake: [...CLOCK.toFake] });
});
afterEach(() => {
  for (const r of registries.splice(0)) r.shutdown();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const transportFault = () => Promise.reject(new TransportError('PROVIDER_HTTP_ERROR', 'HTTP 503 from card.sandbox.test', { status: 503 }));
const decline = () => Promise.resolve({ status: 'declined', error: { code: 'CARD_DECLINED', message: 'no', retryable: false } });

/** Calls `fn` through the breaker and returns what it rejected with (fails the test if it resolved). */
async function rejection(r: BreakerRegistry, fn: (signal: AbortSignal) => Promise<unknown>, provider = 'card', endpoint = A): Promise<unknown> {
  try {
    await r.call(provider, endpoint, fn);
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to be rejected');
}

async function failTimes(r: BreakerRegistry, n: number, provider = 'card', endpoint = A): Promise<void> {
  for (let i = 0; i < n; i++) expect(await rejection(r, transportFault, provider, endpoint)).toBeInstanceOf(TransportError);
}

function stateOf(r: BreakerRegistry, provider = 'card', endpoint = A): string | undefined {
  const origin = new URL(endpoint).origin;
  return r.snapshot().find((s) => s.provider === provider && s.endpoint === origin)?.state;
}

function expectUnavailable(error: unknown, provider = 'card'): TransportError {
  expect(error).toBeInstanceOf(TransportError);
  const e = error as TransportError;
  expect(e.code).toBe('PROVIDER_UNAVAILABLE');
  expect(e.notSent).toBe(true);
  expect(e.message).toContain(`provider ${provider}`);
  return e;
}

async function openBreaker(r: BreakerRegistry, provider = 'card', endpoint = A): Promise<void> {
  await failTimes(r, 4, provider, endpoint);
  expect(stateOf(r, provider, endpoint)).toBe('open');
}

describe('opening', () => {
  it('opens once the window holds volumeThreshold calls and more than errorThresholdPercentage of them failed', async () => {
    const r = registry();
    await failTimes(r, 3);
    expect(stateOf(r)).toBe('closed');
    await failTimes(r, 1);
    expect(stateOf(r)).toBe('open');
  });

  it('stays closed while failures are at or under the threshold percentage', async () => {
    const r = registry();
    for (let i = 0; i < 6; i++) await r.call('card', A, async () => 'ok');
    await failTimes(r, 6); // 6 of 12 = 50 %, not more than 50 %
    expect(stateOf(r)).toBe('closed');
    await failTimes(r, 1);
    expect(stateOf(r)).toBe('open');
  });

  it('counts only failures within the rolling window', async () => {
    const options = { ...FAST, rollingCountTimeout: 200, rollingCountBuckets: 2 };
    // The control: while the window still holds the first 3 failures, a 4th opens it.
    const within = registry(options);
    await failTimes(within, 3);
    await elapse(50);
    await failTimes(within, 1);
    expect(stateOf(within)).toBe('open');
    const r = registry(options);
    await failTimes(r, 3);
    await elapse(350); // the window has rolled past them
    await failTimes(r, 3);
    expect(stateOf(r)).toBe('closed');
    await failTimes(r, 1);
    expect(stateOf(r)).toBe('open');
  });

  it('a run of 50 declines, 50 plugin bugs and calls the caller aborted never open it', async () => {
    const r = registry({ ...FAST, volumeThreshold: 1, errorThresholdPercentage: 1 });
    for (let i = 0; i < 50; i++) expect(await r.call('card', A, decline)).toMatchObject({ status: 'declined' });
    for (let i = 0; i < 50; i++) {
      const bug = i % 2 === 0 ? new TypeError('cannot read properties of undefined') : new Error('plugin bug');
      expect(await rejection(r, () => Promise.reject(bug))).toBe(bug);
    }
    const controller = new AbortController();
    const aborted = r.call('card', A, async () => {
      controller.abort();
      throw new TransportError('PROVIDER_TIMEOUT', 'aborted by the caller');
    }, { signal: controller.signal });
    await expect(aborted).rejects.toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    expect(r.snapshot()).toEqual([expect.objectContaining({ state: 'closed', successes: 50, failures: 0, ignored: 51 })]);
    // The same breaker does open on transport failures (2 of 104 calls > 1 %): the threshold is reachable.
    await failTimes(r, 2);
    expect(stateOf(r)).toBe('open');
  });
});

describe('while open', () => {
  it('refuses at once with PROVIDER_UNAVAILABLE (notSent), saying when it retries, without calling fn', async () => {
    const r = registry({ ...FAST, resetTimeout: 60_000 });
    await openBreaker(r);
    const fn = vi.fn(async () => 'called');
    for (let i = 0; i < 20; i++) {
      const refused = rejection(r, fn);
      const progress = track(refused);
      // At once: settled within one turn of the event loop with the clock stopped, so it did
      // not wait for a timer, a slot or the provider.
      await nextTurn();
      expect(progress.settled()).toBe(true);
      const error = expectUnavailable(await refused);
      expect(error.message).toMatch(/breaker open .* trial call through at \d{4}-\d\d-\d\dT[\d:.]+Z \(in (59|60) s\)/);
      expect(error.message).toContain('https://card.sandbox.test:8443');
    }
    expect(fn).not.toHaveBeenCalled();
    expect(r.snapshot()[0]).toMatchObject({ rejects: 20, failures: 4, inFlight: 0 });
  });

  it('after resetTimeout lets one trial call through; its success closes the breaker', async () => {
    const r = registry();
    await openBreaker(r);
    await elapse(149);
    expect(stateOf(r)).toBe('open'); // not before resetTimeout
    await elapse(1);
    expect(stateOf(r)).toBe('half-open');
    const trial = deferred<string>();
    const call = r.call('card', A, () => trial.promise);
    // A second call while the trial is in flight is refused, and fn is not called.
    const second = vi.fn(async () => 'second');
    expect(expectUnavailable(await rejection(r, second)).message).toContain('trial call is in flight');
    expect(second).not.toHaveBeenCalled();
    trial.resolve('approved');
    await expect(call).resolves.toBe('approved');
    expect(stateOf(r)).toBe('closed');
    await expect(r.call('card', A, async () => 'again')).resolves.toBe('again');
  });

  it('a failed trial re-opens it (and it tries again after another resetTimeout)', async () => {
    const r = registry();
    await openBreaker(r);
    await elapse(150);
    expect(stateOf(r)).toBe('half-open');
    await failTimes(r, 1);
    expect(stateOf(r)).toBe('open');
    const fn = vi.fn(async () => 'x');
    expectUnavailable(await rejection(r, fn));
    expect(fn).not.toHaveBeenCalled();
    await elapse(149);
    expectUnavailable(await rejection(r, fn)); // not before another resetTimeout
    await elapse(1);
    await expect(r.call('card', A, async () => 'recovered')).resolves.toBe('recovered');
    expect(stateOf(r)).toBe('closed');
  });

  it('emits state-change events in order; a throwing listener does not break calls', async () => {
    const r = registry();
    const changes: BreakerStateChange[] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    r.on('state-change', () => {
      throw new Error('listener bug');
    });
    const off = r.on('state-change', (c) => changes.push(c));
    await openBreaker(r);
    await elapse(150);
    await r.call('card', A, async () => 'ok');
    const endpoint = 'https://card.sandbox.test:8443';
    expect(changes).toEqual([
      { provider: 'card', endpoint, from: 'closed', to: 'open' },
      { provider: 'card', endpoint, from: 'open', to: 'half-open' },
      { provider: 'card', endpoint, from: 'half-open', to: 'closed' },
    ]);
    expect(warn).toHaveBeenCalledTimes(3);
    off();
    await openBreaker(r);
    expect(changes).toHaveLength(3);
  });
});

describe('bulkhead', () => {
  it('refuses the (capacity+1)-th concurrent call of a provider at once and runs the others', async () => {
    const r = registry({ ...FAST, capacity: 3 });
    const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
    const running = [
      r.call('card', A, () => gates[0]!.promise),
      r.call('card', A, () => gates[1]!.promise),
      r.call('card', B, () => gates[2]!.promise), // the bulkhead is per provider, over its endpoints
    ];
    const fourth = vi.fn(async () => 'fourth');
    // Refused while the three are still blocked on their gates: it did not wait for a slot.
    expect(expectUnavailable(await rejection(r, fourth, 'card', B)).message).toContain('bulkhead full (3 calls in flight)');
    expect(fourth).not.toHaveBeenCalled();
    // Another provider has its own bulkhead.
    await expect(r.call('wallet', A, async () => 'other provider')).resolves.toBe('other provider');
    expect(r.snapshot().map((s) => s.inFlight)).toEqual([2, 1, 0]);
    gates.forEach((g, i) => g.resolve(`done ${i}`));
    await expect(Promise.all(running)).resolves.toEqual(['done 0', 'done 1', 'done 2']);
    await expect(r.call('card', B, async () => 'room again')).resolves.toBe('room again');
    expect(r.snapshot()[1]).toMatchObject({ bulkheadRejects: 1, successes: 2, inFlight: 0, state: 'closed' });
  });
});

describe('independence', () => {
  it('two endpoints of one provider and two providers have their own breakers', async () => {
    const r = registry();
    await openBreaker(r, 'card', A);
    await expect(r.call('card', B, async () => 'other endpoint')).resolves.toBe('other endpoint');
    await expect(r.call('wallet', A, async () => 'other provider')).resolves.toBe('other provider');
    // Same origin, another path: the same breaker.
    expectUnavailable(await rejection(r, async () => 'x', 'card', 'https://card.sandbox.test:8443/other/path'));
    expect(r.snapshot().map((s) => [s.provider, s.endpoint, s.state])).toEqual([
      ['card', 'https://card.sandbox.test:8443', 'open'],
      ['card', 'https://card-backup.sandbox.test:8443', 'closed'],
      ['wallet', 'https://card.sandbox.test:8443', 'closed'],
    ]);
  });

  it('configure() gives one provider its own options', async () => {
    const r = registry();
    r.configure('fragile', { volumeThreshold: 1 });
    await failTimes(r, 1, 'fragile');
    expect(stateOf(r, 'fragile')).toBe('open');
    await failTimes(r, 1, 'card');
    expect(stateOf(r, 'card')).toBe('closed');
    expect(() => r.configure('card', { capacity: 1 })).toThrow(/before its first call/);
  });
});

describe('snapshot', () => {
  it('counts what happened', async () => {
    const r = registry({ ...FAST, resetTimeout: 60_000 });
    for (let i = 0; i < 3; i++) await r.call('card', A, decline);
    await rejection(r, () => Promise.reject(new Error('bug')));
    await failTimes(r, 4); // 4 of 8 = 50 %: not yet
    expect(stateOf(r)).toBe('closed');
    await failTimes(r, 1); // 5 of 9: open
    for (let i = 0; i < 2; i++) await rejection(r, async () => 'x');
    const expected: BreakerSnapshot = {
      provider: 'card', endpoint: 'https://card.sandbox.test:8443', state: 'open',
      successes: 3, failures: 5, ignored: 1, rejects: 2, bulkheadRejects: 0, timeouts: 0, inFlight: 0,
    };
    expect(r.snapshot()).toEqual([expected]);
  });
});

describe('options', () => {
  it('has one set of defaults, with no opossum timeout', () => {
    expect(BREAKER_DEFAULTS).toEqual({
      errorThresholdPercentage: 50, volumeThreshold: 10, rollingCountTimeout: 10_000, rollingCountBuckets: 10,
      resetTimeout: 30_000, capacity: 20, timeout: false,
    });
    expect(breakerOptionsSchema.parse({ capacity: 4 })).toEqual({ ...BREAKER_DEFAULTS, capacity: 4 });
  });

  it('are documented in docs/providers.md with their defaults', () => {
    const doc = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Breakers'));
    for (const [key, value] of Object.entries(BREAKER_DEFAULTS)) {
      const shown = typeof value === 'number' && value >= 10_000 ? `${value.toLocaleString('en').replace(',', ' ')} ms` : `\`${String(value)}\``;
      expect(section).toMatch(new RegExp(`^\\| \`${key}\` \\| (${shown}|${String(value)}) \\|`, 'm'));
    }
  });

  it('refuses unknown and out-of-range options with PROVIDER_INVALID naming the field', () => {
    for (const [bad, field] of [
      [{ capacty: 4 }, 'capacty'], [{ capacity: 0 }, 'capacity'], [{ errorThresholdPercentage: 100 }, 'errorThresholdPercentage'],
      [{ resetTimeout: 1.5 }, 'resetTimeout'], [{ timeout: true }, 'timeout'], [{ rollingCountTimeout: 10, rollingCountBuckets: 20 }, 'rollingCountBuckets'],
    ] as const) {
      const error = (() => {
        try {
          parseBreakerOptions(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).code).toBe('PROVIDER_INVALID');
      expect((error as ProviderError).message).toContain(field);
    }
    expect(() => new BreakerRegistry({ volumeThreshold: -1 })).toThrow(ProviderError);
  });

  it('by default never times a call out itself (the transport owns timeouts)', async () => {
    const r = registry({});
    const slow = deferred<string>();
    let aborted = false;
    const call = r.call('card', A, (signal) => {
      signal.addEventListener('abort', () => (aborted = true));
      return slow.promise;
    });
    await vi.advanceTimersByTimeAsync(10 * 60_000); // well past opossum's own 10 s default
    slow.resolve('answered late');
    await expect(call).resolves.toBe('answered late');
    expect(aborted).toBe(false);
    expect(r.snapshot()[0]).toMatchObject({ successes: 1, timeouts: 0, failures: 0 });
  });

  it('an opt-in opossum timeout aborts the call and reports PROVIDER_TIMEOUT (notSent: false) as a failure', async () => {
    const r = registry({ ...FAST, timeout: 50 });
    let seen: AbortSignal | undefined;
    const pending = rejection(r, (signal) => {
      seen = signal;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
    });
    await elapse(49);
    expect(seen?.aborted).toBe(false); // not before the timeout
    await elapse(1);
    const error = await pending;
    expect(error).toMatchObject({ code: 'PROVIDER_TIMEOUT', notSent: false });
    expect((error as Error).message).toContain('outcome is unknown');
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
    expect(r.snapshot()[0]).toMatchObject({ timeouts: 1, failures: 1, ignored: 0 });
  });
});

describe('calls', () => {
  it('passes the caller signal to fn, and refuses without calling fn when it has already aborted', async () => {
    const r = registry();
    const controller = new AbortController();
    await expect(r.call('card', A, async (signal) => signal === controller.signal, { signal: controller.signal })).resolves.toBe(true);
    controller.abort(new Error('request expired'));
    const fn = vi.fn(async () => 'x');
    await expect(r.call('card', A, fn, { signal: controller.signal })).rejects.toThrow('request expired');
    expect(fn).not.toHaveBeenCalled();
  });

  it('refuses a bad endpoint or provider name without echoing the URL', async () => {
    const r = registry();
    const error = await rejection(r, async () => 'x', 'card', 'not a url with secret-password');
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain('secret-password');
    expect(await rejection(r, async () => 'x', 'Card Provider', A)).toBeInstanceOf(TypeError);
    // Credentials in the URL are not part of the key or the snapshot.
    await r.call('card', 'https://user:secret-password@card.sandbox.test:8443/x', async () => 'ok');
    expect(JSON.stringify(r.snapshot())).not.toContain('secret-password');
  });
});

describe('shutdown', () => {
  it('clears every breaker timer and refuses later calls', async () => {
    const r = new BreakerRegistry(FAST);
    const before = vi.getTimerCount();
    await r.call('card', A, async () => 'ok');
    await r.call('card', B, async () => 'ok');
    await openBreaker(r, 'card', A); // adds opossum's reset timer
    expect(vi.getTimerCount()).toBe(before + 3);
    r.shutdown();
    expect(vi.getTimerCount()).toBe(before);
    expect(r.isShutdown).toBe(true);
    const fn = vi.fn(async () => 'x');
    expectUnavailable(await rejection(r, fn, 'card', B));
    expectUnavailable(await rejection(r, fn, 'wallet', A), 'wallet');
    expect(fn).not.toHaveBeenCalled();
    r.shutdown(); // idempotent
    expect(vi.getTimerCount()).toBe(before);
  });
});
