/**
 * The worker-kill step: a worker process is killed (SIGKILL, no chance to clean up) while it
 * holds a payment, and the payment is still answered once and charged once.
 *
 * How that happens, and what the step checks: CardGate is slowed down so the authorize is
 * surely in flight; once CardGate has the call, the step finds the worker that holds it
 * (`inFlight > 0`) and kills it. The
 * broker sees the connection drop and redelivers the unacknowledged request to the other
 * worker, which finds the idempotency key in progress and asks CardGate's `Status` instead of
 * charging again. The SDK gets one approved reply (no late duplicate), CardGate's ledger has one
 * authorization under the key, and the supervisor restarts the killed worker.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { GatewayReply, LateReplyEvent } from '../../client/index.ts';
import { DEMO_DATA, DEMO_SETTINGS } from './options.ts';
import { testCard } from './payments.ts';
import { keyOf, messageOf, outcomeOfError, timed, type StepOutcome, type TourContext, type TourStep, type WorkerExitEvent, type WorkerReadyEvent, type WorkerView } from './tour.ts';

/**
 * What the step saw of the supervisor while it ran, in order. Matched by slot, not pid: the slot
 * is what the supervisor restarts, and the new process has a new pid.
 */
type SupervisorLog = ({ kind: 'exit'; slot: number; signal: string | null } | { kind: 'ready'; slot: number })[];

/** Records the supervisor's exits and readies until `stop()`. */
function watchSupervisor(context: TourContext): { log: SupervisorLog; stop(): void } {
  const log: SupervisorLog = [];
  const onExit = (event: WorkerExitEvent): void => void log.push({ kind: 'exit', slot: event.slot, signal: event.signal });
  const onReady = (event: WorkerReadyEvent): void => void log.push({ kind: 'ready', slot: event.slot });
  context.supervisor.on('worker-exit', onExit);
  context.supervisor.on('worker-ready', onReady);
  return {
    log,
    stop: () => {
      context.supervisor.off('worker-exit', onExit);
      context.supervisor.off('worker-ready', onReady);
    },
  };
}

/** Whether `slot` exited by SIGKILL, and whether a worker was ready in that slot after it. */
function lifeOf(log: SupervisorLog, slot: number): { killed: boolean; restarted: boolean } {
  const killedAt = log.findIndex((event) => event.kind === 'exit' && event.slot === slot && event.signal === 'SIGKILL');
  const restarted = killedAt >= 0 && log.slice(killedAt + 1).some((event) => event.kind === 'ready' && event.slot === slot);
  return { killed: killedAt >= 0, restarted };
}

/**
 * Polls until a ready worker reports a request in flight and CardGate has received the call
 * (`sent()`), or gives up after `withinMs`. Waiting for both makes the kill land while the
 * provider holds the charge: killed earlier, nothing would have been charged yet.
 */
async function workerHoldingRequest(context: TourContext, sent: () => boolean, withinMs: number): Promise<WorkerView | undefined> {
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline && !context.signal.aborted) {
    const busy = context.supervisor.workers().find((worker) => worker.inFlight > 0 && worker.state === 'ready');
    if (busy && sent()) return busy;
    await delay(25);
  }
  return undefined;
}

/** Waits until `done()` or `withinMs` passed. */
async function waitFor(done: () => boolean, withinMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  while (!done() && performance.now() < deadline && !signal.aborted) await delay(50);
  return done();
}

/** The worker-kill step. */
export function workerKillStep(context: TourContext): TourStep {
  return {
    name: 'worker killed mid-request',
    expected: 'approved',
    run: async () => {
      const card = context.sandboxes.card;
      const watch = watchSupervisor(context);
      const late: LateReplyEvent[] = [];
      const onLate = (event: LateReplyEvent): void => void late.push(event);
      context.gateway.on('late-reply', onLate);
      card.knobs.latencyMs = DEMO_SETTINGS.killLatencyMs;
      try {
        return await killDuringRequest(context, watch.log, late);
      } finally {
        card.knobs.latencyMs = 0;
        context.gateway.off('late-reply', onLate);
        watch.stop();
      }
    },
  };
}

async function killDuringRequest(context: TourContext, log: SupervisorLog, late: LateReplyEvent[]): Promise<StepOutcome> {
  const key = keyOf(context, 'kill');
  const callsBefore = { ...context.sandboxes.card.calls };
  const payload = { amount: { value: 3_300, currency: DEMO_DATA.currency }, card: testCard(DEMO_DATA.approvedCard) };
  const pending = timed(() => context.gateway.request('card', 'authorize', payload, { idempotencyKey: key, timeoutMs: DEMO_SETTINGS.requestTimeoutMs }));
  const sent = (): boolean => context.sandboxes.card.calls.Authorize > callsBefore.Authorize;
  const victim = await workerHoldingRequest(context, sent, DEMO_SETTINGS.inFlightWaitMs);
  if (victim === undefined) {
    const answer = await pending;
    return { outcome: answer.ok ? answer.value.status : outcomeOfError(answer.error), ok: false, latencyMs: answer.ms, detail: 'no worker reported the request in flight while CardGate held it, so none was killed' };
  }
  process.kill(victim.pid, 'SIGKILL');
  const answer = await pending;
  if (!answer.ok) return { outcome: outcomeOfError(answer.error), latencyMs: answer.ms, detail: `after killing pid ${victim.pid}: ${messageOf(answer.error)}` };
  const reply = answer.value;
  // A duplicate would come just after the answer; give it a moment to show up.
  await delay(DEMO_SETTINGS.lateReplyWindowMs);
  const restarted = await waitFor(() => lifeOf(log, victim.slot).restarted, DEMO_SETTINGS.restartWaitMs, context.signal);
  const charges = context.sandboxes.card.ledger.byMerchantRef(key).filter((entry) => entry.type === 'authorize').length;
  const checks = {
    charges,
    authorizeCalls: context.sandboxes.card.calls.Authorize - callsBefore.Authorize,
    statusCalls: context.sandboxes.card.calls.Status - callsBefore.Status,
    lateReplies: late.filter((event) => event.correlationId === reply.requestId).length,
    killedSeen: lifeOf(log, victim.slot).killed,
    restartedAs: restarted ? context.supervisor.workers().find((worker) => worker.slot === victim.slot && worker.pid !== victim.pid)?.pid ?? -1 : undefined,
  };
  return killOutcome(reply, answer.ms, victim, checks);
}

interface KillChecks {
  readonly charges: number;
  readonly authorizeCalls: number;
  readonly statusCalls: number;
  readonly lateReplies: number;
  readonly killedSeen: boolean;
  readonly restartedAs: number | undefined;
}

function killOutcome(reply: GatewayReply<unknown>, ms: number, victim: WorkerView, checks: KillChecks): StepOutcome {
  const problems = [
    ...(checks.charges === 1 ? [] : [`CardGate's ledger has ${checks.charges} authorizations for the key, not 1`]),
    ...(checks.authorizeCalls === 1 ? [] : [`CardGate received ${checks.authorizeCalls} Authorize calls for it, not 1`]),
    ...(checks.lateReplies === 0 ? [] : [`${checks.lateReplies} late duplicate repl(ies) arrived`]),
    ...(checks.killedSeen ? [] : [`the supervisor reported no SIGKILL exit of slot ${victim.slot} (pid ${victim.pid})`]),
    ...(checks.restartedAs !== undefined ? [] : [`the supervisor did not restart slot ${victim.slot} within ${DEMO_SETTINGS.restartWaitMs / 1000} s`]),
  ];
  const story =
    `killed worker pid ${victim.pid} (slot ${victim.slot}) with the payment in flight; the broker redelivered it and the other worker ` +
    `${checks.statusCalls > 0 ? `asked CardGate's Status (${checks.statusCalls}×) instead of charging again` : 'answered it'}: ` +
    `1 reply, ${checks.charges} charge (${checks.authorizeCalls} Authorize call); ` +
    `the supervisor restarted slot ${victim.slot}${checks.restartedAs === undefined || checks.restartedAs < 0 ? '' : ` as pid ${checks.restartedAs}`}`;
  const why = reply.status === 'approved' ? '' : ` (${reply.error?.code ?? 'no reason'})`;
  return {
    outcome: reply.status,
    ok: reply.status === 'approved' && problems.length === 0,
    latencyMs: ms,
    detail: problems.length === 0 ? story : `${problems.join('; ')}${why}`,
  };
}
