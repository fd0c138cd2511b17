/**
 * What the per-message pipeline needs from its worker: the connection, the keys, the store and
 * the resolved options, plus callbacks for the events it reports on the way.
 */
import type { ActionLogger } from '../providers/index.ts';
import type { StompConnection } from '../stomp/index.ts';
import type { Identity, ReplyStatus, TrustStore } from '../wire/index.ts';
import type { EventsTarget } from './audit-events.ts';
import type { HandlerErrorEvent, WorkerErrorEvent } from './events.ts';
import type { WorkerStore } from './store-engine.ts';
import type { Publisher } from './publisher.ts';
import type { ResolvedWorkerOptions } from './options.ts';

/** The worker's resources as the pipeline sees them. */
export interface WorkerContext {
  /** The connection requests are consumed (and ACKed/NACKed) on: nothing is ever SENT on it. */
  readonly connection: StompConnection;
  /** Replies and dead letters: a connection of their own (publisher.ts). */
  readonly publisher: Publisher;
  /** `replyToPattern`, compiled (reply-to.ts). */
  readonly replyToPattern: RegExp | undefined;
  /** The gateway's certificate and key: requests are encrypted to it, replies signed with it. */
  readonly identity: Identity;
  /** Client CAs / pinned client certificates. */
  readonly trust: TrustStore;
  /** The idempotency store: SQLite behind group commit (group-commit.ts), or PostgreSQL (postgres-store.ts). */
  readonly store: WorkerStore;
  /** The HMAC key of the payload digest (payload-digest.ts). */
  readonly digestKey: Buffer;
  /** The HMAC key of a withheld dead-letter body's digest (dead-letter.ts). */
  readonly deadLetterKey: Buffer;
  /** The HMAC key of the audit records' `idempotency_key_hmac` (audit-events.ts). */
  readonly auditKey: Buffer;
  /** Where each finished request's events go; undefined: no events (the `events` option is absent). */
  readonly events: EventsTarget | undefined;
  readonly options: ResolvedWorkerOptions;
  /** What each provider's `setup` returned: its handlers' `context.resources`. */
  readonly resources: ReadonlyMap<string, unknown>;
  /** The worker's log, card numbers masked. */
  readonly log: ActionLogger;
  /** Aborted when `stop()` gives up waiting: handlers see it through their context's signal. */
  readonly hardStop: AbortSignal;
  readonly reportHandlerError: (event: HandlerErrorEvent) => void;
  readonly reportError: (event: WorkerErrorEvent) => void;
}

/** What became of one message. */
export type Disposition =
  | {
      readonly kind: 'replied';
      readonly type: string;
      readonly status: ReplyStatus;
      readonly code?: string;
      readonly replayedFromStore: boolean;
    }
  | { readonly kind: 'dead-lettered'; readonly reason: string }
  /** Handed back to the broker (NACK) for redelivery; already reported through `reportError`. */
  | { readonly kind: 'requeued'; readonly reason: string };
