/**
 * Compile-time tests of `Gateway.request()`'s types: `npm run typecheck` (tsc over test/) fails
 * when a `@ts-expect-error` line stops being an error or an `expectTypeOf` stops holding. Never
 * run, only type-checked (vitest includes `*.test.ts` only).
 */
import * as z from 'zod';
import { expectTypeOf } from 'vitest';
import { createGateway, type Gateway, type GatewayReply, type PingResult } from '../../src/client/index.ts';
import { defineProvider, scrubCardNumbers } from '../../src/providers/index.ts';
import type { Money } from '../../src/wire/index.ts';
import type { counting } from '../fixtures/counting-provider.ts';

const giftcard = defineProvider({
  name: 'giftcard',
  version: '1.0.0',
  actions: {
    redeem: {
      request: z.strictObject({ code: z.string(), cents: z.number().int() }),
      result: z.strictObject({ balance: z.number() }),
      async handler() {
        return { status: 'approved', result: { balance: 0 } };
      },
    },
  },
  scrub: scrubCardNumbers,
});

declare const gateway: Gateway<readonly [typeof counting, typeof giftcard]>;
const card = { number: '4111111111111111', exp_month: 12, exp_year: 2030 };
const amount = { value: 1999, currency: 'EUR' };

export async function typedRequests(): Promise<void> {
  const authorized = await gateway.request('counting', 'authorize', { amount, card, order_id: 'ord-1' });
  expectTypeOf(authorized).toEqualTypeOf<GatewayReply<{ authorization_id: string; amount: Money }>>();
  if (authorized.status === 'approved') expectTypeOf(authorized.result.authorization_id).toEqualTypeOf<string>();
  // Only `approved` is guaranteed a result.
  expectTypeOf<Exclude<typeof authorized, { status: 'approved' }>['result']>().toEqualTypeOf<
    { authorization_id: string; amount: Money } | undefined
  >();

  const redeemed = await gateway.request('giftcard', 'redeem', { code: 'X', cents: 5 }, { idempotencyKey: 'k', timeoutMs: 1_000 });
  expectTypeOf(redeemed).toEqualTypeOf<GatewayReply<{ balance: number }>>();

  const captured = await gateway.request('counting', 'capture', { authorization_id: 'auth_1' });
  expectTypeOf(captured).toEqualTypeOf<GatewayReply<{ authorization_id: string; captured: Money }>>();

  expectTypeOf(await gateway.ping('giftcard')).toEqualTypeOf<GatewayReply<PingResult>>();
}

export async function wrongRequests(): Promise<void> {
  // @ts-expect-error an unknown provider
  await gateway.request('paypal', 'authorize', {});
  // @ts-expect-error a type of another provider
  await gateway.request('counting', 'redeem', { code: 'X', cents: 5 });
  // @ts-expect-error ping is not a request type (use gateway.ping)
  await gateway.request('counting', 'ping', {});
  // @ts-expect-error a missing field (order_id)
  await gateway.request('counting', 'authorize', { amount, card });
  // @ts-expect-error a wrong field type
  await gateway.request('counting', 'authorize', { amount: { value: '19.99', currency: 'EUR' }, card, order_id: 'ord-1' });
  // @ts-expect-error an unknown field (strict schema)
  await gateway.request('giftcard', 'redeem', { code: 'X', cents: 5, tip: 1 });
  // @ts-expect-error the payload of another provider's action
  await gateway.request('giftcard', 'redeem', { amount, card, order_id: 'ord-1' });
  // @ts-expect-error an unknown provider for ping
  await gateway.ping('paypal');
  // @ts-expect-error an unknown option
  await gateway.request('giftcard', 'redeem', { code: 'X', cents: 5 }, { retries: 3 });
}

export async function inferredFromOptions(options: Parameters<typeof createGateway<readonly [typeof giftcard]>>[0]): Promise<void> {
  const made = await createGateway({ ...options, providers: [giftcard] });
  expectTypeOf(made).toEqualTypeOf<Gateway<readonly [typeof giftcard]>>();
  // @ts-expect-error the gateway was made without the counting provider
  await made.request('counting', 'authorize', { amount, card, order_id: 'ord-1' });
}
