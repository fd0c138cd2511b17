/**
 * The template provider through the shared conformance suite, against its sandbox. When you copy
 * the template, keep this file: adapt the cases to your provider's actions and test data.
 */
import { describeConformance } from '../../test/conformance/index.ts';
import template from './index.ts';
import { startSandbox, TEST_CARDS, WRONG_CVC, type Sandbox } from './sandbox/index.ts';

/** TODO(test): the settings' `options` your sandbox accepts (test values, never real credentials). */
const OPTIONS = { merchant_id: 'merchant-7', api_key: 'tk-sandbox-key-0042' };
const year = new Date().getFullYear() + 2;
/** TODO(test): a charge with one of your sandbox's test cards. */
const charge = (number: string, cvc = '123') => ({
  order_id: 'order-1',
  amount: { value: 1999, currency: 'EUR' },
  card: { number, exp_month: 12, exp_year: year, cvc },
});

describeConformance<typeof template, Sandbox>({
  provider: template,
  sandbox: {
    async start(tls) {
      const sandbox = await startSandbox({ tls, credentials: OPTIONS });
      return { sandbox, settings: { endpoint: sandbox.endpoint, tls: { ca: tls.ca }, timeoutMs: 5_000, options: OPTIONS } };
    },
    stop: (sandbox) => sandbox.stop(),
    knobs: {
      down: (sandbox) => sandbox.down(),
      up: (sandbox) => sandbox.up(),
      requests: (sandbox) => sandbox.requests,
      rawBodies: (sandbox) => sandbox.rawBodies,
    },
  },
  // TODO(test): one approving request per action, and one decline per reason you document.
  cases: {
    charge: {
      approve: charge(TEST_CARDS.approve),
      expect: { provider_code: '00', cvv: 'match' },
      declines: [
        { payload: charge(TEST_CARDS.doNotHonor), code: 'DO_NOT_HONOR' },
        { payload: charge(TEST_CARDS.insufficientFunds), code: 'INSUFFICIENT_FUNDS' },
        { payload: charge(TEST_CARDS.expired), code: 'EXPIRED_CARD' },
        { payload: charge(TEST_CARDS.approve, WRONG_CVC), code: 'INCORRECT_CVC' },
      ],
    },
  },
  // merchant_id is not a secret; api_key is (the suite looks for it everywhere).
  publicOptions: ['merchant_id'],
  transcriptNames: { cvv: ['CVV'], credentials: { api_key: 'API_KEY' } },
});
