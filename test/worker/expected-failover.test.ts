/**
 * Which worker errors are expected consequences of a failover (logged at info/warn) and which
 * are real (logged at error): the table the worker's log levels follow.
 */
import { describe, expect, it } from 'vitest';
import { expectedFailover } from '../../src/worker/worker.ts';

const event = (code: string, stage: string) => ({ code, stage, message: 'm', requeued: true });

describe('expectedFailover', () => {
  it('a reply or dead letter whose delivering broker is gone is a warn', () => {
    expect(expectedFailover(event('STOMP_CANNOT_CONNECT', 'reply'))?.level).toBe('warn');
    expect(expectedFailover(event('STOMP_CANNOT_CONNECT', 'dead-letter'))?.level).toBe('warn');
  });

  it('a lost connection is a warn and a stale acknowledgement an info', () => {
    expect(expectedFailover(event('STOMP_IO', 'connection'))?.level).toBe('warn');
    expect(expectedFailover(event('STOMP_CLOSED_BY_PEER', 'ack'))?.level).toBe('warn');
    expect(expectedFailover(event('STOMP_STALE_MESSAGE', 'ack'))?.level).toBe('info');
  });

  it('giving up on every broker, and anything else, stays an error', () => {
    expect(expectedFailover(event('STOMP_CANNOT_CONNECT', 'connection'))).toBeUndefined();
    expect(expectedFailover(event('STORE_FAILED', 'store'))).toBeUndefined();
  });
});
