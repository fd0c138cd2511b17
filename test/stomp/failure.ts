import { isStompError } from '../../src/stomp/index.ts';
import type { StompError } from '../../src/stomp/index.ts';

/** The StompError a promise rejects with; anything else (a resolve, another error) fails the test. */
export async function failure(promise: Promise<unknown>): Promise<StompError> {
  const err = await promise.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  if (!isStompError(err)) throw err;
  return err;
}
