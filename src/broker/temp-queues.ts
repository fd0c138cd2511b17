/**
 * Temporary queues, private to the connection that names them.
 *
 * Naming scheme (docs/broker.md): a client says `/temp-queue/<name>`, which means "my queue
 * <name>". The broker knows it globally as `/remote-temp-queue/<session>.<name>` (the CONNECTED
 * `session` of the owner), the name ActiveMQ would use for a temp destination seen by another
 * client. A SEND whose `reply-to` is `/temp-queue/<name>` goes out with the global name, so any
 * client can SEND the reply there; it is delivered to the owner, either on its own SUBSCRIBE to
 * `/temp-queue/<name>` (ActiveMQ style) or, when it has none, on an implicit subscription whose
 * id is `/temp-queue/<name>` (RabbitMQ style). The queue and anything in it vanish with the owner.
 */
import { Queue } from './queue.ts';
import type { QueueContext } from './queue.ts';

export const TEMP_QUEUE_PREFIX = '/temp-queue/';
export const REMOTE_TEMP_QUEUE_PREFIX = '/remote-temp-queue/';

/** The global name of `name` owned by the connection `session`. */
export const globalTempName = (session: string, name: string): string => `${REMOTE_TEMP_QUEUE_PREFIX}${session}.${name}`;

/** Every live temp queue, by global name, and which session owns it. */
export class TempQueues {
  readonly #byGlobalName = new Map<string, { owner: string; queue: Queue }>();
  readonly #bySession = new Map<string, Map<string, Queue>>();

  constructor(readonly context: QueueContext) {}

  /** The owner's queue for `/temp-queue/<name>`, created on first use. */
  open(session: string, name: string): Queue {
    let own = this.#bySession.get(session);
    if (own === undefined) this.#bySession.set(session, (own = new Map()));
    let queue = own.get(name);
    if (queue === undefined) {
      const globalName = globalTempName(session, name);
      queue = new Queue(globalName, this.context, false);
      own.set(name, queue);
      this.#byGlobalName.set(globalName, { owner: session, queue });
    }
    return queue;
  }

  /** Look a queue up by its global name. */
  find(globalName: string): { owner: string; queue: Queue } | undefined {
    return this.#byGlobalName.get(globalName);
  }

  /** Every live temp queue (the expiry sweep). */
  queues(): IterableIterator<Queue> {
    return [...this.#byGlobalName.values()].map((entry) => entry.queue).values();
  }

  /** Delete every temp queue of a closing connection; messages still in them are dropped. */
  closeAll(session: string): void {
    const own = this.#bySession.get(session);
    if (own === undefined) return;
    for (const queue of own.values()) {
      this.#byGlobalName.delete(queue.name);
      queue.discard();
    }
    this.#bySession.delete(session);
  }
}
