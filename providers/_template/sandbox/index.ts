/** The template provider's sandbox (test use only): see server.ts and ledger.ts. */
export { startSandbox, type Sandbox, type SandboxOptions } from './server.ts';
export { Ledger, TEST_CARDS, WRONG_CVC, type LedgerEntry } from './ledger.ts';
