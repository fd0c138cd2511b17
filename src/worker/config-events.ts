/**
 * The `events:` part of the configuration file (config.ts): where the worker sends each finished
 * request's audit record and payment event (docs/audit.md). Absent: no events are sent.
 *
 * Kept apart from config.ts only for size; the rules are the same (messages name keys, never a
 * value). The recipient file is resolved and checked like every other file of the config.
 */
import { z } from 'zod';
import { DEFAULT_EVENTS_QUEUE, eventsQueueSchema } from './options.ts';

/** The section's schema (snake_case, as written); its default is the worker option's. */
export const eventsSectionSchema = z
  .strictObject({
    queue: eventsQueueSchema.default(DEFAULT_EVENTS_QUEUE),
    /** The feed server's certificate (PEM file): the events are encrypted to it. */
    recipient: z.string().min(1),
  })
  .optional();

/** The section as resolved: the recipient's path made absolute (and checked readable). */
export interface EventsSettings {
  readonly queue: string;
  /** Absolute path of the feed server's certificate (PEM). */
  readonly recipient: string;
}

/** What each key expects and how to fix it (merged into config.ts's CONFIG_KEYS). */
export const EVENTS_CONFIG_KEYS: Readonly<Record<string, { readonly expect: string; readonly fix: string }>> = Object.freeze({
  events: { expect: 'a mapping (queue, recipient)', fix: 'give the events queue and the feed server certificate, or leave events out to send no events' },
  'events.queue': { expect: 'a queue destination such as /queue/paygate.feed.events', fix: 'write /queue/ and the queue name, without spaces; the feed broker role reads /queue/paygate.feed.<name>' },
  'events.recipient': { expect: 'a file path', fix: "give the PEM file of the feed server's certificate (paygate feed's identity.cert)" },
});

/** The resolved section; `checkFile(key, path)` makes the path absolute and records a problem when it cannot be read. */
export function resolveEventsSection(
  section: z.output<typeof eventsSectionSchema>,
  checkFile: (key: string, value: string) => string,
): EventsSettings | undefined {
  if (section === undefined) return undefined;
  return { queue: section.queue, recipient: checkFile('events.recipient', section.recipient) };
}
