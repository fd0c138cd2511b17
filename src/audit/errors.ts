import { PaygateError } from '../errors.ts';

/** Stable codes of the audit tools' failures (checkpoints and `paygate audit verify`). */
export const AUDIT_ERROR_CODES = [
  /** An option given to `startCheckpointer` or `verifyFeed` is invalid (no trust certificate, a bad interval). */
  'AUDIT_BAD_OPTION',
  /** The feed to verify cannot be read: the SQLite file is missing or unreadable, the feed does not exist, the server refused or failed. */
  'AUDIT_SOURCE_FAILED',
  /** The feed server answered something that is not a feed page (not Atom, an entry without its sequence or hashes). */
  'AUDIT_BAD_RESPONSE',
  /** The feed is not chained: created unchained, and no entry has a hash to verify. */
  'AUDIT_NOT_CHAINED',
  /** Another writer appended between reading a feed's tail and appending its checkpoint, so the checkpoint does not follow the entry it cites. */
  'AUDIT_CHECKPOINT_RACE',
  /** A capture cannot be read or written: a missing folder, no segment in it, a disk error. */
  'AUDIT_CAPTURE_FAILED',
  /** A capture segment holds a line that is not a capture record (bad JSON, a field missing, a body that does not match its digest or length). */
  'AUDIT_CAPTURE_CORRUPT',
  /** A capture segment ends inside a record (the capturing process stopped mid-write, or the file was cut). */
  'AUDIT_CAPTURE_TRUNCATED',
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
