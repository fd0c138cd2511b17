/**
 * The verdict, from the sandboxes' ledgers (the truth about money) and what the shop learned.
 * Each request is counted once, in the first of these that applies (docs/benchmarks.md, "Chaos"):
 *
 * - lost: money moved for it (the ledger has its key) but the shop does not know: no final
 *   answer after every attempt, or a final answer other than approved;
 * - phantom: the shop was told approved but the ledger has no movement under its key;
 * - unknown: no final answer after every attempt, and no money moved (nothing to undo);
 * - reconciled: a final answer, learned only by a retry with the same key or through `status`;
 * - answered: a final answer to the first attempt.
 *
 * Independently, charged twice: a key with more than one movement in the ledger.
 */
import { msgSubIdFor } from '../../providers/paypal/msgsubid.ts';
import { movesMoney } from './flows.ts';
import type { Learned, Step } from './shop.ts';
import type { ChaosSandboxes } from './world.ts';

/** A request the run sent, and what the shop learned of it. */
export interface Sent {
  readonly step: Step;
  readonly learned: Learned;
}

export type Verdict = 'answered' | 'reconciled' | 'unknown' | 'lost' | 'phantom';

/** The counts, and examples of what went wrong. */
export interface Tally {
  readonly counts: Record<Verdict, number>;
  readonly chargedTwice: number;
  /** Final answers other than approved, by status. */
  readonly notApproved: Record<string, number>;
  /** How reconciled requests were settled. */
  readonly reconciledVia: Record<'retry' | 'status', number>;
  /** Ledger movements under no key this run sent. */
  readonly orphans: number;
  /** Up to 10 lines per problem kind, for the report. */
  readonly examples: string[];
}

/** Movements per key in each ledger (a declined card authorization moved nothing). */
function movementsByKey(sandboxes: ChaosSandboxes): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (provider: string, reference: string | null): void => {
    if (reference === null) return;
    const id = `${provider}:${reference}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  };
  for (const entry of sandboxes.card.ledger.entries) if (entry.state !== 'declined') add('card', entry.merchantRef);
  for (const entry of sandboxes.paypal.ledger) add('paypal', entry.reference);
  for (const entry of sandboxes.giftcard.ledger) add('giftcard', entry.reference);
  return counts;
}

/** The ledger reference a request's key travels as. */
const referenceOf = (step: Step): string => `${step.provider}:${step.provider === 'paypal' ? msgSubIdFor(step.key) : step.key}`;

function verdictOf(sent: Sent, moved: number): Verdict {
  const { learned } = sent;
  const money = movesMoney(sent.step);
  if (learned.kind === 'unknown') return money && moved > 0 ? 'lost' : 'unknown';
  if (money && learned.status !== 'approved' && moved > 0) return 'lost';
  if (money && learned.status === 'approved' && moved === 0) return 'phantom';
  return learned.via === 'reply' ? 'answered' : 'reconciled';
}

/** Counts `sent` against the ledgers. */
export function tally(sent: readonly Sent[], sandboxes: ChaosSandboxes): Tally {
  const movements = movementsByKey(sandboxes);
  const counts: Record<Verdict, number> = { answered: 0, reconciled: 0, unknown: 0, lost: 0, phantom: 0 };
  const notApproved: Record<string, number> = {};
  const reconciledVia = { retry: 0, status: 0 };
  const examples: string[] = [];
  let chargedTwice = 0;
  const ours = new Set<string>();
  for (const request of sent) {
    const reference = referenceOf(request.step);
    ours.add(reference);
    const moved = movements.get(reference) ?? 0;
    const verdict = verdictOf(request, moved);
    counts[verdict] += 1;
    const { learned, step } = request;
    if (learned.kind === 'final' && learned.status !== 'approved') notApproved[learned.status] = (notApproved[learned.status] ?? 0) + 1;
    if (verdict === 'reconciled' && learned.kind === 'final' && learned.via !== 'reply') reconciledVia[learned.via] += 1;
    const what = `${step.provider} ${step.type} ${step.key}: ${learned.kind === 'final' ? `${learned.status} after ${learned.attempts} attempt(s) via ${learned.via}` : `unknown after ${learned.attempts} attempts (last: ${learned.last})`}, ${moved} movement(s)`;
    if (moved > 1) {
      chargedTwice += 1;
      if (examples.length < 30) examples.push(`charged twice: ${what}`);
    }
    if ((verdict === 'lost' || verdict === 'phantom') && examples.length < 30) examples.push(`${verdict}: ${what}`);
    else if (learned.kind === 'final' && learned.status !== 'approved' && (notApproved[learned.status] ?? 0) <= 3) examples.push(`not approved: ${what}`);
    else if (verdict === 'unknown' && counts.unknown <= 3) examples.push(`unknown: ${what}`);
  }
  let orphans = 0;
  for (const [reference, count] of movements) if (!ours.has(reference)) orphans += count;
  return { counts, chargedTwice, notApproved, reconciledVia, orphans, examples };
}
