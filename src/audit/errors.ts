import { PaygateError } from '../errors.ts';

/** Stable codes of the audit tools' failures (checkpoints and `paygate audit verify`). */
export const AUDIT_ERROR_CODES = [
  /** An option given to `startCheckpointer` or `verifyFeed` is invalid (no trust certificate, a bad interval). */
  'AUDIT_BAD_OPTION',
  /** The feed to verify cannot be read: the SQLite file is missing or unreadable, the feed does not exist, the server refused or failed. */
  'AUDIT_SOURCE_FAILED',
  /** The feed server answered something that is not a feed page (not Atom, an entry without its sequence or hashes). */
  'AUDIT_BAD_RESPONSE',
  /** The feed is not chained: it has no hashes to verify. */
  'AUDIT_NOT_CHAINED',
  /** Another writer appended between reading a feed's tail and appending its checkpoint, so the checkpoint does not follow the entry it cites. */
  'AUDIT_CHECKPOINT_RACE',
] as const;

/** One of {@link AUDIT_ERROR_CODES}. */
export type AuditErrorCode = (typeof AUDIT_ERROR_CODES)[number];

/** A typed failure of the audit tools. A broken chain is not an error: it is the verifier's report. */
export class AuditError extends PaygateError {
  declare readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
