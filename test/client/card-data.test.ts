/**
 * Card numbers outside the card fields never leave the storefront: the SDK runs the worker's
 * checks (the request document's fields, then every non-card field of the validated payload)
 * before sending, and refuses with `CardDataInTextError` (`CARD_DATA_IN_TEXT`, a
 * `ValidationError`: nothing sent). The plugins this repository ships, each free-text field.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardDataInTextError, createGateway, ValidationError, type Gateway } from '../../src/client/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';
import cardProvider from '../../providers/card/index.ts';
import giftcardProvider from '../../providers/giftcard/index.ts';
import paypalProvider from '../../providers/paypal/index.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { TestResponder } from './responder.ts';
import { CARD, EUR, PAN, rejection, useGatewayFixture } from './support.ts';

const f = useGatewayFixture();
const PROVIDERS = [cardProvider, paypalProvider, giftcardProvider] as const;
const GIFT = { card_number: '6036280000000011', pin: '1234' };

/** One peer per provider queue: it answers ping, declines anything else, and records what reached it. */
const peers = new Map<string, TestResponder>();
let gateway: Gateway<typeof PROVIDERS>;

beforeAll(async () => {
  for (const provider of PROVIDERS) {
    const peer = await TestResponder.start({
      brokers: { nodes: [f.node('worker')] },
      gateway: f.pki.gateway,
      caPem: f.pki.ca.certPem,
      destination: `/queue/paygate.${provider.name}`,
    });
    peers.set(provider.name, peer);
  }
  gateway = await createGateway({ ...f.options(), providers: PROVIDERS });
  f.adopt(gateway);
});
afterAll(async () => {
  await Promise.all([...peers.values()].map((peer) => peer.close()));
});

/** The peer of `name`'s queue, with nothing received yet. */
function freshPeer(name: string): TestResponder {
  const peer = peers.get(name);
  if (peer === undefined) throw new Error(`no peer for ${name}`);
  peer.reset();
  peer.answer = (request) =>
    request.document.type === 'ping'
      ? { status: 'approved', result: { provider: name, version: '1', worker: 'card-data-test' } }
      : { status: 'declined', error: { code: 'CARD_DECLINED', message: 'declined by the test peer', retryable: false } };
  return peer;
}

/** Expects a CardDataInTextError naming `field`, with no card number anywhere in it, and that nothing reached the provider's queue. */
async function refused(provider: ProviderDefinition, attempt: Promise<unknown>, field: string): Promise<void> {
  const peer = freshPeer(provider.name);
  const error = await rejection(attempt);
  expect(error).toBeInstanceOf(CardDataInTextError);
  expect(error).toBeInstanceOf(ValidationError);
  expect(error).toMatchObject({ code: 'CARD_DATA_IN_TEXT', sent: false, field });
  expect(findPans(`${String(error)}\n${inspect(error, { depth: 5 })}\n${JSON.stringify(error)}`, { thorough: true })).toEqual([]);
  // A ping sent afterwards is the first thing the queue sees: the refused request never left.
  await gateway.ping(provider.name as never);
  expect(peer.received.map((r) => r.document.type)).toEqual(['ping']);
}

describe('the SDK refuses a card number outside the card fields, before sending', () => {
  const untyped = (): { request(p: string, t: string, payload: unknown, options?: object): Promise<unknown> } =>
    gateway as unknown as { request(p: string, t: string, payload: unknown, options?: object): Promise<unknown> };

  it.each([
    ['a plain PAN', PAN],
    ['a PAN inside a reference', `order-${PAN}-auth`],
    ['a spaced PAN', '4111 1111 1111 1111'],
  ])('idempotency key holding %s: idempotency_key', async (_label, idempotencyKey) => {
    await refused(cardProvider, untyped().request('card', 'authorize', { amount: EUR(100), card: CARD }, { idempotencyKey }), 'idempotency_key');
  });

  it.each([
    [cardProvider, 'authorize', { amount: EUR(100), card: { ...CARD, holder: `J DOE ${PAN}` } }, 'card.holder'],
    [cardProvider, 'status', { idempotency_key: `retry ${PAN}` }, 'idempotency_key'],
    [paypalProvider, 'sale', { amount: EUR(100), card: CARD, invoice: `INV ${PAN}` }, 'invoice'],
    [paypalProvider, 'capture', { authorization_id: 'A'.repeat(17), amount: EUR(100), invoice: PAN }, 'invoice'],
    [giftcardProvider, 'status', { reference: `gift-${PAN}` }, 'reference'],
  ] as [ProviderDefinition, string, Record<string, unknown>, string][])('%s/%s with a card number in %s', async (provider, type, payload, field) => {
    await refused(provider, untyped().request(provider.name, type, payload), field);
  });

  it('order_id of the counting plugin', async () => {
    const error = await rejection(f.gateway.request('counting', 'authorize', { amount: EUR(1), card: CARD, order_id: `ord ${PAN}` }));
    expect(error).toMatchObject({ code: 'CARD_DATA_IN_TEXT', field: 'order_id' });
    await f.gateway.ping('counting');
    expect(f.responder.received.map((r) => r.document.type)).toEqual(['ping']);
  });

  it.each([
    [cardProvider, 'authorize', { amount: EUR(100), card: { ...CARD, holder: 'J Doe' } }],
    [paypalProvider, 'sale', { amount: EUR(100), card: CARD, invoice: 'INV-2026-0001' }],
    [giftcardProvider, 'redeem', { ...GIFT, amount: EUR(100) }],
  ] as [ProviderDefinition, string, Record<string, unknown>][])('%s/%s: a real card in its card field is sent', async (provider, type, payload) => {
    const peer = freshPeer(provider.name);
    const reply = await untyped().request(provider.name, type, payload, { idempotencyKey: `real-card-${provider.name}` });
    expect(reply).toMatchObject({ status: 'declined', error: { code: 'CARD_DECLINED' } });
    expect(peer.received.map((r) => r.document.type)).toEqual([type]);
  });
});
