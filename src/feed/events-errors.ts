import { PaygateError } from '../errors.ts';

/**
 * Stable codes of the events consumer (docs/feed-server.md). The refusal codes are also the
 * `paygate-dlq-reason` of an events message moved to the dead-letter queue; the other reasons
 * there are the wire's codes (`BAD_SIGNATURE`, `WRONG_SIGNER_ROLE`, `YAML_INVALID`, …).
 */
export const EVENTS_ERROR_CODES = [
  /** An option given to `startEventsConsumer` is invalid. */
  'EVENTS_BAD_OPTIONS',
  /** An events message opened and was signed by a gateway, but its document is not a valid events document. */
  'EVENTS_DOCUMENT_INVALID',
  /** An events message holds a card number in one of its records where it cannot be masked (a number, a key): refused, never stored. */
  'EVENTS_CARD_DATA',
  /** An events message whose entries the feed store would refuse (its entry checks): refused at once, never retried. */
  'EVENTS_UNSTORABLE',
] as const;

export type EventsErrorCode = (typeof EVENTS_ERROR_CODES)[number];

/** A typed failure of the events consumer. */
export class EventsError extends PaygateError {
  declare readonly code: EventsErrorCode;

  constructor(code: EventsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
