/** The public surface of the audit tools: signed checkpoints and the feed verifier. */
export {
  startCheckpointer, signCheckpoint, checkCheckpoint, checkpointSignedBytes, isCheckpoint, CHECKPOINT_TITLE, CHECKPOINT_CONTENT_TYPE,
  type Checkpointer, type CheckpointerOptions, type CheckpointClaim, type CheckpointContent, type CheckpointTrust,
} from './checkpoint.ts';
export { verifyFeed, type VerifyOptions, type VerifyReport, type AuditProblem, type EntryMark } from './verify.ts';
export { openSqliteSource, type ChainSource } from './sources.ts';
export { openHttpSource, type HttpSourceOptions } from './http-source.ts';
export { AuditError, AUDIT_ERROR_CODES, type AuditErrorCode } from './errors.ts';
