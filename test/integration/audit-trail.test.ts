// The audit trail end to end, on every broker of the matrix: a real `paygate gateway` (supervisor
// and a pool of worker processes) answers 1,000 SDK requests over the three plugins' sandboxes,
// approvals and declines, while bad messages are injected raw (a flipped byte, a signer of another
// CA), one worker is SIGKILLed and the feed server is SIGKILLed and started again. Its workers'
// events go to a real `paygate feed`; then every request must be in the `audit` feed exactly once,
// every answered payment in `payments` exactly once, no card data in either, and
// `paygate audit verify` must find the chain intact. Its folder (configs, logs, feed.sqlite) is
// kept when it fails, or always with PAYGATE_TRAIL_KEEP=1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { GatewayChild } from '../../bench/chaos/gateway.ts';
import { isCheckpoint } from '../../src/audit/checkpoint.ts';
import { parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeForeignPki, makeTestPki, type ForeignPki, type TestPki } from '../helpers/pki.ts';
import type { FeedEntry } from '../../src/feed/store.ts';
import { loadIdentity, TrustStore, type Identity } from '../../src/wire/index.ts';
import { checkAudit, checkNoCardData, checkPayments, checkWithOtherParser, describeRefused, isPayment } from './audit-trail-check.ts';
import { killOneWorker, type WorkerKill } from './audit-trail-faults.ts';
import { FeedChild, newToken, readFeed, writeFeedConfig, type FeedRead } from './audit-trail-feed.ts';
import { DeadLetterWatch, EXPECTED_REASONS, injectAll, Injector, type DeadLetter } from './audit-trail-inject.ts';
import { CVC, GIFTCARDS, runWorkload, SECRETS, type SentRequest } from './audit-trail-workload.ts';
import { freePort, startGateway, startSandboxes, startShop, trailQueues, writeGatewayConfig, type Shop, type TrailQueues } from './audit-trail-world.ts';
import { runPaygate } from './request-path-support.ts';

const REQUESTS = 1_000;
const IN_FLIGHT = 64;
/** Of each kind of bad message. */
const INJECTED_PER_KIND = 6;
/** Entries per page when reading the feeds back: several pages, so `rel="next"` is walked. */
const PAGE_SIZE = 400;
/** For a condition that holds within seconds on an idle machine (a deadline for failures, not a pace). */
const SETTLE_MS = 90_000;

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('the audit trail through the gateway on $name', (descriptor) => {
  let broker: TestBroker;
  let pki: TestPki;
  let foreign: ForeignPki;
  let dir: string;
  let queues: TrailQueues;
  let gateway: GatewayChild;
  let feed: FeedChild;
  let shop: Shop;
  let injector: Injector;
  let deadLetters: DeadLetterWatch;
  const reader = newToken();
  let failed = false;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'paygate-trail-'));
    [pki, foreign, broker] = await Promise.all([makeTestPki({ algo: 'ec' }), makeForeignPki({ algo: 'ec' }), startTestBroker(descriptor)]);
    stops.push(() => broker.stop());
    queues = trailQueues();
    const feedPort = await freePort();
    const feedConfig = writeFeedConfig(dir, broker.descriptor, pki, { port: feedPort, eventsQueue: queues.events, readerTokenSha256: reader.sha256 });
    feed = new FeedChild(feedConfig, join(dir, 'feed.log'), `http://127.0.0.1:${feedPort}`, reader.token);
    await feed.start(SETTLE_MS);
    stops.push(() => feed.stop());
    const { endpoints } = await startSandboxes(pki, stops);
    const statusPort = await freePort();
    const config = writeGatewayConfig(dir, broker.descriptor, pki, endpoints, queues, statusPort, { queue: queues.events, recipient: pki.feed.certPath });
    gateway = await startGateway(dir, config, statusPort);
    stops.push(() => gateway.stop());
    shop = await startShop(broker.descriptor, pki, queues);
    stops.push(() => shop.close(2_000));
    injector = await Injector.open(broker.descriptor, queues.prefix);
    stops.push(() => injector.close());
    const dlqs = [...['card', 'paypal', 'giftcard'].map((provider) => `${queues.prefix}${provider}.dlq`), `${queues.events}.dlq`];
    deadLetters = await DeadLetterWatch.open(broker.descriptor, 'operator', dlqs);
    stops.push(() => deadLetters.close());
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    // Kept when the test failed (configs, gateway.log, feed.log, feed.sqlite: what to look at), or when asked.
    if (failed || process.env.PAYGATE_TRAIL_KEEP !== undefined) process.stderr.write(`audit trail on ${descriptor.name}: kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('puts every request into the audit feed once, every payment into payments once, and no card data', async () => {
    onTestFailed(() => {
      failed = true;
    });
    const faults: Promise<unknown>[] = [];
    let workerKill: WorkerKill | undefined;
    const onAnswered = (answered: number): void => {
      if (answered === Math.floor(REQUESTS * 0.2)) faults.push(injectAll(injector, pki, foreign, INJECTED_PER_KIND));
      if (answered === Math.floor(REQUESTS * 0.3)) faults.push(killOneWorker(gateway, SETTLE_MS).then((kill) => (workerKill = kill)));
      if (answered === Math.floor(REQUESTS * 0.5)) faults.push(feed.kill().then(() => feed.start(SETTLE_MS)));
    };
    const sent = await runWorkload(shop, { requests: REQUESTS, inFlight: IN_FLIGHT, seed: 7, keyPrefix: `trail-${queues.run}`, onAnswered });
    await Promise.all(faults);
    expect(feed.starts, 'the feed server was killed and started again').toBe(2);

    checkAnswers(sent);
    expect(workerKill?.slot, 'a worker was killed and replaced').toBeTypeOf('number');
    expect(injector.sent).toHaveLength(2 * INJECTED_PER_KIND);
    await deadLetters.waitFor((got) => injector.sent.every((i) => got.some((l) => l.correlationId === i.correlationId)), SETTLE_MS);
    const letters = deadLetters.letters.filter((letter) => letter.queue !== `${queues.events}.dlq`);
    checkDeadLetters(letters);
    expect(injector.replies).toHaveLength(0);

    const { audit, paid } = await settledFeeds([sent.length + injector.sent.length, sent.filter(isPayment).length]);
    const records = audit.entries.filter((entry) => !isCheckpoint(entry));
    const payments = paid.entries.filter((entry) => !isCheckpoint(entry));
    // Every check runs and reports at once: a failure shows all that is wrong, not the first thing.
    const problems = [
      ...checkAudit(records, sent, injector.sent, letters),
      ...checkPayments(payments, sent),
      ...checkNoCardData([...audit.pages, ...paid.pages], [...records, ...payments].map((entry) => entry.content), SECRETS, [CVC, ...Object.values(GIFTCARDS).map((g) => g.pin)]),
      ...checkWithOtherParser(audit.pages[0] ?? '', 'audit', audit.entries.slice(0, PAGE_SIZE)),
      ...refusedProblems(),
      ...(audit.pages.length > 1 ? [] : [`the audit feed fit in ${audit.pages.length} page(s): rel="next" was not walked`]),
      ...(await verifyFeed('audit', audit.entries.length)),
      ...(await verifyFeed('payments', paid.entries.length)),
    ];
    expect(problems).toEqual([]);
  }, 420_000);

  /** Every request was sent once and answered (a reply, or an error reply): none timed out. */
  function checkAnswers(sent: readonly SentRequest[]): void {
    expect(sent).toHaveLength(REQUESTS);
    expect(new Set(sent.map((s) => s.requestId)).size).toBe(REQUESTS);
    expect(sent.filter((s) => s.answer.kind === 'timeout').map((s) => `${s.provider} ${s.type} ${s.requestId}`)).toEqual([]);
    const statuses = new Set(sent.map((s) => (s.answer.kind === 'reply' ? s.answer.status : s.answer.kind)));
    // The mix must have produced both approvals and declines, or it tested less than it claims.
    expect(statuses).toContain('approved');
    expect(statuses).toContain('declined');
    for (const provider of ['card', 'paypal', 'giftcard']) expect(sent.filter((s) => s.provider === provider).length).toBeGreaterThan(REQUESTS / 10);
  }

  /**
   * Each injected message is in a dead-letter queue with a reason of its kind (twice is allowed
   * there: a worker killed between the dead letter and its ACK; the audit feed must hold it once).
   */
  function checkDeadLetters(letters: readonly DeadLetter[]): void {
    for (const injected of injector.sent) {
      const found = letters.filter((letter) => letter.correlationId === injected.correlationId);
      expect(found.length, `${injected.kind} on ${injected.provider}`).toBeGreaterThanOrEqual(1);
      for (const letter of found) expect(EXPECTED_REASONS[injected.kind]).toContain(letter.reason);
    }
  }

  /**
   * `paygate audit verify` over HTTP: exit 0, every entry read is verified, and the last signed
   * checkpoint vouches for all of them (the feeds were read once their last entry was one).
   */
  async function verifyFeed(name: string, entries: number): Promise<string[]> {
    const run = await runPaygate(['audit', 'verify', '--feed', `${feed.url}/feeds/${name}`, '--token', reader.token, '--trust', pki.ca.certPath, '--json']);
    if (run.code !== 0) return [`paygate audit verify ${name}: exit ${run.code}: ${run.stdout}${run.stderr}`];
    const report = JSON.parse(run.stdout) as { count: number; checkpoints: number; uncheckpointed: number };
    if (report.count === entries && report.checkpoints > 0 && report.uncheckpointed === 0) return [];
    return [`paygate audit verify ${name}: ${JSON.stringify(report)} for ${entries} entries read`];
  }

  /** The events messages the feed refused (there must be none), each opened with the feed key to say what it was. */
  function refusedProblems(): string[] {
    const { identity, trust } = feedKeys();
    return refusedEvents().map((l) => `an events message refused by the feed: ${l.reason}: ${describeRefused(l.body, identity, trust)}`);
  }

  function refusedEvents(): DeadLetterWatch['letters'] {
    return deadLetters.letters.filter((letter) => letter.queue === `${queues.events}.dlq`);
  }

  function feedKeys(): { identity: Identity; trust: TrustStore } {
    return { identity: loadIdentity(pki.feed.certPem, pki.feed.keyPem), trust: new TrustStore([pki.ca.certPem]) };
  }

  /**
   * Reads both feeds until their counts match what was sent (`wanted`: audit, payments) and
   * stopped changing between two reads, or the deadline passed (then the checks say what is
   * missing or extra).
   */
  async function settledFeeds(wanted: readonly [number, number]): Promise<{ audit: FeedRead; paid: FeedRead }> {
    const deadline = performance.now() + SETTLE_MS;
    let previous = '';
    for (;;) {
      const [audit, paid] = await Promise.all([readFeed(feed.url, 'audit', reader.token, PAGE_SIZE), readFeed(feed.url, 'payments', reader.token, PAGE_SIZE)]);
      const count = (read: FeedRead): number => read.entries.filter((entry) => !isCheckpoint(entry)).length;
      const counts = `${count(audit)}/${count(paid)}`;
      // …and each ends with a checkpoint, so that a signature vouches for every entry.
      const certified = [audit, paid].every((read) => read.entries.length > 0 && isCheckpoint(read.entries.at(-1) as FeedEntry));
      const matched = counts === wanted.join('/') && certified;
      if ((matched && counts === previous) || performance.now() > deadline) return { audit, paid };
      previous = counts;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
});
