/**
 * A runtime fix of stompit 1.0's ERROR frame handler, installed when this module is imported
 * (src/stomp/connection.ts imports it), so it holds however paygate was installed: no
 * install-time patching of node_modules that `--ignore-scripts`, a package manager or a
 * bundler would skip.
 *
 * The bug: stompit's `onError` reads a short `text/plain` ERROR body (RabbitMQ's bad login, its
 * refused SUBSCRIBE to `/temp-queue/x`) with `frame.on('end', function () { this.destroy(error) })`,
 * where `this` is the frame, not the client: the process dies of an uncaught TypeError and the
 * connection never reports anything. The handler below does what stompit meant: the client is
 * destroyed with the application error, its body (at most 4 KiB, stompit's limit) as
 * `longMessage`.
 *
 * How: stompit installs its command handlers with `setCommandHandlers` (at CONNECT and at
 * CONNECTED); the guard wraps that method on `Client.prototype` and puts its own handler in
 * place of stompit's `onError`. Handlers of other names (a later stompit, or someone else's
 * replacement) are left alone.
 */
import Client from 'stompit/lib/Client.js';

/** The most of an ERROR body stompit reads (its `ERROR_MAX_CONTENT_LENGTH`). */
const ERROR_BODY_LIMIT = 4096;

/** An incoming frame as stompit hands it to command handlers: a readable body with headers. */
interface IncomingFrame extends NodeJS.ReadableStream {
  readonly headers: Record<string, string | number | undefined>;
}

/** The parts of stompit's client the handler uses. */
interface GuardedClient {
  createApplicationError(message: string): Error & { longMessage?: string };
  destroy(error: Error): void;
}

type CommandHandler = (this: GuardedClient, frame: IncomingFrame, ...rest: unknown[]) => void;
type CommandHandlers = Record<string, CommandHandler | undefined>;

interface HandlerSetter {
  setCommandHandlers(handlers: CommandHandlers): void;
}

/**
 * stompit's ERROR handler as it was meant to be: destroys the client with an application error
 * carrying the frame's `message` header, and a short `text/plain` body as `longMessage`.
 */
export function onErrorFrame(this: GuardedClient, frame: IncomingFrame): void {
  const message = typeof frame.headers.message === 'string' && frame.headers.message !== '' ? frame.headers.message : 'server sent ERROR frame';
  const error = this.createApplicationError(message);
  const length = Number(frame.headers['content-length']);
  if (frame.headers['content-type'] !== 'text/plain' || !(length <= ERROR_BODY_LIMIT)) {
    this.destroy(error);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  frame.on('data', (chunk: Buffer) => {
    const room = ERROR_BODY_LIMIT - size;
    if (room <= 0) return;
    const kept = chunk.subarray(0, room);
    chunks.push(kept);
    size += kept.length;
  });
  frame.on('end', () => {
    error.longMessage = Buffer.concat(chunks).toString();
    this.destroy(error);
  });
}

/** Whether `handler` is stompit's own ERROR handler (its module-level `function onError`). */
function isStompitOnError(handler: CommandHandler | undefined): boolean {
  return typeof handler === 'function' && handler !== onErrorFrame && handler.name === 'onError';
}

const GUARDED = Symbol.for('paygate.stompit-guard');

/** Installs the guard on stompit's `Client.prototype` (once: a second import changes nothing). */
function install(prototype: HandlerSetter & { [GUARDED]?: true }): void {
  if (prototype[GUARDED] === true) return;
  const setCommandHandlers = prototype.setCommandHandlers;
  prototype.setCommandHandlers = function guardedSetCommandHandlers(this: HandlerSetter, handlers: CommandHandlers): void {
    const fixed = isStompitOnError(handlers.ERROR) ? { ...handlers, ERROR: onErrorFrame } : handlers;
    setCommandHandlers.call(this, fixed);
  };
  prototype[GUARDED] = true;
}

install(Client.prototype as unknown as HandlerSetter);
