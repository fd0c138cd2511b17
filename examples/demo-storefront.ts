/**
 * A storefront's side of one order, through the typed SDK (docs/sdk.md), against a running
 * `paygate demo --serve`:
 *
 *   npx paygate demo --serve                              # terminal 1: prints the demo folder
 *   npx tsx examples/demo-storefront.ts /tmp/paygate-demo-XXXXXX   # terminal 2
 *
 * It authorizes a card payment, captures it, and pays the rest with a gift card. Every call names
 * an idempotency key derived from the order, so running a step again never charges twice.
 * The broker port comes from the demo's client config; the certificates from its folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import card from '../providers/card/index.ts';
import giftcard from '../providers/giftcard/index.ts';
import { createGateway, readIdentityFiles } from '../src/client/index.ts';
import { decodeYaml, formatMoney } from '../src/wire/index.ts';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: npx tsx examples/demo-storefront.ts DEMO_FOLDER   (the folder `paygate demo --serve` prints)');
  process.exit(2);
}
const pem = (name: string): string => readFileSync(join(dir, 'certs', name), 'utf8');
const client = decodeYaml(readFileSync(join(dir, 'paygate-client.yaml'))) as { brokers: { host: string; port: number }[] };

const gateway = await createGateway({
  brokers: { nodes: client.brokers.map(({ host, port }) => ({ host, port })) },
  identity: await readIdentityFiles(join(dir, 'certs', 'client.crt'), join(dir, 'certs', 'client.key')),
  gatewayCertificates: [pem('gateway.crt')],
  trust: [pem('ca.crt')],
  providers: [card, giftcard] as const, // `as const`: request() is typed per provider and action
});

const say = (line: string): boolean => process.stdout.write(`${line}\n`);
const order = `ord-${Date.now().toString(36)}`;
try {
  // CardGate's approved test card (providers/card/README.md); the number never leaves in clear.
  const expiry = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };
  const authorization = await gateway.request(
    'card',
    'authorize',
    { amount: { value: 3_000, currency: 'EUR' }, card: { number: '4111 1111 1111 1111', ...expiry, cvc: '123' } },
    { idempotencyKey: `${order}-auth` },
  );
  if (authorization.status !== 'approved') throw new Error(`card ${authorization.status}: ${authorization.error?.code ?? ''}`);
  say(`${order}: authorized ${formatMoney(authorization.result.amount)} as ${authorization.result.transaction_id}`);

  const capture = await gateway.request('card', 'capture', { authorization_id: authorization.result.transaction_id }, { idempotencyKey: `${order}-capture` });
  say(`${order}: capture ${capture.status}${capture.status === 'approved' ? ` (${capture.result.transaction_id})` : ''}`);

  // The gift card of the sandbox (100.00 EUR, PIN 1234) pays the shipping.
  const redeem = await gateway.request(
    'giftcard',
    'redeem',
    { card_number: '6036280000000011', pin: '1234', amount: { value: 495, currency: 'EUR' } },
    { idempotencyKey: `${order}-giftcard` },
  );
  say(`${order}: gift card ${redeem.status}${redeem.status === 'approved' ? `, balance now ${formatMoney(redeem.result.balance)}` : ''}`);
} finally {
  await gateway.close();
}
