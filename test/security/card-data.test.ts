/**
 * Card data where it does not belong, end to end: a real embedded broker with a store, a worker
 * with the `card` plugin and its HTTPS sandbox, pino logs to a file, the typed SDK, and an
 * attacker-shaped caller who puts card numbers in free-text fields, in `type`, and sends a body
 * in clear. Afterwards every place card data could rest is scanned: the idempotency store with
 * its WAL, the broker's store folder, the log file, every reply (decrypted), every dead letter.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardDataInTextError, createGateway, type Gateway } from '../../src/client/index.ts';
import { actionLogger, createLogger } from '../../src/logging.ts';
import { Certificate, loadIdentity, open, seal, TrustStore } from '../../src/wire/index.ts';
import { Worker } from '../../src/worker/index.ts';
import card from '../../providers/card/index.ts';
import { startCardSandbox, type CardSandbox } from '../../providers/card/sandbox/index.ts';
import { asRole, openStomp, parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor, type EmbeddedBrokerHandle, type StompFrame } from '../helpers/brokers.ts';
import { roleNode } from '../integration/support.ts';
import { findPans } from '../helpers/pan-scan.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';

const USERNAME = 'merchant-sec';
const PASSWORD = 'pw-Sandbox-sec-41c9';
const CVC = '987';
const EXP = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };
/** The card that is legitimately paid with (it belongs in `card.number` only). */
const VISA = '4111111111111111';
/** Card numbers the attacker-shaped caller puts where they do not belong, one per place. */
const MISPLACED = {
  holderSdk: '5555555555554444',
  idempotencyKey: '4012888888881881',
  holderSealed: '378282246310005',
  type: '6011111111111117',
  clearBody: '5105105105105100',
} as const;

let pki: TestPki;
let sandbox: CardSandbox;
let broker: EmbeddedBrokerHandle;
let descriptor: BrokerDescriptor & { port: number };
let worker: Worker;
let gateway: Gateway<readonly [typeof card]>;
let folder: string;
const replies: string[] = [];
const deadLetters: StompFrame[] = [];
const workerEvents: string[] = [];

const idempotencyPath = (): string => join(folder, 'idempotency.sqlite');
const logPath = (): string => join(folder, 'worker.log');

beforeAll(async () => {
  pki = await makeTestPki();
  folder = makeTempDir('card-data');
  sandbox = await startCardSandbox({ tls: { cert: pki.tls.certPem, key: pki.tls.keyPem }, username: USERNAME, password: PASSWORD });
  broker = await startEmbeddedBroker({ dataDir: join(folder, 'broker') });
  descriptor = { ...(parseTestBrokers('embedded')[0] as BrokerDescriptor), host: broker.host, port: broker.port };
  const logger = createLogger({ name: 'worker', level: 'debug', destination: openSync(logPath(), 'a') });
  worker = await Worker.start({
    stomp: { nodes: [roleNode(descriptor, 'worker')] },
    identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
    trust: [pki.ca.certPem],
    providers: [card],
    providerSettings: {
      card: { endpoint: sandbox.url, tls: { ca: pki.ca.certPem }, timeoutMs: 5_000, options: { username: USERNAME, password: PASSWORD } },
    },
    idempotency: { path: idempotencyPath() },
    log: actionLogger(logger),
  });
  worker.on('processed', (event) => workerEvents.push(`processed ${event.type} ${event.status} ${event.code ?? ''}`));
  worker.on('dead-letter', (event) => workerEvents.push(`dead-letter ${event.reason}`));
  gateway = await createGateway({
    brokers: { nodes: [roleNode(descriptor, 'storefront')] },
    identity: { cert: pki.client.certPem, key: pki.client.keyPem },
    gatewayCertificates: [pki.gateway.certPem],
    trust: [pki.ca.certPem],
    providers: [card] as const,
    defaultTimeoutMs: 15_000,
  });
});

afterAll(async () => {
  await gateway?.close(2_000);
  await worker?.stop({ graceMs: 2_000 });
  await broker?.stop();
  await sandbox?.close();
});

/** A request document as a storefront would write it, with `overrides` applied. */
function requestYaml(overrides: { type?: string; idempotencyKey?: string; holder?: string }): string {
  const now = Date.now();
  const lines = [
    'paygate: 1',
    'kind: request',
    `id: ${randomUUID()}`,
    ...(overrides.idempotencyKey === undefined ? [] : [`idempotency_key: "${overrides.idempotencyKey}"`]),
    'provider: card',
    `type: "${overrides.type ?? 'authorize'}"`,
    `sent_at: ${new Date(now).toISOString()}`,
    `expires_at: ${new Date(now + 30_000).toISOString()}`,
    'payload:',
    '  amount: {value: 700, currency: EUR}',
    `  card: {number: "${VISA}", exp_month: ${EXP.exp_month}, exp_year: ${EXP.exp_year}, cvc: "${CVC}"` +
      (overrides.holder === undefined ? '}' : `, holder: "Jo ${overrides.holder}"}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Sends `body` to the card queue the way a foreign storefront would (raw STOMP, its own reply
 * queue), and returns the reply frame's body, or the dead letter's reason when there is none.
 */
async function sendRaw(body: string): Promise<StompFrame> {
  const session = await openStomp(asRole(descriptor, 'storefront'), 10_000);
  try {
    const replyQueue = `/temp-queue/sec-${randomUUID()}`;
    session.send('SEND', {
      destination: '/queue/paygate.card',
      'reply-to': replyQueue,
      'correlation-id': randomUUID(),
      'content-type': 'application/pkcs7-mime; smime-type=authEnveloped-data',
      persistent: 'true',
      'paygate-version': '1',
      receipt: 'sent',
    }, body);
    const receipt = await session.receive(10_000);
    expect(receipt.command).toBe('RECEIPT');
    return await session.receive(15_000);
  } finally {
    session.close();
  }
}

/** Opens a reply with the client's key, keeps its YAML for the scan, and returns the error code. */
function replyCode(frame: StompFrame): string | undefined {
  expect(frame.command).toBe('MESSAGE');
  const opened = open(frame.body, { identity: loadIdentity(pki.client.certPem, pki.client.keyPem), trust: new TrustStore([pki.ca.certPem]) });
  replies.push(opened.yaml);
  return /code: (\S+)/.exec(opened.yaml)?.[1];
}

describe('card data where it does not belong', () => {
  it('pays with a card in card.number (the control: card data where it belongs still works)', async () => {
    const reply = await gateway.request('card', 'authorize', { amount: { value: 1250, currency: 'EUR' }, card: { number: VISA, ...EXP, cvc: CVC } });
    expect(reply.status).toBe('approved');
    replies.push(JSON.stringify(reply));
  });

  it('the SDK refuses a card number in a free-text field (the card holder) before sending anything', async () => {
    const before = sandbox.ledger.size;
    const error = await gateway
      .request('card', 'authorize', { amount: { value: 100, currency: 'EUR' }, card: { number: VISA, ...EXP, cvc: CVC, holder: `Jo ${MISPLACED.holderSdk}` } })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CardDataInTextError);
    expect((error as CardDataInTextError).code).toBe('CARD_DATA_IN_TEXT');
    expect(findPans((error as Error).message)).toEqual([]);
    expect(sandbox.ledger.size).toBe(before);
  });

  it('the SDK refuses a card number as the idempotency key', async () => {
    const error = await gateway
      .request('card', 'authorize', { amount: { value: 100, currency: 'EUR' }, card: { number: VISA, ...EXP, cvc: CVC } }, { idempotencyKey: MISPLACED.idempotencyKey })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CardDataInTextError);
  });

  it.each([
    ['idempotency_key', { idempotencyKey: MISPLACED.idempotencyKey }, 'CARD_DATA_IN_TEXT'],
    ['card.holder', { holder: MISPLACED.holderSealed }, 'CARD_DATA_IN_TEXT'],
  ])('the worker refuses a hand-sealed request with a card number in %s, and never calls the provider', async (_field, overrides, code) => {
    const before = sandbox.ledger.size;
    const body = seal(requestYaml(overrides), { recipients: [Certificate.from(pki.gateway.certPem)], signer: loadIdentity(pki.client.certPem, pki.client.keyPem) });
    expect(replyCode(await sendRaw(body))).toBe(code);
    expect(sandbox.ledger.size).toBe(before);
  });

  it('a card number in `type` is not echoed in the error reply', async () => {
    const body = seal(requestYaml({ type: MISPLACED.type }), {
      recipients: [Certificate.from(pki.gateway.certPem)],
      signer: loadIdentity(pki.client.certPem, pki.client.keyPem),
    });
    const code = replyCode(await sendRaw(body));
    expect(code).toBeDefined();
    expect(replies.at(-1)).not.toContain(MISPLACED.type);
  });

  it('a body sent in clear is dead-lettered without its body', async () => {
    const clear = `card: {number: "${MISPLACED.clearBody}", cvc: "${CVC}"}\n`;
    const dead = new Promise<void>((resolve) => worker.once('dead-letter', () => resolve()));
    const session = await openStomp(asRole(descriptor, 'storefront'), 10_000);
    session.send('SEND', { destination: '/queue/paygate.card', 'reply-to': '/temp-queue/clear', persistent: 'true', receipt: 'r' }, clear);
    expect((await session.receive(10_000)).command).toBe('RECEIPT');
    await dead;
    session.close();
    const operator = await openStomp(asRole(descriptor, 'operator'), 10_000);
    operator.send('SUBSCRIBE', { id: 'dlq', destination: '/queue/paygate.card.dlq', ack: 'auto' });
    const letter = await operator.receive(10_000);
    operator.close();
    deadLetters.push(letter);
    expect(letter.command).toBe('MESSAGE');
    expect(letter.body).not.toContain(MISPLACED.clearBody);
    expect(JSON.stringify(letter.headers)).toMatch(/sha-?256/i);
  });

  it('leaves no card number or CVC in the idempotency store (with WAL), the broker store, the log, replies or dead letters', async () => {
    await gateway.close(2_000);
    await worker.stop({ graceMs: 2_000 });
    await broker.stop();
    const places: [string, string][] = [];
    for (const path of [idempotencyPath(), `${idempotencyPath()}-wal`]) if (existsSync(path)) places.push([path, readFileSync(path, 'latin1')]);
    const brokerDir = join(folder, 'broker');
    for (const name of readdirSync(brokerDir)) places.push([join(brokerDir, name), readFileSync(join(brokerDir, name), 'latin1')]);
    places.push([logPath(), readFileSync(logPath(), 'utf8')]);
    replies.forEach((reply, i) => places.push([`reply ${i}`, reply]));
    deadLetters.forEach((letter, i) => places.push([`dead letter ${i}`, JSON.stringify(letter)]));
    // The places are real: the store holds the payment, the log its lines.
    expect(places.find(([path]) => path === idempotencyPath())?.[1]).toContain('card');
    expect(readFileSync(logPath(), 'utf8').length).toBeGreaterThan(0);
    const cvcNextToName = new RegExp(`(cvc|cvv|security.?code)\\W{0,8}${CVC}`, 'i');
    const found = places.flatMap(([where, text]) => [
      ...findPans(text, { thorough: true }).filter((pan) => Object.values(MISPLACED).includes(pan as never) || pan === VISA).map((pan) => `${where}: ${pan.slice(0, 6)}…`),
      ...(cvcNextToName.test(text) ? [`${where}: a CVC`] : []),
    ]);
    expect(found).toEqual([]);
    expect(workerEvents.length).toBeGreaterThan(0);
  });
});
