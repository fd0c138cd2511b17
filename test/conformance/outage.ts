/**
 * The outage check: with the sandbox failing every call, requests are answered
 * `PROVIDER_UNAVAILABLE` (a retryable `RemoteError`: nothing was charged; the breaker opens and
 * answers at once); after the sandbox recovers, the same request approves again once the
 * breaker lets a trial call through.
 */
import { expect } from 'vitest';
import { RemoteError } from '../../src/client/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';
import { describeSent, newKey, type ConformanceRun, type Sent } from './run.ts';
import type { SandboxKnobs } from './spec.ts';

/** Calls made while the sandbox is down: enough to open a breaker with a small volume threshold, and some after. */
const CALLS_WHILE_DOWN = 4;
/** How long the provider has to approve again after recovery. */
const RECOVERY_DEADLINE_MS = 15_000;

function expectUnavailable(sent: Sent): void {
  expect(sent.error, describeSent(sent)).toBeInstanceOf(RemoteError);
  const error = sent.error as RemoteError;
  expect(error.remoteCode, describeSent(sent)).toBe('PROVIDER_UNAVAILABLE');
  expect(error.retryable).toBe(true);
}

/** Runs the outage scenario on the first action (its approving payload is built before the outage). */
export async function checkOutage<P extends ProviderDefinition, S>(run: ConformanceRun<P, S>, knobs: SandboxKnobs<S>): Promise<void> {
  const type = run.spec.provider.capabilities[0] as string;
  const cases = (run.spec.cases as Record<string, { approve: unknown }>)[type];
  const payload = await run.payloadOf(cases?.approve);
  await knobs.down(run.sandbox);
  try {
    for (let i = 0; i < CALLS_WHILE_DOWN; i++) expectUnavailable(await run.send(type, payload, newKey(`down-${type}`)));
  } finally {
    await knobs.up(run.sandbox);
  }
  const deadline = Date.now() + RECOVERY_DEADLINE_MS;
  let last: Sent;
  do {
    last = await run.send(type, payload, newKey(`up-${type}`));
    if (last.reply?.status === 'approved') return;
    // Until the breaker's trial call: answered at once, unavailable, nothing charged.
    expectUnavailable(last);
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (Date.now() < deadline);
  expect.fail(`${type} did not approve again within ${RECOVERY_DEADLINE_MS} ms of recovery: ${describeSent(last)}`);
}
