/**
 * What the demo's feed server holds after the tour: one audit record per request the gateway
 * finished (answered or dead-lettered), and the payment events. The workers send each event
 * before they acknowledge the request, and the feed stores it a moment later, so the count waits
 * (on the consumer's own batches, for a bounded time) until it matches the gateway's metrics.
 */
import { once } from 'node:events';
import { AUDIT_FEED, PAYMENTS_FEED } from '../../audit/events.ts';
import type { FeedStore } from '../../feed/index.ts';
import type { DemoFeed } from './environment.ts';
import { samplesOf } from './metrics.ts';

/** The feed's figures for the report. */
export interface FeedSummary {
  readonly url: string;
  /** Audit records stored (checkpoints not counted). */
  readonly auditRecords: number;
  /** Payment events stored. */
  readonly payments: number;
  /** Requests the gateway finished, from its metrics (answered + dead-lettered); undefined when unreadable. */
  readonly requests: number | undefined;
}

/** Entries of `feed` that are records, not checkpoints (0 when the feed does not exist yet). */
export function recordsIn(store: FeedStore, feed: string): number {
  if (!store.feeds().some((info) => info.name === feed)) return 0;
  let count = 0;
  let startAfter: string | undefined;
  do {
    const page = store.page(feed, { pageSize: 1_000, ...(startAfter === undefined ? {} : { startAfter }) });
    count += page.entries.filter((entry) => entry.title !== 'checkpoint').length;
    startAfter = page.next;
  } while (startAfter !== undefined);
  return count;
}

/** Requests answered and dead-lettered, summed over every label, from the gateway's /metrics. */
async function finishedRequests(metricsUrl: string | undefined): Promise<number | undefined> {
  if (metricsUrl === undefined) return undefined;
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(2_000) })).text();
    const sum = (metric: string): number => samplesOf(text, metric).reduce((total, sample) => total + sample.value, 0);
    return sum('paygate_requests_total') + sum('paygate_dead_letters_total');
  } catch {
    return undefined;
  }
}

/** Counts the feed once it caught up with the gateway's metrics, or after `withinMs`. */
export async function settleFeed(feed: DemoFeed, metricsUrl: string | undefined, withinMs: number): Promise<FeedSummary> {
  const requests = await finishedRequests(metricsUrl);
  const deadline = AbortSignal.timeout(withinMs);
  while (requests !== undefined && feed.consumer !== undefined && recordsIn(feed.store, AUDIT_FEED) < requests && !deadline.aborted) {
    await once(feed.consumer, 'batch', { signal: deadline }).catch(() => undefined);
  }
  return { url: feed.url, auditRecords: recordsIn(feed.store, AUDIT_FEED), payments: recordsIn(feed.store, PAYMENTS_FEED), requests };
}

/** The lines on the feed under the table; the curl command that reads it while it runs. */
export function renderFeed(summary: FeedSummary, feed: Pick<DemoFeed, 'url' | 'token'>, serving: boolean): string[] {
  const per = summary.requests === undefined ? '' : ` (the gateway finished ${summary.requests} requests)`;
  const lines = [`The feed server holds ${summary.auditRecords} audit records and ${summary.payments} payments${per}.`];
  // Without --serve the server stops with the demo: the command is shown where it works.
  if (serving) lines.push(`  ${curlCommand(feed)}`);
  else lines.push('  npx paygate demo --serve keeps it running and prints the curl command that reads them');
  return lines;
}

/** The command that reads a feed of the running demo. */
export function curlCommand(feed: Pick<DemoFeed, 'url' | 'token'>, name: string = PAYMENTS_FEED): string {
  return `curl -H 'Authorization: Bearer ${feed.token}' ${feed.url}/feeds/${name}`;
}
