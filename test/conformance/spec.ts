/**
 * What a plugin gives the shared conformance suite ({@link describeConformance}): its
 * definition, how to start and stop its sandbox, one approving request per action (and the
 * declines it can give), and optionally knobs that take the sandbox down and bring it back.
 *
 * The case table is keyed by the provider's action types, so a missing case is a compile
 * error; the suite checks it again at run time (capabilities vs cases).
 */
import type { ActionTypes, ProviderDefinition, RequestOf, ResultOf, StandardErrorCode } from '../../src/providers/index.ts';
import type { ProviderSettingsInput } from '../../src/worker/options.ts';

/** The dev TLS identity a sandbox serves (PEM): `cert`/`key` for the server, `ca` for the worker's settings. */
export interface SandboxTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** A started sandbox: the worker config's `providers[]` entry that reaches it, and its handle. */
export interface StartedSandbox<S> {
  /** endpoint, tls, options (credentials…): what an operator would write in the worker config. */
  readonly settings: ProviderSettingsInput;
  readonly sandbox: S;
}

/** Test-only controls of a sandbox. */
export interface SandboxKnobs<S> {
  /** Make every call fail (connections refused / reset before any request is read). */
  down(sandbox: S): void | Promise<void>;
  /** Answer normally again. */
  up(sandbox: S): void | Promise<void>;
  /** Requests the sandbox has received so far (to prove a retry with the same key did not reach it). */
  requests?(sandbox: S): number;
  /** The raw request bodies the sandbox received (unscrubbed): the suite checks the plugin's `scrub` cleans each. */
  rawBodies?(sandbox: S): readonly string[];
}

/** Runs prerequisite requests for a case (e.g. a capture needs an authorization first). */
export interface CaseRunner<P extends ProviderDefinition> {
  /** Sends `payload` as `type` through the full path; resolves with the result of an `approved` reply, else throws. */
  approve<T extends ActionTypes<P>>(type: T, payload: RequestOf<P, T>): Promise<ResultOf<P, T>>;
}

/** A payload, or a function that builds one (running prerequisites through `run`). Payloads are plain objects. */
export type PayloadSource<P extends ProviderDefinition, T extends ActionTypes<P>> =
  | RequestOf<P, T>
  | ((run: CaseRunner<P>) => RequestOf<P, T> | Promise<RequestOf<P, T>>);

/** A request the provider declines. */
export interface DeclineCase<P extends ProviderDefinition, T extends ActionTypes<P>> {
  readonly payload: PayloadSource<P, T>;
  /** The standard code the decline must carry. */
  readonly code: StandardErrorCode;
  /** The expected `retryable` when the plugin overrides the code's default advice (STANDARD_DECLINE_CODES). */
  readonly retryable?: boolean;
}

/** The cases of one action. */
export interface ActionCases<P extends ProviderDefinition, T extends ActionTypes<P>> {
  /** A request the sandbox approves. */
  readonly approve: PayloadSource<P, T>;
  /** Fields the approved result must have (checked with `toMatchObject`). */
  readonly expect?: Partial<ResultOf<P, T>>;
  /** Requests the sandbox declines, one per documented reason you want covered; omit only when the provider cannot decline this action. */
  readonly declines?: readonly DeclineCase<P, T>[];
}

/** Every action of `P` with its cases. */
export type CaseTable<P extends ProviderDefinition> = { readonly [T in ActionTypes<P>]: ActionCases<P, T> };

/** Where a secret travels under another name in the provider's own protocol (for the synthetic `scrub` check). */
export interface TranscriptNames {
  /** The provider's field names for the card security code (`CVV2`, `cvn`…). */
  readonly cvv?: readonly string[];
  /** The provider's field name for each credential option: `{ password: 'PWD' }`. */
  readonly credentials?: Readonly<Record<string, string>>;
}

/** What {@link describeConformance} needs from a plugin. */
export interface ConformanceSpec<P extends ProviderDefinition, S = unknown> {
  /** The plugin's default export. */
  readonly provider: P;
  readonly sandbox: {
    start(tls: SandboxTls): Promise<StartedSandbox<S>>;
    stop(sandbox: S): Promise<void>;
    readonly knobs?: SandboxKnobs<S>;
  };
  readonly cases: CaseTable<P>;
  /** Keys of `settings.options` that are not secrets (a merchant id may appear in a transcript; a password may not). */
  readonly publicOptions?: readonly string[];
  readonly transcriptNames?: TranscriptNames;
}
