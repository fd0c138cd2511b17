/**
 * The client SDK end to end, part 3: what it believes of its reply queue. Anyone who can send to
 * a storefront's reply queue (any login on RabbitMQ, through the default exchange) can put a
 * message there, so a reply that fails verification is dropped (`reply-rejected`, counted in
 * `stats()`) and the request keeps waiting for its genuine reply; only the gateway's own,
 * verified answer settles it.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  createGateway, gatewayOptionsSchema, ReplyResultError, TimeoutError, ValidationError, type LateReplyEvent, type ReplyRejectedEvent,
} from '../../src/client/index.ts';
import { defineProvider, scrubCardNumbers } from '../../src/providers/index.ts';
import { issueCertificate } from '../../src/certs/devca.ts';
import { loadIdentity, SIGNER_ROLE_OIDS, type Identity } from '../../src/wire/index.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { makeForeignPki } from '../helpers/pki.ts';
import { flipBase64, runCounting, TestResponder, type Answer, type ReceivedRequest } from './responder.ts';
import { CARD, EUR, rejection, useGatewayFixture, type CountingGateway } from './support.ts';

const f = useGatewayFixture();

/** Signers a forger may have: our client (same CA, client role), a gateway-role certificate of our CA that is not configured, a foreign CA's gateway. */
let forgers: { client: Identity; unpinnedGateway: Identity; foreignGateway: Identity };

beforeAll(async () => {
  const foreign = await makeForeignPki({ algo: 'rsa' });
  const [unpinned, foreignGateway] = await Promise.all([
    issueCertificate({ algo: 'rsa', issuer: f.pki.ca, commonName: 'paygate dev gateway', profile: 'smime', signerRole: 'gateway' }),
    issueCertificate({ algo: 'rsa', issuer: foreign.ca, commonName: 'paygate dev gateway', profile: 'smime', signerRole: 'gateway' }),
  ]);
  forgers = {
    client: loadIdentity(f.pki.client.certPem, f.pki.client.keyPem),
    unpinnedGateway: loadIdentity(unpinned.certPem, unpinned.keyPem),
    foreignGateway: loadIdentity(foreignGateway.certPem, foreignGateway.keyPem),
  };
});

/** Collects the gateway's `reply-rejected` events; resolves `until(n)` once n have come. */
function rejections(gateway: CountingGateway): { events: ReplyRejectedEvent[]; until(count: number): Promise<void>; stop(): void } {
  const events: ReplyRejectedEvent[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const listener = (event: ReplyRejectedEvent): void => {
    events.push(event);
    for (const waiter of waiters.filter((w) => events.length >= w.count)) waiter.resolve();
  };
  gateway.on('reply-rejected', listener);
  return {
    events,
    until: (count) => (events.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    stop: () => gateway.off('reply-rejected', listener),
  };
}

/** Forged replies of every kind, each with the code the SDK must drop it with. */
const FORGERIES: readonly { kind: string; code: string; forge: (request: ReceivedRequest) => Answer }[] = [
  { kind: 'signed by our client certificate', code: 'WRONG_SIGNER_ROLE', forge: () => ({ ...approved(), signer: forgers.client }) },
  { kind: 'signed by a gateway of a foreign CA', code: 'UNTRUSTED_SIGNER', forge: () => ({ ...approved(), signer: forgers.foreignGateway }) },
  { kind: 'signed by a gateway of our CA that is not configured', code: 'UNTRUSTED_SIGNER', forge: () => ({ ...approved(), signer: forgers.unpinnedGateway }) },
  { kind: 'garbage', code: 'MALFORMED_MIME', forge: () => ({ ...approved(), tamper: () => 'approved, trust me' }) },
  { kind: 'a tampered body', code: 'TAMPERED', forge: () => ({ ...approved(), tamper: flipBase64 }) },
  { kind: "the genuine gateway's reply to another request", code: 'MISMATCHED_REPLY', forge: () => ({ ...approved(), document: { request_id: randomUUID() } }) },
  { kind: 'encrypted to someone else', code: 'NOT_A_RECIPIENT', forge: () => ({ ...approved(), recipient: forgers.unpinnedGateway.certificate }) },
];
/** A flipped base64 character lands in the envelope, the ciphertext or the tag: any of these. */
const TAMPERED = ['DECRYPT_FAILED', 'MALFORMED_CMS', 'MALFORMED_MIME', 'BAD_SIGNATURE'];

function approved(): Answer {
  return { status: 'approved', result: { authorization_id: 'auth_999', amount: EUR(1) } };
}

function expectCode(code: string, expected: string): void {
  if (expected === 'TAMPERED') expect(TAMPERED).toContain(code);
  else expect(code).toBe(expected);
}

describe('a forged reply costs the request nothing', () => {
  it.each(FORGERIES)('$kind: dropped with $code, and the genuine reply after it is the answer', async ({ forge, code }) => {
    const seen = rejections(f.gateway);
    try {
      f.responder.answer = async (request) => [forge(request), await runCounting(request)];
      const before = f.gateway.stats().rejectedReplies;
      const reply = await f.gateway.request('counting', 'authorize', { amount: EUR(1999), card: CARD, order_id: 'o-1' }, { idempotencyKey: 'v-1' });
      expect(reply).toMatchObject({ status: 'approved', result: { authorization_id: 'auth_1', amount: EUR(1999) }, idempotencyKey: 'v-1' });
      expect(seen.events).toHaveLength(1);
      expect(seen.events[0]?.correlationId).toBe(reply.requestId);
      expectCode(seen.events[0]?.code ?? '', code);
      expect(Object.keys(seen.events[0] ?? {}).sort()).toEqual(['code', 'correlationId']);
      expect(f.gateway.stats().rejectedReplies).toBe(before + 1);
    } finally {
      seen.stop();
    }
  });

  it('only forged replies: the request times out saying how many were dropped', async () => {
    f.responder.answer = () => [{ ...approved(), signer: forgers.client }, { ...approved(), signer: forgers.client }];
    const error = await rejection(f.gateway.request('counting', 'capture', { authorization_id: 'auth_1' }, { timeoutMs: 1_000 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ reason: 'timeout', outcome: 'unknown', rejectedReplies: 2 });
    expect((error as TimeoutError).message).toContain('2 replies failed verification and were dropped');
  });

  it('a forged reply with an id nobody waits for is a late reply, never opened', async () => {
    const late: unknown[] = [];
    const onLate = (event: unknown): number => late.push(event);
    f.gateway.on('late-reply', onLate);
    const seen = rejections(f.gateway);
    try {
      const stranger = randomUUID();
      f.responder.answer = async (request) => [{ ...approved(), correlationId: stranger, tamper: () => 'never opened' }, await runCounting(request)];
      const before = f.gateway.stats();
      await f.gateway.request('counting', 'authorize', { amount: EUR(5), card: CARD, order_id: 'o-2' });
      // The stranger was sent first, on the same queue: it has been handled by now.
      expect(late).toEqual([{ correlationId: stranger, expired: false }]);
      expect(seen.events).toEqual([]);
      expect(f.gateway.stats()).toMatchObject({ lateReplies: before.lateReplies + 1, rejectedReplies: before.rejectedReplies });
    } finally {
      f.gateway.off('late-reply', onLate);
      seen.stop();
    }
  });
});

describe('under fire', () => {
  it('100 payments while 100 forged replies (one per payment, every kind) and 10 strangers arrive: all succeed, every forgery is counted', async () => {
    const count = 100;
    const seen = rejections(f.gateway);
    const late: LateReplyEvent[] = [];
    const onLate = (event: LateReplyEvent): number => late.push(event);
    f.gateway.on('late-reply', onLate);
    const forgedCode = new Map<string, string>();
    let answered = 0;
    // Each payment's forgery (and every tenth a reply with an id nobody waits for) is sent into
    // the storefront's reply queue before its genuine reply, on the same connection.
    f.responder.answer = async (request) => {
      const forgery = FORGERIES[answered % FORGERIES.length] as (typeof FORGERIES)[number];
      answered += 1;
      forgedCode.set(request.document.id, forgery.code);
      const stranger = answered % 10 === 0 ? [{ ...approved(), signer: forgers.client, correlationId: randomUUID() }] : [];
      return [...stranger, forgery.forge(request), await runCounting(request)];
    };
    try {
      const before = f.gateway.stats();
      const replies = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          f.gateway.request('counting', 'authorize', { amount: EUR((i + 1) * 100), card: CARD, order_id: `pay-${i}` }, {
            idempotencyKey: `pay-${i}`,
            timeoutMs: 60_000,
          }),
        ),
      );
      replies.forEach((reply, i) => {
        expect(reply).toMatchObject({ status: 'approved', idempotencyKey: `pay-${i}`, result: { amount: EUR((i + 1) * 100) } });
        expect(counter.calls(`pay-${i}`)).toBe(1);
      });
      expect(seen.events).toHaveLength(count);
      expect(new Set(seen.events.map((e) => e.correlationId))).toEqual(new Set(replies.map((r) => r.requestId)));
      for (const event of seen.events) expectCode(event.code, forgedCode.get(event.correlationId) ?? '?');
      expect(late).toHaveLength(count / 10);
      expect(late.every((event) => !event.expired && !forgedCode.has(event.correlationId))).toBe(true);
      const after = f.gateway.stats();
      expect(after).toMatchObject({ inFlight: 0, rejectedReplies: before.rejectedReplies + count, lateReplies: before.lateReplies + count / 10 });
      const byCode = Object.entries(after.rejectedRepliesByCode).reduce((sum, [, n]) => sum + n, 0);
      expect(byCode).toBe(after.rejectedReplies);
    } finally {
      f.gateway.off('late-reply', onLate);
      seen.stop();
    }
  });
});

describe('a verified reply settles the request', () => {
  it("a result that breaks the action's result schema fails it at once with ReplyResultError (it is the gateway's answer)", async () => {
    f.responder.answer = () => ({ status: 'approved', result: { authorization_id: 'nope', amount: EUR(1) } });
    const error = await rejection(f.gateway.request('counting', 'authorize', { amount: EUR(1), card: CARD, order_id: 'o' }, { idempotencyKey: 'r-1' }));
    expect(error).toBeInstanceOf(ReplyResultError);
    expect(error).toMatchObject({ code: 'REPLY_RESULT_INVALID', replyStatus: 'approved', idempotencyKey: 'r-1' });
    expect((error as ReplyResultError).issues.map((i) => i.path)).toEqual(['result.authorization_id']);
    expect((error as ReplyResultError).requestId).toBe(f.responder.received[0]?.document.id);
  });

  it('an approval without a result fails it with ReplyResultError', async () => {
    f.responder.answer = () => ({ status: 'approved' });
    const error = await rejection(f.gateway.request('counting', 'capture', { authorization_id: 'auth_1' }));
    expect(error).toMatchObject({ code: 'REPLY_RESULT_INVALID', issues: [{ path: 'result', message: 'required when status is approved' }] });
  });
});

describe('the gateway role', () => {
  /** A gateway certificate without any paygate role (a PKI of one's own), serving a provider of its own. */
  let roleless: { certPem: string; keyPem: string };
  let peer: TestResponder;
  const own = defineProvider({
    name: 'acme',
    version: '1.0.0',
    actions: {
      charge: {
        request: z.strictObject({ order_id: z.string() }),
        result: z.strictObject({ ok: z.boolean() }),
        async handler() {
          return { status: 'approved', result: { ok: true } };
        },
      },
    },
    scrub: scrubCardNumbers,
  });
  const acmeOptions = (gatewayRoleOids?: string[]) => ({
    ...f.options(),
    providers: [own] as const,
    gatewayCertificates: [roleless.certPem],
    ...(gatewayRoleOids === undefined ? {} : { gatewayRoleOids }),
  });

  beforeAll(async () => {
    roleless = await issueCertificate({ algo: 'rsa', issuer: f.pki.ca, commonName: 'acme gateway', profile: 'smime' });
    peer = await TestResponder.start({
      brokers: { nodes: [f.node('worker')] },
      gateway: roleless,
      caPem: f.pki.ca.certPem,
      destination: '/queue/paygate.acme',
    });
    peer.answer = () => ({ status: 'approved', result: { ok: true } });
    return () => peer.close();
  });

  it('createGateway refuses a configured gateway certificate without the role, naming the fix', async () => {
    const error = await rejection(createGateway(acmeOptions()));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: 'gatewayCertificates.0', message: expect.stringMatching(/without a paygate role.*gatewayRoleOids/) },
    ]);
  });

  it.each([
    ['[] (no role check)', []],
    ["the deployment's own OIDs (emailProtection here)", ['1.3.6.1.5.5.7.3.4']],
  ])('gatewayRoleOids %s accepts its replies', async (_label, gatewayRoleOids: string[]) => {
    const gateway = await createGateway(acmeOptions(gatewayRoleOids));
    f.adopt(gateway);
    const reply = await gateway.request('acme', 'charge', { order_id: 'own-1' });
    expect(reply).toMatchObject({ status: 'approved', result: { ok: true } });
    expect(gateway.stats().rejectedReplies).toBe(0);
  });

  it('the default role list is the gateway role only', () => {
    expect(gatewayOptionsSchema.parse(f.options()).gatewayRoleOids).toEqual([SIGNER_ROLE_OIDS.gateway]);
  });
});
