/**
 * A request id is chosen by its sender and travels in clear (`correlation-id`), so the worker
 * scopes each recorded answer to the certificate that signed the request and to the provider:
 * another shop sending a request of its own under a captured id is a new request of its own,
 * never answered with the first shop's reply, and never the cause of the first shop's payment
 * coming back with someone else's answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../src/certs/issue.ts';
import { loadIdentity, open, TrustStore, decodeYaml, type Identity } from '../../src/wire/index.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { authorizePayload, requestDoc, startHarness, until, type Harness } from './harness.ts';

let h: Harness;
let shopB: Identity;

beforeAll(async () => {
  h = await startHarness({});
  const pem = await issueCertificate({ algo: 'rsa', bits: 2048, issuer: h.pki.ca, commonName: 'shop B', profile: 'smime', signerRole: 'client' });
  shopB = loadIdentity(pem.certPem, pem.keyPem);
}, 30_000);
afterAll(async () => {
  await h?.close();
});

/** Shop B's view of the `n`-th reply on `correlationId`. */
async function replyToShopB(correlationId: string, n: number): Promise<Record<string, unknown>> {
  await until(() => (h.allReplies.get(correlationId)?.length ?? 0) >= n);
  const message = h.allReplies.get(correlationId)?.[n - 1];
  if (message === undefined) throw new Error('no reply');
  const opened = open(message.body, { identity: shopB, trust: new TrustStore([h.pki.ca.certPem]) });
  return decodeYaml(opened.yaml) as Record<string, unknown>;
}

describe('request ids are scoped to their signer', () => {
  it("another shop reusing an answered request's id gets its own payment, never the first shop's reply", async () => {
    counter.reset();
    const docA = requestDoc({ idempotency_key: 'shop-a-1', payload: authorizePayload({ value: 1999 }) });
    const replyA = await h.roundTrip(docA);
    expect(replyA.status).toBe('approved');

    const docB = requestDoc({ id: docA.id, idempotency_key: 'shop-b-1', payload: authorizePayload({ value: 5 }) });
    await h.send(h.seal(docB, shopB), { correlationId: docA.id, destination: h.queue() });
    const replyB = await replyToShopB(docA.id, 2);
    expect(replyB.status).toBe('approved');
    expect((replyB.result as { amount: { value: number } }).amount.value).toBe(5);
    expect(JSON.stringify(replyB)).not.toContain(JSON.stringify((replyA.result as { authorization_id: string }).authorization_id));
    expect(counter.calls('shop-a-1')).toBe(1);
    expect(counter.calls('shop-b-1')).toBe(1);
  });

  it("a shop first in with another shop's id does not make that shop's payment come back with its answer", async () => {
    counter.reset();
    const docA = requestDoc({ idempotency_key: 'shop-a-2', payload: authorizePayload({ value: 250_000 }) });
    const docB = requestDoc({ id: docA.id, idempotency_key: 'shop-b-2', payload: authorizePayload({ value: 1 }) });
    await h.send(h.seal(docB, shopB), { correlationId: docA.id, destination: h.queue() });
    await replyToShopB(docA.id, 1);
    await h.send(h.seal(docA), { correlationId: docA.id, destination: h.queue() });
    const replyA = await h.nthReply(docA.id, 2);
    expect(replyA.status).toBe('approved');
    expect((replyA.result as { amount: { value: number } }).amount.value).toBe(250_000);
    expect(counter.calls('shop-a-2')).toBe(1);
  });
});
