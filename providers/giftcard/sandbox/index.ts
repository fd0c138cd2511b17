/** The gift-card XML sandbox: see README.md. */
export { startGiftcardSandbox, LOG_LINES_KEPT, type GiftcardSandbox } from './sandbox.ts';
export {
  giftcardSandboxOptionsSchema, DEFAULT_GIFTCARD_API_KEY,
  type GiftcardSandboxOptions, type ResolvedGiftcardSandboxOptions, type SandboxLog,
} from './options.ts';
export { defaultKnobs, type GiftcardSandboxKnobs, type HangPoint, type GiftcardMalformed } from './knobs.ts';
export type { GiftcardLedgerEntry, GiftcardMovement, GiftcardMovementState } from './book.ts';
export type { CallCounter } from '../../_sandbox-kit/exchange.ts';
export { GIFTCARD_CODES, type GiftcardCode, type GiftcardCodeInfo, type GiftcardResult } from './codes.ts';
export { GIFTCARD_TYPES, type GiftcardType } from './request.ts';
export { TEST_GIFTCARDS, UNKNOWN_GIFTCARD, INTERNAL_ERROR_MINOR_UNITS, type TestGiftcard } from './test-data.ts';
export { HTML_PAGE, GARBAGE, XML_BOMB, DOCTYPE_ANSWER, errorPage } from './broken.ts';
export { MAX_BODY_BYTES } from '../../_sandbox-kit/exchange.ts';
