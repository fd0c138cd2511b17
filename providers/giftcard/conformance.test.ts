/**
 * The `giftcard` plugin (XML stored value) through the shared conformance suite, against its sandbox through the full path (SDK → broker → worker → plugin →
 * sandbox → reply), once per broker of `PAYGATE_TEST_BROKERS`. Test cards and codes: README.md.
 *
 * The sandbox keeps no raw request bodies (its ledger and log are masked), so `rawBodies` is left
 * out; the synthetic transcripts check `scrub` on the provider's own names (`pin`, `api_key`).
 */
import { describeConformance } from '../../test/conformance/index.ts';
import giftcard from './index.ts';
import { startGiftcardSandbox, type GiftcardSandbox } from './sandbox/index.ts';

/** The merchant key the sandbox accepts (a test value, sent as the X-Api-Key header). */
const OPTIONS = { api_key: 'gc-conformance-key-7Q2X9K' };
const eur = (value: number) => ({ value, currency: 'EUR' });

/** README, "Test cards": number, PIN, starting balance. */
const CARDS = {
  main: { card_number: '6036280000000011', pin: '1234' }, // 100.00 EUR
  second: { card_number: '6036280000000029', pin: '4321' }, // 25.00 EUR
  empty: { card_number: '6036280000000037', pin: '0000' }, // 0.00 EUR
  blocked: { card_number: '6036280000000045', pin: '1111' },
  dollars: { card_number: '6036280000000052', pin: '2222' }, // 50.00 USD
  unknown: { card_number: '6036289999999999', pin: '1234' },
} as const;
/** A well-formed transaction id the sandbox never issued. */
const UNKNOWN_ID = 'GCZZZZZZZZZZZZ';

describeConformance<typeof giftcard, GiftcardSandbox>({
  provider: giftcard,
  sandbox: {
    async start(tls) {
      const sandbox = await startGiftcardSandbox({ tls: { cert: tls.cert, key: tls.key }, apiKey: OPTIONS.api_key });
      return { sandbox, settings: { endpoint: sandbox.url, tls: { ca: tls.ca }, timeoutMs: 5_000, options: OPTIONS } };
    },
    stop: (sandbox) => sandbox.close(),
    knobs: {
      // Connections refused (the listener goes away), not an HTTP 503.
      down: (sandbox) => sandbox.down(),
      up: (sandbox) => sandbox.up(),
      requests: (sandbox) => sandbox.calls.total,
    },
  },
  cases: {
    balance: {
      approve: CARDS.main,
      declines: [
        { payload: { ...CARDS.main, pin: '9999' }, code: 'INCORRECT_CVC' },
        { payload: CARDS.unknown, code: 'CARD_NOT_FOUND' },
        { payload: CARDS.blocked, code: 'CARD_INACTIVE' },
      ],
    },
    redeem: {
      approve: { ...CARDS.main, amount: eur(500) },
      expect: { amount: eur(500) },
      declines: [
        { payload: { ...CARDS.empty, amount: eur(100) }, code: 'INSUFFICIENT_BALANCE' },
        { payload: { ...CARDS.main, pin: '9999', amount: eur(100) }, code: 'INCORRECT_CVC' },
        { payload: { ...CARDS.blocked, amount: eur(100) }, code: 'CARD_INACTIVE' },
        { payload: { ...CARDS.unknown, amount: eur(100) }, code: 'CARD_NOT_FOUND' },
        { payload: { ...CARDS.dollars, amount: eur(100) }, code: 'CURRENCY_NOT_SUPPORTED' },
      ],
    },
    reload: {
      approve: { ...CARDS.second, amount: eur(1000) },
      expect: { amount: eur(1000) },
      declines: [
        { payload: { ...CARDS.unknown, amount: eur(100) }, code: 'CARD_NOT_FOUND' },
        { payload: { ...CARDS.dollars, amount: eur(100) }, code: 'CURRENCY_NOT_SUPPORTED' },
      ],
    },
    void: {
      approve: async (run) => ({ transaction_id: (await run.approve('redeem', { ...CARDS.main, amount: eur(300) })).transaction_id }),
      expect: { amount: eur(300) },
      declines: [{ payload: { transaction_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' }],
    },
    status: {
      approve: async (run) => ({ transaction_id: (await run.approve('redeem', { ...CARDS.main, amount: eur(200) })).transaction_id }),
      expect: { type: 'redeem', state: 'completed' },
      declines: [{ payload: { transaction_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' }],
    },
  },
  transcriptNames: { cvv: ['pin'], credentials: { api_key: 'api_key' } },
});
