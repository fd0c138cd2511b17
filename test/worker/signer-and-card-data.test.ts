/**
 * Who may sign a request, and card data where none belongs.
 *
 * - Only client-role signers are served: a request signed by a trusted certificate without the
 *   client role — the gateway's own, or one that carries no paygate role — is answered
 *   `WRONG_SIGNER_ROLE` (sealed to that signer, not retryable) and never executed or stored.
 *   A deployment's own PKI configures its role OIDs; `[]` turns the check off.
 * - A card number in the idempotency key or in a free-text payload field (order id,
 *   description) is refused `CARD_DATA_IN_TEXT`: the key is never stored and the provider never
 *   called. A card number typed into `type` or `correlation-id` is never echoed in clear.
 * - Afterwards the idempotency store file and its WAL hold no card number.
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../src/certs/issue.ts';
import { decodeYaml, loadIdentity, open, parseReplyDocument, requestHeaders, TrustStore, type Identity, type ReplyDocument } from '../../src/wire/index.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { authorizePayload, requestDoc, startHarness, TEST_PAN, until, type Harness } from './harness.ts';

let h: Harness;
let roleless: Identity;

beforeAll(async () => {
  h = await startHarness();
  // A certificate of the same CA with no paygate role in its extendedKeyUsage.
  const issued = await issueCertificate({ algo: 'rsa', issuer: { certPem: h.pki.ca.certPem, keyPem: h.pki.ca.keyPem }, commonName: 'no role', profile: 'smime' });
  roleless = loadIdentity(issued.certPem, issued.keyPem);
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  counter.reset();
});

/** Rows mentioning `requestId` or `key` in the store (seen ids and idempotency entries). */
function storeRows(requestId: string, key: string): number {
  const db = new Database(h.storePath, { readonly: true });
  try {
    const seen = (db.prepare('SELECT count(*) AS n FROM seen_requests WHERE request_id = ?').get(requestId) as { n: number }).n;
    const entries = (db.prepare('SELECT count(*) AS n FROM idempotency WHERE idempotency_key = ? OR request_id = ?').get(key, requestId) as { n: number }).n;
    return seen + entries;
  } finally {
    db.close();
  }
}

/** Sends `doc` signed by `signer`; waits for the reply and opens it as `signer` (replies are sealed to the request's signer). */
async function roundTripAs(signer: Identity, doc: ReturnType<typeof requestDoc>): Promise<ReplyDocument> {
  await h.send(h.seal(doc, signer), { correlationId: doc.id });
  await until(() => h.replies.has(doc.id));
  const opened = open((h.replies.get(doc.id) as { body: Buffer }).body, { identity: signer, trust: new TrustStore([h.pki.ca.certPem]) });
  expect(opened.signer.fingerprint).toBe(h.gatewayIdentity.certificate.fingerprint);
  return parseReplyDocument(decodeYaml(opened.yaml));
}

describe('signer roles', () => {
  it.each([
    ['the gateway\'s own certificate', () => h.gatewayIdentity],
    ['a certificate without any paygate role', () => roleless],
  ])('a request signed by %s is answered WRONG_SIGNER_ROLE, sealed to it; never executed or stored', async (_what, signer) => {
    const doc = requestDoc({ idempotency_key: `wrong-role-${crypto.randomUUID()}` });
    const reply = await roundTripAs(signer(), doc);
    expect(reply).toMatchObject({ status: 'error', request_id: doc.id, error: { code: 'WRONG_SIGNER_ROLE', retryable: false } });
    expect(reply.error?.message).toContain('client');
    expect(counter.total).toBe(0);
    expect(storeRows(doc.id, doc.idempotency_key as string)).toBe(0);
    // The client's own certificate (client role) goes through.
    expect((await h.roundTrip(requestDoc())).status).toBe('approved');
  });

  it('a deployment\'s own role OIDs, and [] (no role check), are honoured', async () => {
    const own = await startHarness({ worker: { clientRoleOids: ['1.3.6.1.5.5.7.3.2'] } }); // clientAuth: every dev smime leaf has it
    const none = await startHarness({ worker: { clientRoleOids: [] } });
    try {
      for (const harness of [own, none]) {
        const doc = requestDoc();
        await harness.send(harness.seal(doc, loadIdentity(harness.pki.gateway.certPem, harness.pki.gateway.keyPem)), { correlationId: doc.id });
        await until(() => harness.replies.has(doc.id));
        const opened = open((harness.replies.get(doc.id) as { body: Buffer }).body, { identity: harness.gatewayIdentity, trust: new TrustStore([harness.pki.ca.certPem]) });
        expect(parseReplyDocument(decodeYaml(opened.yaml)).status).toBe('approved');
      }
    } finally {
      await Promise.all([own.close(), none.close()]);
    }
  });
});

describe('card numbers outside card fields', () => {
  const spaced = '4111 1111 1111 1111';

  it.each([
    ['the idempotency key', () => requestDoc({ idempotency_key: `order-${TEST_PAN}` }), 'idempotency_key'],
    ['the order id', () => requestDoc({ idempotency_key: 'pan-in-order', payload: { ...authorizePayload(), order_id: TEST_PAN } }), 'order_id'],
    ['a description', () => requestDoc({ idempotency_key: 'pan-in-description', payload: { ...authorizePayload(), description: `card ${spaced} thanks` } }), 'description'],
  ])('in %s: refused CARD_DATA_IN_TEXT naming the field, not the value; the key is never stored, the provider never called', async (_where, make, field) => {
    const doc = make();
    const reply = await h.roundTrip(doc);
    expect(reply).toMatchObject({ status: 'error', request_id: doc.id, error: { code: 'CARD_DATA_IN_TEXT', retryable: false } });
    expect(reply.error?.message).toContain(field);
    expect(findPans(JSON.stringify(reply))).toEqual([]);
    expect(counter.total).toBe(0);
    expect(storeRows(doc.id, doc.idempotency_key as string)).toBe(0);
  });

  it('a card number as the request type is refused, and the reply names the type "unknown": never echoed', async () => {
    const doc = requestDoc({ type: TEST_PAN });
    const reply = await h.roundTrip(doc);
    expect(reply).toMatchObject({ status: 'error', request_id: doc.id, type: 'unknown', error: { code: 'CARD_DATA_IN_TEXT' } });
    expect(findPans(JSON.stringify(reply))).toEqual([]);
    expect(counter.total).toBe(0);
  });

  it('a card number as the correlation-id comes back masked in the reply header', async () => {
    const doc = requestDoc();
    const headers = requestHeaders({ replyTo: h.replyTo, correlationId: TEST_PAN, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 });
    await h.send(h.seal(doc), { headers, correlationId: TEST_PAN });
    const masked = [...h.allReplies.keys()];
    await until(() => [...h.allReplies.keys()].length > masked.length || [...h.allReplies.keys()].some((k) => k.startsWith('411111') && k !== TEST_PAN));
    const key = [...h.allReplies.keys()].find((k) => k.startsWith('411111')) as string;
    expect(key).not.toBe(TEST_PAN);
    expect(findPans(key)).toEqual([]);
    expect((await h.reply(key)).request_id).toBe(doc.id);
  });

  it('leaves no card number in the idempotency store or its WAL', () => {
    for (const file of [h.storePath, `${h.storePath}-wal`]) {
      expect(findPans(readFileSync(file).toString('latin1')), file).toEqual([]);
    }
  });
});
