import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import {
  CardDataInTextError, CLIENT_ERROR_CODES, GatewayError, NotSentError, RemoteError, ReplyResultError, TimeoutError, ValidationError,
} from '../../src/client/errors.ts';
import { PaygateError } from '../../src/errors.ts';
import { findPans } from '../helpers/pan-scan.ts';

const PAN = '4111111111111111';

/** Everything an error shows: message, own fields, stack's first line. */
function shown(error: Error): string {
  return [error.message, String(error), JSON.stringify({ ...error }), error.stack?.split('\n')[0] ?? ''].join('\n');
}

const samples: [string, () => GatewayError, ClientCode][] = [
  ['ValidationError', () => new ValidationError(`payload ${PAN}`, [{ path: `card.${PAN}`, message: `bad ${PAN}` }]), 'VALIDATION_FAILED'],
  ['NotSentError', () => new NotSentError('unreachable', `broker down while sending ${PAN}`), 'NOT_SENT'],
  ['TimeoutError', () => new TimeoutError({ reason: 'timeout', requestId: `r-${PAN}`, idempotencyKey: `k-${PAN}`, timeoutMs: 5 }), 'TIMEOUT'],
  ['RemoteError', () => new RemoteError({ remoteCode: 'INVALID_REQUEST', message: `card ${PAN} invalid`, retryable: false, requestId: PAN }), 'REMOTE_ERROR'],
  ['CardDataInTextError', () => new CardDataInTextError(`payload ${PAN}`, `order_id.${PAN}`), 'CARD_DATA_IN_TEXT'],
  [
    'ReplyResultError',
    () => new ReplyResultError({ replyStatus: 'approved', requestId: PAN, idempotencyKey: PAN, issues: [{ path: `result.${PAN}`, message: PAN }] }),
    'REPLY_RESULT_INVALID',
  ],
];
type ClientCode = (typeof CLIENT_ERROR_CODES)[number];

describe('client errors', () => {
  it('lists every code once', () => {
    expect(new Set(CLIENT_ERROR_CODES).size).toBe(CLIENT_ERROR_CODES.length);
    expect([...CLIENT_ERROR_CODES].sort()).toEqual(samples.map(([, , code]) => code).sort());
  });

  it.each(samples)('%s: code, name and instanceof chain', (name, make, code) => {
    const error = make();
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toBeInstanceOf(PaygateError);
    expect(error).toBeInstanceOf(Error);
    expect(CLIENT_ERROR_CODES).toContain(error.code);
  });

  it.each(samples)('%s: no card number in what it shows', (_name, make) => {
    const error = make();
    expect(findPans(shown(error))).toEqual([]);
    expect(shown(error)).not.toContain(PAN);
  });

  it('ValidationError is not sent and carries paths and problems, never values', () => {
    const schema = z.strictObject({ card: z.strictObject({ number: z.string().length(4) }), amount: z.number() });
    const parsed = schema.safeParse({ card: { number: PAN }, amount: PAN });
    if (parsed.success) throw new Error('expected a failure');
    const error = ValidationError.fromZod('request payload', parsed.error);
    expect(error.sent).toBe(false);
    expect(error.issues.map((i) => i.path).sort()).toEqual(['amount', 'card.number']);
    expect(error.message).toContain('card.number');
    expect(shown(error)).not.toContain(PAN);
    expect(error.cause).toBeUndefined();
    expect(Object.isFrozen(error.issues)).toBe(true);
  });

  it('ValidationError names the root as (root)', () => {
    const parsed = z.string().safeParse(1);
    if (parsed.success) throw new Error('expected a failure');
    expect(ValidationError.fromZod('x', parsed.error).issues[0]?.path).toBe('(root)');
  });

  it('NotSentError says why and is never sent', () => {
    const error = new NotSentError('closed', 'the gateway is closed');
    expect(error.reason).toBe('closed');
    expect(error.sent).toBe(false);
  });

  it('TimeoutError: outcome unknown, with the request id and the key to retry with', () => {
    const error = new TimeoutError({ reason: 'timeout', requestId: 'req-1', idempotencyKey: 'ord-1-auth', timeoutMs: 250 });
    expect(error.outcome).toBe('unknown');
    expect(error.reason).toBe('timeout');
    expect(error.requestId).toBe('req-1');
    expect(error.idempotencyKey).toBe('ord-1-auth');
    expect(error.message).toContain('250 ms');
    expect(error.message).toContain('ord-1-auth');
    expect(new TimeoutError({ reason: 'aborted', requestId: 'a', idempotencyKey: 'b' }).message).toContain('aborted');
    expect(new TimeoutError({ reason: 'closed', requestId: 'a', idempotencyKey: 'b' }).message).toContain('closed');
  });

  it('TimeoutError masks a card number used as an idempotency key', () => {
    const error = new TimeoutError({ reason: 'timeout', requestId: 'r', idempotencyKey: PAN });
    expect(error.idempotencyKey).not.toContain(PAN);
  });

  it("RemoteError carries the reply's error code and retry advice", () => {
    const error = new RemoteError({ remoteCode: 'PROVIDER_UNAVAILABLE', message: 'try later', retryable: true, requestId: 'r1' });
    expect(error.remoteCode).toBe('PROVIDER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.requestId).toBe('r1');
    expect(error.message).toContain('PROVIDER_UNAVAILABLE');
  });

  it('CardDataInTextError is a ValidationError that was never sent, naming the field', () => {
    const error = new CardDataInTextError('request document', 'idempotency_key');
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('CARD_DATA_IN_TEXT');
    expect(error.sent).toBe(false);
    expect(error.field).toBe('idempotency_key');
    expect(error.issues).toEqual([{ path: 'idempotency_key', message: expect.stringMatching(/^holds a card number/) }]);
    expect(error.message).toBe(
      "invalid request document: idempotency_key: holds a card number: card numbers belong only in the payload's card fields",
    );
  });

  it('TimeoutError counts the replies dropped while it waited', () => {
    const error = new TimeoutError({ reason: 'timeout', requestId: 'r', idempotencyKey: 'k', timeoutMs: 5, rejectedReplies: 2 });
    expect(error.rejectedReplies).toBe(2);
    expect(error.message).toContain('2 replies failed verification and were dropped');
    expect(new TimeoutError({ reason: 'timeout', requestId: 'r', idempotencyKey: 'k' }).rejectedReplies).toBe(0);
  });

  it("ReplyResultError carries the verified status and the result's paths", () => {
    const error = new ReplyResultError({
      replyStatus: 'approved',
      requestId: 'r',
      idempotencyKey: 'k',
      issues: [{ path: 'result.authorization_id', message: 'authorization id looks like auth_1' }],
    });
    expect(error.replyStatus).toBe('approved');
    expect(error.idempotencyKey).toBe('k');
    expect(error.message).toBe(
      "request r was answered approved, but the result does not fit this SDK's plugin: result.authorization_id: authorization id looks like auth_1",
    );
  });
});
