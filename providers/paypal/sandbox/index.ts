/** The PayPal NVP sandbox: see README.md. */
export { startPaypalSandbox, LOG_LINES_KEPT, type PaypalSandbox } from './sandbox.ts';
export {
  paypalSandboxOptionsSchema, DEFAULT_PAYPAL_CREDENTIALS,
  type PaypalSandboxOptions, type ResolvedPaypalSandboxOptions, type PaypalCredentials, type SandboxLog,
} from './options.ts';
export { defaultKnobs, type PaypalSandboxKnobs, type HangPoint, type PaypalMalformed } from './knobs.ts';
export type { PaypalLedgerEntry, PaypalMovement, PaypalPaymentStatus } from './book.ts';
export type { CallCounter } from '../../_sandbox-kit/exchange.ts';
export { PAYPAL_ERRORS, type PaypalErrorCode, type PaypalErrorInfo } from './errors.ts';
export { TEST_CARDS, DEFAULT_CARD, INTERNAL_ERROR_MINOR_UNITS, type TestCard } from './test-data.ts';
export { MOVEMENT_TYPES } from './lookup.ts';
export { HTML_PAGE, GARBAGE, errorPage } from './broken.ts';
export { PAYPAL_CURRENCIES, formatAmount, parseAmount } from './money.ts';
export { MAX_BODY_BYTES } from '../../_sandbox-kit/exchange.ts';
