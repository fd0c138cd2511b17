/**
 * The shared conformance suite: every provider plugin's tests call
 * `describeConformance(spec)` with its definition, sandbox and cases (docs/providers.md,
 * "Writing a provider").
 */
export { describeConformance } from './describe-conformance.ts';
export { SUITE_RESET_TIMEOUT_MS } from './run.ts';
export type {
  ActionCases, CaseRunner, CaseTable, ConformanceSpec, DeclineCase, PayloadSource, SandboxKnobs, SandboxTls, StartedSandbox, TranscriptNames,
} from './spec.ts';
