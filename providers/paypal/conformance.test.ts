/**
 * The `paypal` plugin (NVP) through the shared conformance suite,
 * against its sandbox through the full path (SDK → broker → worker → plugin → sandbox → reply),
 * once per broker of `PAYGATE_TEST_BROKERS`. Test cards and error codes: README.md, "Test data".
 *
 * The sandbox keeps no raw request bodies (its ledger and log lines are masked), so `rawBodies`
 * is left out; the synthetic transcripts check `scrub` on PayPal's own names (ACCT is covered by
 * the suite's card-number renderings, CVV2/PWD/SIGNATURE are given below).
 */
import { describeConformance } from '../../test/conformance/index.ts';
import paypal from './index.ts';
import { startPaypalSandbox, type PaypalSandbox } from './sandbox/index.ts';

/** The API credentials the sandbox accepts (test values, sent as USER / PWD / SIGNATURE). */
const OPTIONS = { user: 'conformance_api1.paygate.test', pwd: 'CONFPWD7Q2X9K', signature: 'Conformance.Sig-Z9y8X7w6V5u4T3s2' };
const CVC = '842';
const EXP = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };
const eur = (value: number) => ({ value, currency: 'EUR' });
const payment = (number: string, value = 1999, cvc = CVC) => ({ amount: eur(value), card: { number, ...EXP, cvc } });

/** README, "Test data". */
const CARDS = {
  approve: '4111111111111111',
  declined: '4000000000000002', // 15005 processor decline
  insufficientFunds: '4000000000009995', // 10417
  expired: '4000000000000069', // 10502
  cvvMismatch: '4000000000000127', // 15004
  expiredAuthorization: '4000000000000259', // approved; DoCapture/DoVoid → 10601
} as const;
/** A well-formed transaction id the sandbox never issued. */
const UNKNOWN_ID = 'ZZZZZZZZZZZZZZZZ9';

/** The card declines, the same for `sale` and `authorize`. */
const cardDeclines = [
  { payload: payment(CARDS.insufficientFunds), code: 'INSUFFICIENT_FUNDS' },
  { payload: payment(CARDS.declined), code: 'CARD_DECLINED' },
  { payload: payment(CARDS.expired), code: 'EXPIRED_CARD' },
  { payload: payment(CARDS.cvvMismatch), code: 'INCORRECT_CVC' },
] as const;

describeConformance<typeof paypal, PaypalSandbox>({
  provider: paypal,
  sandbox: {
    async start(tls) {
      const sandbox = await startPaypalSandbox({ tls: { cert: tls.cert, key: tls.key }, credentials: OPTIONS });
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
    sale: {
      approve: payment(CARDS.approve),
      expect: { provider_code: 'Success', amount: eur(1999), avs: 'match', cvv: 'match' },
      declines: cardDeclines,
    },
    authorize: {
      approve: payment(CARDS.approve, 2999),
      expect: { provider_code: 'Success', amount: eur(2999), avs: 'match', cvv: 'match' },
      declines: cardDeclines,
    },
    capture: {
      approve: async (run) => ({
        authorization_id: (await run.approve('authorize', payment(CARDS.approve, 2500))).transaction_id,
        amount: eur(2500),
      }),
      expect: { provider_code: 'Success', amount: eur(2500) },
      declines: [
        { payload: { authorization_id: UNKNOWN_ID, amount: eur(100) }, code: 'INVALID_AUTHORIZATION' },
        {
          payload: async (run) => ({
            authorization_id: (await run.approve('authorize', payment(CARDS.approve, 1000))).transaction_id,
            amount: eur(1001),
          }),
          code: 'AMOUNT_EXCEEDS_AUTHORIZATION',
        },
        {
          payload: async (run) => ({
            authorization_id: (await run.approve('authorize', payment(CARDS.expiredAuthorization, 1000))).transaction_id,
            amount: eur(1000),
          }),
          code: 'INVALID_AUTHORIZATION',
        },
      ],
    },
    refund: {
      approve: async (run) => ({ transaction_id: (await run.approve('sale', payment(CARDS.approve, 3000))).transaction_id, amount: eur(1000) }),
      expect: { provider_code: 'Success', amount: eur(1000) },
      declines: [
        { payload: { transaction_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' },
        {
          payload: async (run) => ({ transaction_id: (await run.approve('sale', payment(CARDS.approve, 500))).transaction_id, amount: eur(501) }),
          code: 'AMOUNT_EXCEEDS_CAPTURE',
        },
        {
          payload: async (run) => {
            const sale = await run.approve('sale', payment(CARDS.approve, 700));
            await run.approve('refund', { transaction_id: sale.transaction_id });
            return { transaction_id: sale.transaction_id };
          },
          code: 'ALREADY_REFUNDED',
        },
      ],
    },
    void: {
      approve: async (run) => ({ authorization_id: (await run.approve('authorize', payment(CARDS.approve, 4000))).transaction_id }),
      declines: [
        { payload: { authorization_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' },
        {
          payload: async (run) => {
            const authorization = await run.approve('authorize', payment(CARDS.approve, 800));
            await run.approve('void', { authorization_id: authorization.transaction_id });
            return { authorization_id: authorization.transaction_id };
          },
          code: 'ALREADY_VOIDED',
        },
        {
          payload: async (run) => {
            const authorization = await run.approve('authorize', payment(CARDS.approve, 900));
            await run.approve('capture', { authorization_id: authorization.transaction_id, amount: eur(900) });
            return { authorization_id: authorization.transaction_id };
          },
          code: 'ALREADY_CAPTURED',
        },
      ],
    },
    status: {
      approve: async (run) => ({ transaction_id: (await run.approve('sale', payment(CARDS.approve, 1750))).transaction_id }),
      expect: { kind: 'sale', state: 'completed', amount: eur(1750), avs: 'match', cvv: 'match' },
      declines: [{ payload: { transaction_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' }],
    },
  },
  // USER is the API account name; PWD and SIGNATURE are the secrets.
  publicOptions: ['user'],
  transcriptNames: { cvv: ['CVV2'], credentials: { pwd: 'PWD', signature: 'SIGNATURE' } },
});
