/**
 * The CardGate sandbox: a SOAP card processor on loopback for the `card` plugin's tests and
 * `paygate demo`. See providers/card/README.md.
 */
export { startCardSandbox, CARD_WSDL_PATH, type CardSandbox } from './sandbox.ts';
export { cardSandboxOptionsSchema, type CardSandboxOptions, type CardSandboxLogSink } from './options.ts';
export { defaultKnobs, type CardSandboxKnobs } from './knobs.ts';
export { MALFORMED_VARIANTS, type MalformedVariant } from './malformed.ts';
export { CardLedger, type LedgerEntry, type MaskedCard } from './ledger.ts';
export { TEST_CARDS, MAX_AMOUNT, avsFor, type TestCard } from './test-cards.ts';
export { CARDGATE_NS } from './faults.ts';
export {
  RESPONSE_TEXT,
  OPERATIONS,
  MONEY_OPERATIONS,
  type ResponseCode,
  type AvsResult,
  type CvvResult,
  type TransactionState,
  type Operation,
  type MoneyOperation,
} from './codes.ts';
export { scrub } from './scrub.ts';
