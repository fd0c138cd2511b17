/**
 * src/logging.ts: real pino writing into a stream the test collects, no mocks. The oracle for
 * card numbers is test/helpers/pan-scan.ts in its thorough mode (any Luhn-valid window of 13–19
 * digits), written independently of the `maskPan` under test.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PaygateError } from '../src/errors.ts';
import { actionLogger, createLogger, LOG_ERROR_CODES, LogError, type LogOptions } from '../src/logging.ts';
import { CardNumber, cardSchema, Cvc, Secret } from '../src/wire/index.ts';
import { findPans } from './helpers/pan-scan.ts';

const PANS = ['4111111111111111', '5555555555554444', '378282246310005'];
/** Each PAN as given, with spaces and with dashes. */
const PAN_FORMS = PANS.flatMap((pan) => [pan, pan.replace(/(\d{4})(?=\d)/g, '$1 '), pan.replace(/(\d{4})(?=\d)/g, '$1-')]);

interface Capture {
  readonly log: Logger;
  /** The raw lines written so far (each ends with a newline). */
  readonly lines: string[];
  /** The lines, parsed. */
  records(): Record<string, unknown>[];
}

function capture(options: Omit<LogOptions, 'destination'> = {}): Capture {
  const lines: string[] = [];
  const log = createLogger({ ...options, destination: { write: (line: string) => void lines.push(line) } });
  return { log, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Fails on any Luhn-valid 13–19-digit run in any line. */
function expectNoPans(lines: readonly string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(findPans(line, { thorough: true }), line).toEqual([]);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createLogger: the line format', () => {
  it('writes one JSON object per line: level label, ISO time, pid, hostname, name, base fields, fields, msg', () => {
    const { log, lines, records } = capture({ name: 'paygate-test', base: { workerId: 'host:1:ab' } });
    log.info({ orderId: 'ord-42' }, 'charged');
    log.warn('slow');
    log.error('failed');
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    const [info, warn, error] = records();
    expect(info).toMatchObject({ level: 'info', name: 'paygate-test', pid: process.pid, workerId: 'host:1:ab', orderId: 'ord-42', msg: 'charged' });
    expect(typeof info?.hostname).toBe('string');
    expect(new Date(String(info?.time)).toISOString()).toBe(info?.time);
    expect(warn).toMatchObject({ level: 'warn', msg: 'slow' });
    expect(error).toMatchObject({ level: 'error', msg: 'failed' });
  });

  it('defaults: name paygate, level info (debug is dropped)', () => {
    const { log, records } = capture();
    log.debug('hidden');
    log.info('shown');
    expect(records()).toEqual([expect.objectContaining({ name: 'paygate', level: 'info', msg: 'shown' })]);
  });

  it('writes whole lines synchronously to a file descriptor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paygate-log-'));
    const fd = openSync(join(dir, 'log.jsonl'), 'w');
    try {
      const log = createLogger({ destination: fd });
      for (let i = 0; i < 50; i++) log.info({ i }, 'line');
      // No flush, no wait: a sync destination has written every line when the call returns.
      const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trimEnd().split('\n');
      expect(lines.map((line) => (JSON.parse(line) as { i: number }).i)).toEqual([...Array(50).keys()]);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('createLogger: no card number comes out', () => {
  it('in the message, in printf arguments, and split between the two', () => {
    const { log, lines } = capture();
    for (const pan of PAN_FORMS) {
      log.info(`paid with ${pan}`);
      log.info('paid with %s', pan);
      log.info({ at: 'printf' }, 'card %s, again %j, object %o', pan, { pan2: pan }, { deep: [pan] });
      log.warn(Number(pan.replace(/\D/g, '')) as unknown as string);
    }
    log.info('split 4111 %s', '1111 1111 1111');
    expectNoPans(lines);
    expect(lines[0]).toContain('411111******1111');
  });

  it('in fields: top level, three levels deep, in arrays, as numbers, in keys', () => {
    const { log, lines, records } = capture();
    for (const pan of PAN_FORMS) {
      const digits = Number(pan.replace(/\D/g, ''));
      log.info(
        { card: pan, a: { b: { c: { note: `card ${pan}` } } }, list: ['x', pan, [pan]], asNumber: digits, nested: { n: [digits] }, [pan]: 1 },
        'fields',
      );
    }
    expectNoPans(lines);
    expect(records()[0]).toMatchObject({ card: '411111******1111', asNumber: '411111******1111', list: ['x', '411111******1111', ['411111******1111']] });
  });

  it('in errors: message, stack, code and cause, logged directly, under err, or in any field', () => {
    const { log, lines, records } = capture();
    for (const pan of PAN_FORMS) {
      const cause = new TypeError(`cause ${pan}`);
      const error = Object.assign(new Error(`declined ${pan}`, { cause }), { code: `E_${pan}`, detail: { pan2: pan } });
      log.error(error);
      log.error({ err: error }, 'charge failed');
      log.warn({ problem: error, list: [error] }, 'retrying');
    }
    expectNoPans(lines);
    const [first] = records();
    expect(first).toMatchObject({ level: 'error', msg: 'declined 411111******1111', err: { type: 'Error', message: 'declined 411111******1111' } });
    expect((first?.err as { stack: string }).stack).toMatch(/^Error: declined 411111\*{6}1111\n\s+at /);
  });

  it('in Secrets and validated cards: their masks', () => {
    const { log, lines, records } = capture();
    const card = cardSchema.parse({ number: '4111 1111 1111 1111', exp_month: 12, exp_year: new Date().getFullYear() + 2, cvc: '737' });
    log.info({ pan1: new CardNumber('5555555555554444'), code: new Cvc('737'), other: new Secret('tok_live_abc'), card }, 'card %s', new CardNumber('378282246310005'));
    expectNoPans(lines);
    const [line] = records();
    expect(line).toMatchObject({ pan1: '555555******4444', code: '***', other: '***', msg: 'card 378282*****0005' });
    expect(line?.card).toMatchObject({ number: '[REDACTED]', cvc: '[REDACTED]', exp_month: 12 });
    // Without time and pid: a millisecond count may hold 737 by chance.
    const { time: _time, pid: _pid, ...rest } = line ?? {};
    expect(JSON.stringify(rest)).not.toContain('737');
  });

  it('in child bindings and base fields', () => {
    const { log, lines } = capture({ base: { terminal: '4111 1111 1111 1111', creds: { password: 'hunter2-base' } } });
    const child = log.child({ card: '5555-5555-5555-4444', x: { y: { z: { w: { cvv: 'cvv-child-737' } } } } });
    child.child({ n: 378282246310005 }).info('from a grandchild');
    child.setBindings({ later: '4111111111111111' });
    child.info('after setBindings');
    expectNoPans(lines);
    expect(lines.join('')).not.toMatch(/hunter2-base|cvv-child-737/);
  });
});

describe('createLogger: sensitive keys are censored at any depth', () => {
  const secrets = { cvv: 'cvv-7f3a', cvc: 'cvc-91bd', cvv2: 'cvv2-2c4e', pin: 'pin-4921', password: 'pw-hunter2', passcode: 'pc-5c1e', secret: 'sk-8d2f', authorization: 'Bearer tok-3e9a', api_key: 'ak-6b0c', signature: 'sig-0a7d' };
  const values = Object.values(secrets);

  it('from the top level down to six levels, including camelCase and other-case spellings', () => {
    const { log, lines, records } = capture();
    let nested: Record<string, unknown> = { ...secrets };
    for (let depth = 0; depth < 5; depth++) {
      log.info(nested, `depth ${depth}`);
      nested = { level1: nested };
    }
    log.info({ req: { headers: { Authorization: 'Bearer tok-case', 'API-Key': 'ak-case' } }, cardNumber: 'cn-4d1f', CVV: 'cvv-upper' }, 'spellings');
    const text = lines.join('');
    for (const value of [...values, 'tok-case', 'ak-case', 'cn-4d1f', 'cvv-upper']) expect(text).not.toContain(value);
    expect(records()[0]).toMatchObject({ cvv: '[REDACTED]', pin: '[REDACTED]', password: '[REDACTED]' });
  });

  it('in printf object arguments', () => {
    const { log, lines } = capture();
    log.info('request %j and %o', { body: { cvv: 'cvv-7f3a' } }, { pin: 'pin-4921' });
    expect(lines.join('')).not.toMatch(/cvv-7f3a|pin-4921/);
  });
});

describe('createLogger: the rest stays readable', () => {
  it('keeps order ids, amounts, UUIDs, short numbers and booleans as they are', () => {
    const { log, records } = capture();
    const fields = {
      orderId: 'ord-2024-000123',
      amount: { value: 1999, currency: 'EUR', text: '19.99 EUR' },
      requestId: '0f8fad5b-d9cb-469f-a165-70867728950e',
      count: 1234567890,
      attempts: [1, 2, 3],
      approved: true,
      nothing: null,
    };
    log.info(fields, 'order ord-2024-000123 for 19.99 EUR, request 0f8fad5b-d9cb-469f-a165-70867728950e');
    const [line] = records();
    expect(line).toMatchObject(fields);
    expect(line?.msg).toBe('order ord-2024-000123 for 19.99 EUR, request 0f8fad5b-d9cb-469f-a165-70867728950e');
  });

  it('survives cycles, throwing getters and very deep objects', () => {
    const { log, records } = capture();
    const cycle: Record<string, unknown> = { name: 'a' };
    cycle.self = cycle;
    const hostile = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('4111111111111111'); } });
    let deep: Record<string, unknown> = { pan2: '4111111111111111' };
    for (let i = 0; i < 10; i++) deep = { d: deep };
    log.info({ cycle, hostile, deep }, 'odd shapes');
    const [line] = records();
    expect(line).toMatchObject({ cycle: { name: 'a', self: '[Circular]' }, hostile: '[Unserializable]' });
    expect(JSON.stringify(line)).toContain('[Truncated]');
    expect(findPans(JSON.stringify(line), { thorough: true })).toEqual([]);
  });
});

describe('actionLogger', () => {
  it('maps info, warn and error with and without fields', () => {
    const { log, records } = capture();
    const action = actionLogger(log);
    action.info('started', { provider: 'card' });
    action.warn('slow');
    action.error('failed', { code: 'PROVIDER_TIMEOUT', card: '4111111111111111' });
    expect(records()).toEqual([
      expect.objectContaining({ level: 'info', msg: 'started', provider: 'card' }),
      expect.objectContaining({ level: 'warn', msg: 'slow' }),
      expect.objectContaining({ level: 'error', msg: 'failed', code: 'PROVIDER_TIMEOUT', card: '411111******1111' }),
    ]);
  });
});

describe('levels and PAYGATE_LOG_LEVEL', () => {
  it('PAYGATE_LOG_LEVEL=warn suppresses info', () => {
    vi.stubEnv('PAYGATE_LOG_LEVEL', 'warn');
    const { log, records } = capture();
    log.info('dropped');
    log.warn('kept');
    expect(records().map((r) => r.msg)).toEqual(['kept']);
  });

  it('an explicit level wins over the variable', () => {
    vi.stubEnv('PAYGATE_LOG_LEVEL', 'error');
    const { log, records } = capture({ level: 'debug' });
    log.debug('kept');
    expect(records().map((r) => r.msg)).toEqual(['kept']);
  });

  it('an invalid PAYGATE_LOG_LEVEL is ignored with a warning line, at info', () => {
    vi.stubEnv('PAYGATE_LOG_LEVEL', 'verbose');
    const { log, records } = capture();
    log.debug('dropped');
    log.info('kept');
    expect(records()).toEqual([
      expect.objectContaining({ level: 'warn', PAYGATE_LOG_LEVEL: 'verbose', msg: expect.stringContaining('PAYGATE_LOG_LEVEL') as unknown }),
      expect.objectContaining({ level: 'info', msg: 'kept' }),
    ]);
  });

  it('silent writes nothing', () => {
    const { log, lines } = capture({ level: 'silent' });
    log.fatal('nothing');
    expect(lines).toEqual([]);
  });
});

describe('invalid options', () => {
  const bad: [string, unknown][] = [
    ['an unknown level', { level: 'verbose' }],
    ['an unknown key', { colour: true }],
    ['a path as destination', { destination: '/var/log/paygate.log' }],
    ['a negative file descriptor', { destination: -1 }],
    ['an empty name', { name: '' }],
    ['a base field pino writes itself', { base: { level: 'x' } }],
  ];

  it.each(bad)('%s: LogError LOG_BAD_OPTIONS naming the path', (_what, options) => {
    let thrown: unknown;
    try {
      createLogger(options as LogOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LogError);
    expect(thrown).toBeInstanceOf(PaygateError);
    expect(thrown).toMatchObject({ code: 'LOG_BAD_OPTIONS', message: expect.stringMatching(/^invalid log options: \S/) as unknown });
  });

  it('does not quote the values it refuses', () => {
    expect(() => createLogger({ base: { level: '4111111111111111' } })).toThrow(/^(?!.*4111)/);
  });

  it('child options that would replace the masking are refused', () => {
    const { log } = capture();
    for (const options of [{ serializers: {} }, { formatters: { log: (o: object) => o } }, { redact: [] }]) {
      expect(() => log.child({}, options)).toThrow(expect.objectContaining({ code: 'LOG_BAD_OPTIONS' }) as Error);
    }
    expect(() => log.child({ slot: 1 }, { level: 'warn' })).not.toThrow();
  });

  it('every LOG_ERROR_CODES code is documented in docs/errors.md', () => {
    const catalogue = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    for (const code of LOG_ERROR_CODES) expect(catalogue).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});
