/**
 * The outage steps: CardGate goes down, payments fail with `PROVIDER_UNAVAILABLE` (retryable,
 * nothing charged), the workers' breakers open and refuse at once without calling CardGate —
 * even once it is back up — and after the breakers' reset timeout a trial call goes through and
 * payments are approved again.
 *
 * There are two workers, each with its own breaker, and the broker hands requests to them in
 * turn: the step sends requests one at a time until several in a row were refused by a breaker,
 * which only happens when both are open.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { formatMoney } from '../../wire/index.ts';
import { DEMO_DATA, DEMO_SETTINGS } from './options.ts';
import { waitForBreakers } from './metrics.ts';
import { formatMs } from './report.ts';
import { testCard } from './payments.ts';
import { keyOf, messageOf, outcomeOfError, timed, type StepOutcome, type TourContext, type TourStep } from './tour.ts';

/** The message of a refusal by an open (or busy half-open) breaker (src/providers/breaker.ts). */
const BREAKER_REFUSAL = /breaker (?:open|half-open)/;

/** One authorize during the outage: its outcome and whether a breaker refused it. */
interface Attempt {
  readonly outcome: string;
  readonly byBreaker: boolean;
  readonly message: string;
}

async function attempt(context: TourContext, key: string): Promise<Attempt> {
  const payload = { amount: { value: 500, currency: DEMO_DATA.currency }, card: testCard(DEMO_DATA.approvedCard) };
  const answer = await timed(() => context.gateway.request('card', 'authorize', payload, { idempotencyKey: key }));
  if (answer.ok) return { outcome: answer.value.status, byBreaker: false, message: answer.value.error?.code ?? '' };
  const message = messageOf(answer.error);
  return { outcome: outcomeOfError(answer.error), byBreaker: BREAKER_REFUSAL.test(message), message };
}

/** CardGate's requests received so far, all operations. */
function callsOf(context: TourContext): number {
  return Object.values(context.sandboxes.card.calls).reduce((sum, n) => sum + n, 0);
}

/** The two outage steps; the second waits for the breakers the first opened. */
export function outageSteps(context: TourContext): TourStep[] {
  const card = context.sandboxes.card;
  let openedBy = 0;
  return [
    {
      name: 'card outage: breaker opens',
      expected: 'PROVIDER_UNAVAILABLE',
      run: async () => {
        const ledgerBefore = card.ledger.size;
        const attempts: Attempt[] = [];
        let inARow = 0;
        await card.down();
        try {
          while (inARow < DEMO_SETTINGS.consecutiveRefusals && attempts.length < DEMO_SETTINGS.maxOutageRequests && !context.signal.aborted) {
            const next = await attempt(context, keyOf(context, `outage-${attempts.length + 1}`));
            attempts.push(next);
            inARow = next.byBreaker ? inARow + 1 : 0;
          }
          // Every breaker opened before this moment: the recovery step waits from here.
          openedBy = performance.now();
        } finally {
          await card.up();
        }
        // CardGate is back, but the open breakers still refuse without calling it.
        const callsBefore = callsOf(context);
        const whileUp = await attempt(context, keyOf(context, 'outage-while-up'));
        const newCalls = callsOf(context) - callsBefore;
        // The supervisor's own numbers: how many workers report the card breaker open.
        const open = context.metricsUrl === undefined ? undefined : await waitForBreakers(context.metricsUrl, 'card', 'open', DEMO_SETTINGS.workers, DEMO_SETTINGS.metricsWaitMs);
        return outageOutcome({ attempts, whileUp, newCalls, newCharges: card.ledger.size - ledgerBefore, open });
      },
    },
    {
      name: 'card recovery',
      expected: 'approved',
      run: async () => {
        if (openedBy === 0) return { outcome: 'skipped', ok: false, latencyMs: 0, detail: 'the outage step did not run' };
        const wait = Math.max(0, openedBy + DEMO_SETTINGS.breakerResetMs + 250 - performance.now());
        await delay(wait, undefined, { signal: context.signal }).catch(() => undefined);
        const amount = { value: 700, currency: DEMO_DATA.currency };
        const answer = await timed(() =>
          context.gateway.request('card', 'authorize', { amount, card: testCard(DEMO_DATA.approvedCard) }, { idempotencyKey: keyOf(context, 'recovery') }),
        );
        if (!answer.ok) return { outcome: outcomeOfError(answer.error), latencyMs: answer.ms, detail: messageOf(answer.error) };
        const detail = `waited ${formatMs(wait)} for the breakers' reset timeout (${formatMs(DEMO_SETTINGS.breakerResetMs)}); the trial call reached CardGate: ${formatMoney(amount)} ${answer.value.status}`;
        return { outcome: answer.value.status, latencyMs: answer.ms, detail };
      },
    },
  ];
}

/** What the outage step saw. */
interface OutageSeen {
  readonly attempts: readonly Attempt[];
  /** The request sent once CardGate was back, before the reset timeout. */
  readonly whileUp: Attempt;
  /** CardGate calls and ledger entries made meanwhile. */
  readonly newCalls: number;
  readonly newCharges: number;
  /** Workers whose card breaker /metrics showed open (undefined: no status endpoint, -1: unreadable). */
  readonly open: number | undefined;
}

/** The outage step's verdict from its attempts, the refusal after CardGate came back and /metrics. */
function outageOutcome(seen: OutageSeen): StepOutcome {
  const { attempts, whileUp, newCalls, newCharges, open } = seen;
  const refused = attempts.filter((a) => a.byBreaker).length;
  const others = attempts.filter((a) => a.outcome !== 'PROVIDER_UNAVAILABLE');
  const inARow = DEMO_SETTINGS.consecutiveRefusals;
  const opened = attempts.length >= inARow && attempts.slice(-inARow).every((a) => a.byBreaker);
  const workers = DEMO_SETTINGS.workers;
  const problems = [
    ...(others.length > 0 ? [`${others.length} answer(s) were not PROVIDER_UNAVAILABLE (first: ${others[0]?.outcome}: ${others[0]?.message})`] : []),
    ...(opened ? [] : [`the breakers did not refuse ${inARow} requests in a row within ${attempts.length} requests`]),
    ...(whileUp.byBreaker ? [] : [`once CardGate was back, the breaker did not refuse the next request (${whileUp.outcome})`]),
    ...(newCalls === 0 ? [] : [`CardGate received ${newCalls} call(s) while the breaker should have refused`]),
    ...(newCharges === 0 ? [] : [`CardGate's ledger grew by ${newCharges} during the outage`]),
    ...(open === undefined || open >= workers ? [] : [`/metrics showed the card breaker open in ${Math.max(open, 0)} of ${workers} workers`]),
  ];
  const confirmed = open === undefined ? '' : `; /metrics: card breaker open in ${open} of ${workers} workers`;
  const story =
    `CardGate down: ${attempts.length} authorizations answered PROVIDER_UNAVAILABLE (${attempts.length - refused} connection refused, ` +
    `then refused by the open breakers without calling CardGate)${confirmed}; back up, the next one was still refused by a breaker ` +
    `and CardGate saw ${newCalls} call(s); nothing charged`;
  return {
    outcome: whileUp.outcome,
    ok: problems.length === 0 && whileUp.outcome === 'PROVIDER_UNAVAILABLE',
    detail: problems.length === 0 ? story : problems.join('; '),
  };
}
