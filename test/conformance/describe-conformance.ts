/**
 * The shared conformance suite: `describeConformance(spec)` registers, for one
 * plugin, checks that run through the full request path against its sandbox:
 *
 * - every capability has a case (and no case names an action the plugin lacks);
 * - each approving request resolves `approved` with a result (the SDK checked it against the
 *   action's result schema); each declining one resolves `declined` with its standard code and
 *   the code's retry advice, never an exception;
 * - a retry with the same idempotency key returns the same outcome without reaching the sandbox;
 * - `ping` answers;
 * - with the sandbox down, calls answer `PROVIDER_UNAVAILABLE` (retryable), and approve again
 *   after it recovers (when the spec gives `knobs`);
 * - no card number, CVV/PIN or credential appears in any transcript (after the plugin's
 *   `scrub`), worker log line, reply or error; `scrub` cleans the raw bodies the sandbox received
 *   and synthetic form, XML and JSON transcripts of every secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDARD_DECLINE_CODES, STANDARD_ERROR_CODES, type ProviderDefinition } from '../../src/providers/index.ts';
import { parseTestBrokers, type BrokerDescriptor } from '../helpers/brokers.ts';
import { checkOutage } from './outage.ts';
import { describeSent, newKey, type ConformanceRun as Run } from './run.ts';
import { ConformanceRun } from './run.ts';
import { findLeaks } from './secrets.ts';
import type { ActionCases, ConformanceSpec, DeclineCase } from './spec.ts';
import { syntheticTranscripts } from './synthetic.ts';

/** What the approval check remembers for the idempotency check. */
interface Approval {
  readonly payload: unknown;
  readonly key: string;
  readonly result: unknown;
}

type LooseCases = Readonly<Record<string, ActionCases<ProviderDefinition, never> | undefined>>;

/**
 * Registers the conformance suite for `spec.provider` (call it at the top level of a test file),
 * once per broker of the matrix (`PAYGATE_TEST_BROKERS`: the embedded broker by default; CI adds
 * RabbitMQ and ActiveMQ).
 */
export function describeConformance<P extends ProviderDefinition, S>(spec: ConformanceSpec<P, S>): void {
  for (const broker of parseTestBrokers(process.env.PAYGATE_TEST_BROKERS)) describeOnBroker(spec, broker);
}

function describeOnBroker<P extends ProviderDefinition, S>(spec: ConformanceSpec<P, S>, broker: BrokerDescriptor): void {
  describe(`conformance: provider ${spec.provider.name} on ${broker.name}`, () => {
    const run = new ConformanceRun(spec, broker);
    const cases = spec.cases as unknown as LooseCases;
    const approvals = new Map<string, Approval>();
    beforeAll(() => run.start(), 120_000);
    afterAll(() => run.stop(), 60_000);

    it('has a case for every capability, and none for an action it lacks', () => {
      expect(Object.keys(cases).sort()).toEqual([...spec.provider.capabilities].sort());
    });
    for (const type of spec.provider.capabilities) {
      registerActionChecks(run, type, cases[type], approvals);
    }
    it('answers ping through the full path', async () => {
      const reply = await run.ping();
      expect(reply.status).toBe('approved');
      expect(reply.result).toMatchObject({ provider: spec.provider.name, version: spec.provider.version });
    });
    const knobs = spec.sandbox.knobs;
    if (knobs === undefined) it.todo('sandbox down → PROVIDER_UNAVAILABLE, then approves after recovery (the spec gives no knobs)');
    else it('answers PROVIDER_UNAVAILABLE (retryable) while the sandbox is down, and approves again after it recovers', () => checkOutage(run, knobs), 30_000);
    registerLeakChecks(run);
  });
}

/** Approve, idempotent retry and declines of one action. */
function registerActionChecks<P extends ProviderDefinition, S>(
  run: Run<P, S>,
  type: string,
  actionCases: ActionCases<ProviderDefinition, never> | undefined,
  approvals: Map<string, Approval>,
): void {
  it(`${type}: an approving request resolves approved with a typed result`, async () => {
    expect(actionCases, `no cases for ${type}`).toBeDefined();
    const payload = await run.payloadOf(actionCases?.approve);
    const key = newKey(type);
    const sent = await run.send(type, payload, key);
    expect(sent.reply?.status, describeSent(sent)).toBe('approved');
    const result = sent.reply?.result;
    expect(typeof result === 'object' && result !== null && !Array.isArray(result)).toBe(true);
    if (actionCases?.expect !== undefined) expect(result).toMatchObject(actionCases.expect as object);
    approvals.set(type, { payload, key, result });
  });

  it(`${type}: a retry with the same idempotency key returns the same result and does not reach the provider again`, async () => {
    const first = approvals.get(type);
    expect(first, `the approving request of ${type} must pass first`).toBeDefined();
    if (first === undefined) return;
    const requests = run.spec.sandbox.knobs?.requests;
    const before = requests?.(run.sandbox);
    const again = await run.send(type, first.payload, first.key);
    expect(again.reply?.status, describeSent(again)).toBe('approved');
    expect(again.reply?.result).toEqual(first.result);
    expect(again.reply?.idempotencyKey).toBe(first.key);
    if (requests !== undefined) expect(requests(run.sandbox)).toBe(before);
  });

  for (const [index, decline] of (actionCases?.declines ?? []).entries()) {
    it(`${type}: decline ${index + 1} resolves declined with ${decline.code}, never an exception`, () => checkDecline(run, type, decline));
  }
}

async function checkDecline<P extends ProviderDefinition, S>(run: Run<P, S>, type: string, decline: DeclineCase<ProviderDefinition, never>): Promise<void> {
  const sent = await run.send(type, await run.payloadOf(decline.payload));
  expect(sent.error, describeSent(sent)).toBeUndefined();
  expect(sent.reply?.status, describeSent(sent)).toBe('declined');
  const error = sent.reply?.error;
  expect(STANDARD_ERROR_CODES).toContain(error?.code);
  expect(error?.code).toBe(decline.code);
  expect(error?.retryable).toBe(decline.retryable ?? STANDARD_DECLINE_CODES[decline.code].retryable);
  expect(typeof error?.message === 'string' && error.message.length > 0).toBe(true);
}

/** The leak scan over everything captured, and `scrub`'s totality. Registered last: it reads what the other checks produced. */
function registerLeakChecks<P extends ProviderDefinition, S>(run: Run<P, S>): void {
  it('leaves no card number, CVV, PIN or credential in transcripts, log lines, replies or errors', () => {
    const requests = run.capture.transcript.filter((entry) => entry.direction === 'request');
    expect(requests.length, 'the transcript hook saw no provider request').toBeGreaterThan(0);
    expect(run.secrets.pans.size + run.secrets.cvvs.size + run.secrets.credentials.size, 'the run sent no secret to look for').toBeGreaterThan(0);
    expect(findLeaks(run.capture.texts, run.secrets)).toEqual([]);
  });

  const rawBodies = run.spec.sandbox.knobs?.rawBodies;
  if (rawBodies !== undefined) {
    it("the plugin's scrub cleans every raw request body the sandbox received", () => {
      const bodies = rawBodies(run.sandbox);
      expect(bodies.length).toBeGreaterThan(0);
      const scrubbed = bodies.map((body, i) => ({ where: `raw request body ${i + 1}, scrubbed`, text: run.spec.provider.scrub(body) }));
      expect(findLeaks(scrubbed, run.secrets)).toEqual([]);
    });
  }

  it("the plugin's scrub is total: form, XML and JSON renderings of every secret come out masked", () => {
    const transcripts = syntheticTranscripts(run.secrets, run.spec.transcriptNames);
    expect(transcripts.length).toBeGreaterThan(0);
    const scrubbed = transcripts.map(({ label, text }) => ({ where: `synthetic transcript: ${label}`, text: run.spec.provider.scrub(text) }));
    expect(findLeaks(scrubbed, run.secrets)).toEqual([]);
  });
}
