import { describe, expect, it } from 'vitest';
import { NotSentError, TimeoutError } from '../../src/client/errors.ts';
import { sendFailure } from '../../src/client/send-failure.ts';
import { StompError, type StompErrorCode } from '../../src/stomp/index.ts';

const ids = { requestId: '3f2b8c1e-6d4a-4e7b-9c0d-1a2b3c4d5e6f', idempotencyKey: 'ord-1-auth' };
const failure = (code: StompErrorCode) => sendFailure(new StompError(code, 'test'), ids);

describe('what a failed SEND means for the money', () => {
  it.each(['STOMP_CANNOT_CONNECT', 'STOMP_QUEUE_FULL', 'STOMP_BAD_OPTIONS'] as const)('%s: never left, NotSentError unreachable', (code) => {
    const error = failure(code);
    expect(error).toBeInstanceOf(NotSentError);
    expect(error).toMatchObject({ reason: 'unreachable', sent: false });
    expect(error.cause).toBeInstanceOf(StompError);
  });

  it('STOMP_CLOSED_BY_US: still queued when the gateway closed, NotSentError closed', () => {
    expect(failure('STOMP_CLOSED_BY_US')).toMatchObject({ code: 'NOT_SENT', reason: 'closed' });
  });

  it.each(['STOMP_TIMEOUT', 'STOMP_OPERATION_FAILED'] as const)('%s: written but not confirmed, TimeoutError unconfirmed', (code) => {
    const error = failure(code);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ reason: 'unconfirmed', outcome: 'unknown', ...ids });
  });

  it.each(['STOMP_IO', 'STOMP_CLOSED_BY_PEER', 'STOMP_READ_TIMEOUT', 'STOMP_UNEXPECTED_DATA'] as const)(
    '%s: the connection broke, TimeoutError connection-lost',
    (code) => {
      expect(failure(code)).toMatchObject({ code: 'TIMEOUT', reason: 'connection-lost', outcome: 'unknown' });
    },
  );

  it('anything unexpected counts as unconfirmed (outcome unknown), never as not sent', () => {
    expect(sendFailure(new Error('boom'), ids)).toMatchObject({ code: 'TIMEOUT', reason: 'unconfirmed' });
  });
});
