/**
 * Local corrections to `@types/stompit` (0.26), checked against stompit 1.0's source.
 *
 * - Incoming frames (`Client.Message`, what a subscription's listener gets, and the frames
 *   command handlers get) carry `command` and `headers`; the typings leave both out. stompit
 *   parses `content-length` into a number, every other header value is a string.
 * - `setImplicitSubscription` and `getSubscription` take any subscription id: RabbitMQ's implicit
 *   temp-queue subscription id is the string `/temp-queue/<name>`; the typings say `number`.
 * - `Client.headers` holds the CONNECTED frame's headers once connected.
 * - `destroy()` takes an optional exception (none: a quiet close that emits `end`).
 *
 * `stompit/lib/Client` is an `export =` class, so its instance side cannot be merged from here;
 * `Client.Corrections` holds what the class lacks and `session.ts` views its client as
 * `Client & Client.Corrections` (one place, no `any`).
 */
import type { Writable } from 'node:stream';
import type Subscription from 'stompit/lib/client/Subscription.js';

declare module 'stompit/lib/Client.js' {
  /** A MESSAGE (or other incoming) frame: a readable body stream plus what the typings omit. */
  interface Message {
    readonly command: string;
    readonly headers: Record<string, string | number | undefined>;
  }

  /** What stompit's `Client` has and `@types/stompit` gets wrong or leaves out. */
  interface Corrections {
    /** The CONNECTED frame's headers, once connected. */
    headers?: Record<string, string | number | undefined>;
    setImplicitSubscription(id: string, ack: Ack | undefined, messageListener: MessageCallback): Subscription;
    getSubscription(id: string): Subscription | undefined;
    /** Without an exception stompit closes quietly and emits `end`; the typings require one. */
    destroy(exception?: Error): void;
    /** Frames to send; `headers` may still be changed until the first write. */
    sendFrame(command: string, headers: Record<string, string>, options?: Partial<SendOptions>): Writable;
  }
}
