/**
 * The `card` plugin (CardGate, SOAP) through the shared conformance suite (acceptance
 * 1), against its sandbox through the full path (SDK → broker → worker → plugin → sandbox →
 * reply), once per broker of `PAYGATE_TEST_BROKERS`. Test cards and codes: README.md.
 *
 * The sandbox keeps no raw request bodies (its ledger and log are masked), so `rawBodies` is
 * left out; the synthetic transcripts check `scrub` on CardGate's own names instead.
 */
import { describeConformance } from '../../test/conformance/index.ts';
import card from './index.ts';
import { startCardSandbox, type CardSandbox } from './sandbox/index.ts';

/** The WS-Security UsernameToken the sandbox accepts (test values). */
const OPTIONS = { username: 'merchant-7', password: 'pw-Conformance-4e1b' };
const CVC = '987';
const EXP = { exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 };
const eur = (value: number) => ({ value, currency: 'EUR' });
const payment = (number: string, value = 1999, cvc = CVC) => ({ amount: eur(value), card: { number, ...EXP, cvc } });

/** README, "Test cards and amounts". */
const CARDS = {
  approve: '4111111111111111',
  doNotHonor: '4000000000000002',
  insufficientFunds: '4000000000009995',
  expired: '4000000000000069',
  cvvMismatch: '4000000000000127',
} as const;
/** A well-formed id CardGate never issued (its own are `cg-000001`…). */
const UNKNOWN_ID = 'cg-unknown-999999';

/** The sandbox of the run, for the `status` case: the ledger gives the MerchantRef (= idempotency key) of a prerequisite. */
let current: CardSandbox | undefined;

describeConformance<typeof card, CardSandbox>({
  provider: card,
  sandbox: {
    async start(tls) {
      const sandbox = await startCardSandbox({ tls: { cert: tls.cert, key: tls.key }, ...OPTIONS });
      current = sandbox;
      return { sandbox, settings: { endpoint: sandbox.url, tls: { ca: tls.ca }, timeoutMs: 5_000, options: OPTIONS } };
    },
    stop: (sandbox) => sandbox.close(),
    knobs: {
      // Connections refused (the listener goes away), not an HTTP 503.
      down: (sandbox) => sandbox.down(),
      up: (sandbox) => sandbox.up(),
      requests: (sandbox) => Object.values(sandbox.calls).reduce((sum, n) => sum + n, 0),
    },
  },
  cases: {
    authorize: {
      approve: payment(CARDS.approve),
      expect: { provider_code: '00', amount: eur(1999), avs: 'match', cvv: 'match' },
      declines: [
        { payload: payment(CARDS.doNotHonor), code: 'DO_NOT_HONOR' },
        { payload: payment(CARDS.insufficientFunds), code: 'INSUFFICIENT_FUNDS' },
        { payload: payment(CARDS.expired), code: 'EXPIRED_CARD' },
        { payload: payment(CARDS.cvvMismatch), code: 'INCORRECT_CVC' },
      ],
    },
    capture: {
      approve: async (run) => ({ authorization_id: (await run.approve('authorize', payment(CARDS.approve, 2500))).transaction_id }),
      expect: { provider_code: '00', amount: eur(2500) },
      declines: [
        { payload: { authorization_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' },
        {
          payload: async (run) => ({
            authorization_id: (await run.approve('authorize', payment(CARDS.approve, 1000))).transaction_id,
            amount: eur(1001),
          }),
          code: 'AMOUNT_EXCEEDS_AUTHORIZATION',
        },
      ],
    },
    sale: {
      approve: payment(CARDS.approve, 1250),
      expect: { provider_code: '00', amount: eur(1250), avs: 'match', cvv: 'match' },
      declines: [
        { payload: payment(CARDS.doNotHonor), code: 'DO_NOT_HONOR' },
        { payload: payment(CARDS.insufficientFunds), code: 'INSUFFICIENT_FUNDS' },
        { payload: payment(CARDS.expired), code: 'EXPIRED_CARD' },
        { payload: payment(CARDS.cvvMismatch), code: 'INCORRECT_CVC' },
      ],
    },
    refund: {
      approve: async (run) => ({ transaction_id: (await run.approve('sale', payment(CARDS.approve, 3000))).transaction_id, amount: eur(1000) }),
      expect: { provider_code: '00', amount: eur(1000) },
      declines: [
        { payload: { transaction_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' },
        {
          payload: async (run) => ({ transaction_id: (await run.approve('sale', payment(CARDS.approve, 500))).transaction_id, amount: eur(501) }),
          code: 'AMOUNT_EXCEEDS_CAPTURE',
        },
      ],
    },
    void: {
      approve: async (run) => ({ transaction_id: (await run.approve('authorize', payment(CARDS.approve, 4000))).transaction_id }),
      expect: { provider_code: '00', amount: eur(4000) },
      declines: [{ payload: { transaction_id: UNKNOWN_ID }, code: 'INVALID_AUTHORIZATION' }],
    },
    status: {
      // What CardGate knows of a sale made through the full path, by the key it was sent with.
      approve: async (run) => {
        const sale = await run.approve('sale', payment(CARDS.approve, 1750));
        const merchantRef = current?.ledger.byTransactionId(sale.transaction_id)?.merchantRef;
        if (merchantRef === undefined) throw new Error('the sandbox has no ledger entry for the prerequisite sale');
        return { idempotency_key: merchantRef };
      },
      expect: { provider_code: '00', state: 'captured', operation: 'sale', amount: eur(1750), original_code: '00' },
      // CardGate's Status cannot decline: an unknown key is `not_found`, approved.
    },
  },
  // The UsernameToken's username is an account name; the password is the secret.
  publicOptions: ['username'],
  transcriptNames: { cvv: ['Cvv'], credentials: { password: 'Password' } },
});
